/** Child processes for the bench: servers and the load generator, each in its own process. */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export const ROOT = path.resolve(import.meta.dirname, '../..');

/** Start a process and resolve once a line of its output matches `ready`. */
export function startProcess(
  args: string[],
  env: Record<string, string>,
  ready: RegExp,
): Promise<{ child: ChildProcess; match: RegExpExecArray }> {
  const child = spawn(process.execPath, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`${args.join(' ')} did not become ready:\n${out}`)), 60_000);
    const onData = (d: Buffer) => {
      out += d.toString();
      const m = ready.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ child, match: m });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`${args.join(' ')} exited with ${code}:\n${out}`)));
  });
}

/** SIGTERM, and SIGKILL if it has not exited after `graceMs` (a server draining a stuck processor). */
export async function stopProcess(child: ChildProcess, graceMs = 30_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const done = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await done;
  clearTimeout(timer);
}

/** Peak resident memory of a running process (VmHWM), in MB. */
export function peakRssMb(pid: number): number {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
    return kb / 1024;
  } catch {
    return 0;
  }
}

export interface LoadResult {
  elapsed: number;
  statuses: Record<string, number>;
  accepted: number;
  acceptedPerSec: number;
  p50: number;
  p99: number;
  retryAfterSeen: number;
}

export async function runLoad(
  url: string,
  writeKey: string,
  seconds: number,
  connections: number,
  maxEvents?: number,
): Promise<LoadResult> {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      'bench/load-generator.ts',
      url,
      writeKey,
      String(seconds),
      String(connections),
      '100',
      '',
      ...(maxEvents === undefined ? [] : [String(maxEvents)]),
    ],
    {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  const code = await new Promise((r) => child.once('exit', r));
  const line = out.trim().split('\n').pop() ?? '';
  if (code !== 0 || !line.startsWith('{')) throw new Error(`load generator failed (exit ${code}): ${out}`);
  return JSON.parse(line) as LoadResult;
}

/** Run a bench script in its own process and return the JSON line it prints last. */
export async function runJsonScript<T>(script: string, args: string[], nodeArgs: string[] = []): Promise<T> {
  const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', script, ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  const code = await new Promise((r) => child.once('exit', r));
  const line = out.trim().split('\n').pop() ?? '';
  if (code !== 0 || !line.startsWith('{')) throw new Error(`${script} failed (exit ${code}): ${out}`);
  return JSON.parse(line) as T;
}

/** User and system CPU seconds of one process from its `/proc/<pid>/stat` line, and its command name. */
function parseStat(stat: string): { comm: string; seconds: number } {
  // "pid (comm) state ppid …": comm may hold spaces and parentheses, so split at the last ')'.
  const close = stat.lastIndexOf(')');
  const fields = stat.slice(close + 2).split(' ');
  // utime and stime are fields 14 and 15 of proc(5), 12 and 13 after "pid (comm) "; in clock ticks,
  // 1/100 s on Linux (sysconf(_SC_CLK_TCK) is 100 on every architecture Node supports).
  return { comm: stat.slice(stat.indexOf('(') + 1, close), seconds: (Number(fields[11]) + Number(fields[12])) / 100 };
}

/** CPU seconds (user + system) process `pid` has used so far, all its threads; null when `/proc` does not say. */
export function processCpuSeconds(pid: number): number | null {
  try {
    return parseStat(fs.readFileSync(`/proc/${pid}/stat`, 'utf8')).seconds;
  } catch {
    return null;
  }
}

/**
 * CPU seconds (user + system) used so far by every process on this machine whose command name is
 * `comm` (`postgres`: the database's backends and its background writers), read from `/proc`; null where
 * no such process is visible (not Linux, or the database on another machine). A process that exits
 * between two readings takes its share with it: the bench's servers keep their connections open.
 */
export function cpuSecondsOfProcesses(comm: string): number | null {
  let names: string[];
  try {
    names = fs.readdirSync('/proc');
  } catch {
    return null;
  }
  let seconds = 0;
  let seen = 0;
  for (const name of names) {
    if (!/^\d+$/.test(name)) continue;
    let stat: string;
    try {
      stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8');
    } catch {
      continue; // exited meanwhile
    }
    const p = parseStat(stat);
    if (p.comm !== comm) continue;
    seconds += p.seconds;
    seen++;
  }
  return seen === 0 ? null : seconds;
}
