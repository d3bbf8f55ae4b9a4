// train: runs the tfjs training loop in a worker thread so this event loop keeps heartbeating. Heartbeats
// carry {epoch, loss, valLoss}; checkpoints live under the run's key, so a retried attempt resumes from
// the last finished epoch instead of starting over.
import { Context } from '@temporalio/activity';
import { cleanUriOf, copyFittedFeatures, readSplitLabels } from '../data/feature-artifacts.js';
import { splitColumns } from '../data/split-rows.js';
import { PipelineInputError } from '../data/pipeline-error.js';
import { trainInWorkerThread } from '../models/thread-runner.js';
import { isCheckpointMismatch, isModelTooLarge, isTrainingDiverged } from '../models/training-errors.js';
import type { TrainOutput, TrainStageInput } from '../pipelines/contract.js';
import { artifactKey, stageAttempt } from './attempt.js';
import type { ActivityDeps } from './deps.js';

export function createTrainActivity(deps: ActivityDeps) {
  const { artifacts } = deps;
  return {
    async train({ run, features }: TrainStageInput): Promise<TrainOutput> {
      return stageAttempt(deps, 'train', run, async (attempt) => {
        const ctx = Context.current();
        const featureDir = await artifacts.localPath(features.uri);
        // The training rows' columns, encoded a minibatch at a time by the training thread: no matrix of
        // every row is ever in memory.
        const encoded = await splitColumns(featureDir, await artifacts.localPath(cleanUriOf(features)), 'train');
        const [y] = await readSplitLabels(featureDir, ['yTrain']);
        // Holds the last epoch's checkpoint when an earlier attempt got that far, on this machine or another.
        const checkpointKey = artifactKey(run.workflowId, 'train-checkpoint');
        const checkpointDir = await artifacts.workDir(checkpointKey);
        const modelKey = artifactKey(run.workflowId, 'model');
        const modelDir = await artifacts.workDir(modelKey, { fresh: true });

        // A fault raised between epochs (the test seam) must stop the thread, like a crash would.
        const abort = new AbortController();
        ctx.cancellationSignal.addEventListener('abort', () => abort.abort());
        let injected: unknown;
        let last = { loss: Number.NaN, valLoss: null as number | null };
        const result = await trainInWorkerThread(
          {
            encoded, rows: features.trainRows, cols: features.cols, labels: y, task: features.task,
            numClasses: features.classes?.length ?? 1, spec: run.spec.model, modelDir, checkpointDir,
          },
          async (p) => {
            last = { loss: p.loss, valLoss: p.valLoss };
            // The epoch's checkpoint is written by now: into the store before the heartbeat reports the
            // epoch, so a retry anywhere resumes from it. A store that fails this once costs a retry anywhere
            // else an epoch more, not the attempt: the next epoch's sync sends a newer checkpoint.
            await artifacts.sync(checkpointKey).catch((err: unknown) => {
              deps.logger.warn({ err, workflowId: run.workflowId, epoch: p.epoch }, 'could not store the checkpoint; training goes on');
            });
            ctx.heartbeat({ epoch: p.epoch, epochs: p.epochs, loss: p.loss, valLoss: p.valLoss, attempt });
            try {
              await deps.faults?.(`train:epoch:${p.epoch}`, attempt, { workflowId: run.workflowId });
            } catch (err) {
              injected = err;
              abort.abort();
            }
          },
          abort.signal,
        ).catch(async (err: Error) => {
          if (injected) throw injected;
          if (isTrainingDiverged(err)) throw new PipelineInputError('TrainingFailed', `${err.message} (model.learningRate is ${run.spec.model.learningRate})`);
          if (isModelTooLarge(err)) throw new PipelineInputError('InvalidSpec', err.message);
          if (isCheckpointMismatch(err)) {
            // This run's own folder holds state this attempt cannot continue (an older version wrote it):
            // remove it, and let the retry train from the start rather than fail the run.
            await artifacts.workDir(checkpointKey, { fresh: true });
            deps.logger.warn({ workflowId: run.workflowId }, 'removed a checkpoint of another training; the next attempt starts over');
            throw new Error('the checkpoint folder held another training\'s state; it was removed, and the next attempt trains from the start');
          }
          throw err;
        });
        await copyFittedFeatures(featureDir, modelDir);
        return {
          modelUri: await artifacts.publish(modelKey),
          epochsRun: result.epochsRun, bestEpoch: result.bestEpoch, stoppedEarly: result.stoppedEarly,
          resumedFromEpoch: result.resumedFromEpoch, samplesPerSecond: result.samplesPerSecond,
          trainSeconds: result.trainSeconds, backend: result.backend, finalLoss: last.loss, finalValLoss: last.valLoss,
        };
      });
    },
  };
}
