import type { Worker } from 'node:worker_threads';
import { spawnSourceThread } from '../runtime/source-thread.js';
import type { FromTrainThread } from './train-thread.js';
import type { EpochProgress, TrainInput, TrainResult } from './training.js';

/**
 * Runs trainMlp in a `node:worker_threads` Worker so the caller's event loop
 * stays free (Temporal activity heartbeats keep flowing during long epochs).
 *
 * - `input.features` / `input.labels` buffers are TRANSFERRED, not copied:
 *   after this call starts, the caller's arrays are detached (length 0).
 *   Arrays that are views into a larger or shared buffer are copied first.
 * - `onEpoch` runs on the calling thread, in epoch order; if it throws, the
 *   thread is terminated and the promise rejects with that error (the
 *   checkpoint of that epoch is already on disk).
 * - Aborting `signal` terminates the thread and rejects with an Error named
 *   'AbortError'. Checkpoints are written atomically, so a later call with the
 *   same checkpointDir resumes from the last completed epoch.
 * - An error thrown in the thread rejects with an Error carrying the original
 *   name and message.
 */
export async function trainInWorkerThread(
  input: TrainInput,
  onEpoch: (p: EpochProgress) => void | Promise<void>,
  signal?: AbortSignal,
): Promise<TrainResult> {
  if (signal?.aborted) throw abortError(signal);

  // A matrix and the labels move to the thread; encoded columns are copied (their arrays may belong to
  // the data library, which cannot give them away).
  const features = input.features ? transferable(input.features) : undefined;
  const labels = transferable(input.labels);
  const transferList = [features?.buffer, labels.buffer].filter((b): b is ArrayBuffer => b instanceof ArrayBuffer);
  const worker = spawnTrainThread({ ...input, ...(features ? { features } : {}), labels }, transferList);

  return new Promise<TrainResult>((resolve, reject) => {
    let settled = false;
    let doneReceived = false;
    let progressChain: Promise<void> = Promise.resolve();

    const settle = (err: Error | null, result?: TrainResult): void => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      void worker.terminate();
      if (err) reject(err);
      else resolve(result as TrainResult);
    };
    const onAbort = (): void => settle(abortError(signal));
    signal?.addEventListener('abort', onAbort, { once: true });

    worker.on('message', (msg: FromTrainThread) => {
      switch (msg.type) {
        case 'epoch':
          progressChain = progressChain
            .then(async () => {
              if (!settled) await onEpoch(msg.progress);
            })
            .catch((err: unknown) => settle(asError(err)));
          break;
        case 'done':
          doneReceived = true;
          // Resolve only after every onEpoch for earlier epochs has finished.
          void progressChain.then(() => settle(null, msg.result));
          break;
        case 'error':
          settle(remoteError(msg.error));
          break;
      }
    });
    worker.on('error', (err) => settle(asError(err)));
    worker.on('exit', (code) => {
      if (!doneReceived) settle(new Error(`training thread exited (code ${code}) before finishing`));
    });
  });
}

/**
 * From TypeScript sources (tsx, vitest) the entry is train-thread.ts and the
 * thread needs a TS loader; from compiled dist/ it is plain train-thread.js.
 *
 * Why not `execArgv: ['--import', 'tsx']`: on Node 20 the preload does run in
 * the worker, but tsx deliberately skips registering its hooks off the main
 * thread there (it assumes they are inherited, which they are not for a
 * worker's entry), so loading the .ts entry fails with ERR_UNKNOWN_FILE_EXTENSION
 * (tsx issue #354). Calling tsx's `register()` API inside the thread works, so
 * the worker runs a tiny eval'd bootstrap that registers tsx, then imports the
 * entry. Inherited tsx loader flags are dropped to avoid a double registration
 * on Node versions where they would take effect.
 */
function spawnTrainThread(workerData: TrainInput, transferList: ArrayBuffer[]): Worker {
  return spawnSourceThread(new URL('./train-thread.ts', import.meta.url), { workerData, transferList });
}

/**
 * file: URL of tsx's ESM `register` API. Its CommonJS build (what
 * require.resolve returns) mis-resolves its own hooks file when called from an
 * eval'd worker script, so the ESM build next to it is used.
 */
function transferable(a: Float32Array): Float32Array {
  const whole = a.buffer instanceof ArrayBuffer && a.byteOffset === 0 && a.byteLength === a.buffer.byteLength;
  return whole ? a : a.slice();
}

function abortError(signal?: AbortSignal): Error {
  const err = new Error('training aborted', { cause: signal?.reason });
  err.name = 'AbortError';
  return err;
}

function remoteError(e: { name: string; message: string; stack?: string }): Error {
  const err = new Error(e.message);
  err.name = e.name;
  if (e.stack) err.stack = `${e.stack}\n    at <training thread>`;
  return err;
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}
