/**
 * Start a worker thread that runs a TypeScript module. Loader hooks are not inherited by workers, and
 * `--import` in a worker's execArgv is not honoured on Node 20, so a two-line bootstrap registers tsx,
 * then loads the entry. The entry answers `{ kind: 'ready' }` (plus its own fields) once it runs, or
 * `{ kind: 'error', message, stack }` if it cannot start.
 *
 * The bootstrap first tells its operating-system thread id (Linux: read from `/proc/thread-self`), and
 * every worker started here is listed by its role (`runningWorkerThreads`) while it runs, so the
 * process's CPU can be told apart per thread (`observability/thread-cpu.ts`).
 */
import { Worker, type ResourceLimits } from 'node:worker_threads';

/** What a worker posts when something failed on its side. */
export interface WorkerErrorMessage {
  kind: 'error';
  message: string;
  stack?: string;
}

/** A worker's error message, rebuilt as an Error on this side. */
export function workerError(msg: WorkerErrorMessage): Error {
  return Object.assign(new Error(msg.message), { stack: msg.stack });
}

/**
 * Follow a started worker: its messages to `onMessage`, its errors (posted ones, rebuilt, and uncaught
 * ones) to `onError`. Resolves when it has exited.
 */
export function followWorker<M extends { kind: string }>(
  worker: Worker,
  onMessage: (msg: M) => void,
  onError: (e: Error) => void,
): Promise<void> {
  worker.on('message', (msg: M | WorkerErrorMessage) => {
    if (msg.kind === 'error') onError(workerError(msg as WorkerErrorMessage));
    else onMessage(msg as M);
  });
  worker.on('error', onError);
  return new Promise((resolve) => worker.on('exit', () => resolve()));
}

export interface StartedWorker<Ready> {
  worker: Worker;
  ready: Ready;
}

/** A running worker thread: its role (`what` when it was started) and its operating-system thread id. */
export interface WorkerThreadInfo {
  role: string;
  osThreadId: number;
}

const running = new Set<WorkerThreadInfo>();

/** The worker threads started by `startTsWorker` that still run (only where the OS thread id is readable). */
export function runningWorkerThreads(): readonly WorkerThreadInfo[] {
  return [...running];
}

/** This thread's operating-system id: `/proc/thread-self` links to `<pid>/task/<tid>` (Linux); else null. */
const OS_THREAD_ID = `(() => { try { return Number(require('node:fs').readlinkSync('/proc/thread-self').split('/').pop()) || null; } catch { return null; } })()`;

export async function startTsWorker<Ready extends { kind: 'ready' }>(
  entry: URL,
  workerData: unknown,
  what: string,
  resourceLimits?: ResourceLimits,
): Promise<StartedWorker<Ready>> {
  const tsxApi = import.meta.resolve('tsx/esm/api');
  const boot = [
    `require('node:worker_threads').parentPort.postMessage({ kind: 'thread', osThreadId: ${OS_THREAD_ID} });`,
    `import(${JSON.stringify(tsxApi)}).then((m) => { m.register(); return import(${JSON.stringify(entry.href)}); })`,
  ].join('\n');
  const worker = new Worker(boot, { eval: true, workerData, ...(resourceLimits ? { resourceLimits } : {}) });
  const ready = await new Promise<Ready>((resolve, reject) => {
    const onMessage = (msg: Ready | WorkerErrorMessage | { kind: 'thread'; osThreadId: number | null }) => {
      if (msg.kind === 'thread') {
        const osThreadId = (msg as { osThreadId: number | null }).osThreadId;
        if (osThreadId === null) return;
        const info = { role: what, osThreadId };
        running.add(info);
        worker.once('exit', () => running.delete(info));
      } else if (msg.kind === 'ready') {
        worker.off('message', onMessage);
        resolve(msg as Ready);
      } else if (msg.kind === 'error') reject(workerError(msg as WorkerErrorMessage));
    };
    worker.on('message', onMessage);
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`${what} worker exited with code ${code} before it was ready`)));
  });
  return { worker, ready };
}
