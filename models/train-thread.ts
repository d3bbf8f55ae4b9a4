/**
 * Worker-thread entry for trainInWorkerThread (see thread-runner.ts). Runs
 * trainMlp on this thread's own tfjs engine and reports over parentPort, so
 * the spawning thread's event loop (Temporal heartbeats) is never blocked.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { trainMlp, type EpochProgress, type TrainInput, type TrainResult } from './training.js';

export type FromTrainThread =
  | { type: 'epoch'; progress: EpochProgress }
  | { type: 'done'; result: TrainResult }
  | { type: 'error'; error: { name: string; message: string; stack?: string } };

const port = parentPort;
if (!port) throw new Error('train-thread is a worker_threads entry; call trainInWorkerThread() instead of importing it');

const send = (msg: FromTrainThread): void => port.postMessage(msg);

try {
  const result = await trainMlp(workerData as TrainInput, (progress) => send({ type: 'epoch', progress }));
  send({ type: 'done', result });
} catch (err) {
  const e = err instanceof Error ? err : new Error(String(err));
  send({ type: 'error', error: { name: e.name, message: e.message, stack: e.stack } });
}
