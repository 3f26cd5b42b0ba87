/**
 * Start a worker thread that runs a TypeScript module. Loader hooks are not inherited by workers, and
 * `--import` in a worker's execArgv is not honoured on Node 20, so a two-line bootstrap registers tsx,
 * then loads the entry. The entry answers `{ kind: 'ready' }` (plus its own fields) once it runs, or
 * `{ kind: 'error', message, stack }` if it cannot start.
 */
import { Worker, type ResourceLimits } from 'node:worker_threads';

export interface StartedWorker<Ready> {
  worker: Worker;
  ready: Ready;
}

export async function startTsWorker<Ready extends { kind: 'ready' }>(
  entry: URL,
  workerData: unknown,
  what: string,
  resourceLimits?: ResourceLimits,
): Promise<StartedWorker<Ready>> {
  const tsxApi = import.meta.resolve('tsx/esm/api');
  const boot = `import(${JSON.stringify(tsxApi)}).then((m) => { m.register(); return import(${JSON.stringify(entry.href)}); })`;
  const worker = new Worker(boot, { eval: true, workerData, ...(resourceLimits ? { resourceLimits } : {}) });
  const ready = await new Promise<Ready>((resolve, reject) => {
    const onMessage = (msg: Ready | { kind: 'error'; message: string; stack?: string }) => {
      if (msg.kind === 'ready') {
        worker.off('message', onMessage);
        resolve(msg as Ready);
      } else if (msg.kind === 'error') reject(Object.assign(new Error(msg.message), { stack: msg.stack }));
    };
    worker.on('message', onMessage);
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`${what} worker exited with code ${code} before it was ready`)));
  });
  return { worker, ready };
}
