/**
 * Start a worker thread that runs a TypeScript module. Loader hooks are not inherited by workers, and
 * `--import` in a worker's execArgv is not honoured on Node 20, so a two-line bootstrap registers tsx,
 * then loads the entry. The entry answers `{ kind: 'ready' }` (plus its own fields) once it runs, or
 * `{ kind: 'error', message, stack }` if it cannot start.
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
    const onMessage = (msg: Ready | WorkerErrorMessage) => {
      if (msg.kind === 'ready') {
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
