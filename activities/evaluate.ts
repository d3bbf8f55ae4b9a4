// evaluate: scores the candidate on the held-out split against baselines computed in the same run and
// against the current production model on the very same rows, then registers the candidate as a version.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readSplitIndex, readSplitLabels } from '../data/feature-artifacts.js';
import { readColumns, splitMatrix, transformInputs } from '../data/split-rows.js';
import { encodeHistory } from '../data/feature-pipeline.js';
import {
  alwaysClassProbs, classificationMetrics, classPriorProbs, constantProbs, majorityClass, meanBaseline, regressionMetrics,
} from '../models/metrics.js';
import { loadPredictor, type Predictor } from '../serving/predictor.js';
import { getVersion, registerVersion, resolveAlias } from '../registry/models.js';
import { specHash } from '../registry/pipelines.js';
import { sha256Dir } from '../runtime/artifacts.js';
import type { ColumnStatistics, EvaluateInput, EvaluateOutput, MetricSet } from '../pipelines/contract.js';
import { numericFigures } from '../data/dataset-statistics.js';
import { artifactKey, stageAttempt } from './attempt.js';
import type { ActivityDeps } from './deps.js';

export function createEvaluateActivity(deps: ActivityDeps) {
  const { db, artifacts } = deps;
  return {
    async evaluate(input: EvaluateInput): Promise<EvaluateOutput> {
      const { run, features, trained, clean } = input;
      return stageAttempt(deps, 'evaluate', run, async () => {
        const featureDir = await artifacts.localPath(features.uri);
        const cleanPath = await artifacts.localPath(clean.uri);
        const xTest = await splitMatrix(featureDir, cleanPath, 'test');
        const [yTest, yTrain] = await readSplitLabels(featureDir, ['yTest', 'yTrain']);
        const split = await readSplitIndex(featureDir);
        const modelDir = await artifacts.localPath(trained.modelUri);
        const candidate = await loadPredictor(modelDir);
        const n = features.testRows;
        const classes = features.classes;
        const score = (out: Float32Array): MetricSet => (classes
          ? { ...classificationMetrics(out, yTest, classes.length) }
          : { ...regressionMetrics(out, yTest) });

        let metrics: MetricSet;
        let predictions: ColumnStatistics;
        const baselines: Record<string, MetricSet> = {};
        try {
          const out = candidate.predictMatrix(xTest, n);
          metrics = score(out);
          predictions = predictionStatistics(out, n, classes);
          if (classes) {
            const prior = classPriorProbs(yTrain, classes.length);
            baselines.prior = score(constantProbs(n, prior));
            const majority = majorityClass(yTrain, classes.length);
            baselines[`always-${classes[majority]}`] = score(constantProbs(n, alwaysClassProbs(classes.length, majority)));
          } else {
            baselines.mean = score(meanBaseline(yTrain, n));
          }
        } finally {
          candidate.dispose();
        }

        // Champion/challenger: the production model's own pipeline on this run's held-out rows.
        let champion: EvaluateOutput['champion'] = null;
        const alias = run.spec.promotion.alias;
        const championVersion = await resolveAlias(db, run.pipeline, alias);
        if (championVersion !== null) {
          const row = await getVersion(db, run.pipeline, championVersion);
          if (row) {
            const champ = await loadPredictor(await artifacts.localPath(row.artifactUri));
            try {
              // Only the columns the champion's transform reads (it may read others than the candidate's).
            const history = readColumns(cleanPath, transformInputs(champ.fitted));
            const out = alignClasses(champ, champ.predictMatrix(encodeHistory(champ.fitted, history, split.testIndex), split.testIndex.length), classes, n);
              champion = { version: championVersion, metrics: score(out) };
            } finally {
              champ.dispose();
            }
          }
        }

        // Written before the version is registered, so a registered version always has them.
        const key = artifactKey(run.workflowId, 'evaluation');
        const dir = await artifacts.workDir(key, { fresh: true });
        await writeFile(join(dir, 'predictions.json'), JSON.stringify(predictions));
        const evaluationUri = await artifacts.publish(key);
        const modelVersion = await registerVersion(db, {
          model: run.pipeline,
          task: features.task,
          runWorkflowId: run.workflowId,
          artifactUri: trained.modelUri,
          artifactSha256: await sha256Dir(modelDir),
          metrics, baselines, champion,
          transform: candidate.fitted,
          inputSchema: candidate.fitted.inputSchema,
          lineage: {
            run: run.workflowId, pipeline: run.pipeline, pipelineVersion: input.pipelineVersion, specHash: specHash(run.spec), spec: run.spec,
            asOf: run.asOf, cleanDataset: { uri: clean.uri, contentHash: clean.contentHash, rows: clean.rows },
            trainRows: features.trainRows, testRows: features.testRows, testPeriod: features.testPeriod,
            backend: trained.backend, codeVersion: deps.codeVersion, predictionStatisticsUri: `${evaluationUri}/predictions.json`,
          },
        });
        await writeFile(join(dir, 'report.json'), JSON.stringify({ modelVersion, metrics, baselines, champion, testPeriod: features.testPeriod }, null, 2));
        return { modelVersion, metrics, baselines, champion, reportUri: `${await artifacts.publish(key)}/report.json` };
      });
    },
  };
}

/** A champion trained on other data may order (or lack) classes differently: line its columns up by name. */
function alignClasses(champ: Predictor, out: Float32Array, classes: string[] | null, rows: number): Float32Array {
  const theirs = champ.fitted.classes;
  if (!classes || !theirs || theirs.join('\u0000') === classes.join('\u0000')) return out;
  const aligned = new Float32Array(rows * classes.length);
  const from = classes.map((c) => theirs.indexOf(c));
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < classes.length; j++) aligned[i * classes.length + j] = from[j] < 0 ? 0 : out[i * theirs.length + from[j]];
  }
  return aligned;
}

/**
 * What the candidate predicted on the held-out rows, as a column's statistics: the class it ranked first
 * (classification) or the value (regression). The monitor compares a window's predictions with it.
 */
function predictionStatistics(out: Float32Array, rows: number, classes: string[] | null): ColumnStatistics {
  const base = { name: 'prediction', count: rows, missing: 0 };
  if (!classes) {
    const sorted = Float64Array.from(out.subarray(0, rows)).sort();
    return { ...base, type: 'Float64', kind: 'numeric', distinct: new Set(sorted).size, ...numericFigures(sorted) };
  }
  const k = classes.length;
  const counts = new Array<number>(k).fill(0);
  for (let i = 0; i < rows; i++) {
    let best = 0;
    for (let c = 1; c < k; c++) if (out[i * k + c] > out[i * k + best]) best = c;
    counts[best]++;
  }
  // Every class, those never ranked first included: a class the model can answer is not an unseen category
  // when it is ranked first in production.
  const top = classes.map((value, c) => ({ value, count: counts[c] }))
    .sort((a, b) => b.count - a.count || (a.value < b.value ? -1 : 1));
  return { ...base, type: 'String', kind: 'categorical', distinct: top.filter((t) => t.count > 0).length, top };
}
