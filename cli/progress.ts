// Progress display for long runs: a redrawn bar on a terminal, one line per change elsewhere (CI logs).
import { STAGES } from '../pipelines/contract.js';

export interface RunView {
  status: string;
  stage: string | null;
  completed: string[];
  epoch?: number;
  epochs?: number;
  loss?: number;
  valLoss?: number | null;
  attempt?: number | null;
}

export function createProgressPrinter(out: NodeJS.WriteStream = process.stdout) {
  const line = progressLine(out);
  return {
    update(v: RunView) {
      const done = v.completed.length + (v.stage === 'train' && v.epoch && v.epochs ? v.epoch / v.epochs : 0);
      const train = v.stage === 'train' && v.epoch !== undefined
        ? ` epoch ${v.epoch}/${v.epochs} loss ${v.loss?.toFixed(4)} val ${v.valLoss == null ? '-' : v.valLoss.toFixed(4)}`
        : '';
      const retry = v.attempt && v.attempt > 1 ? ` (attempt ${v.attempt})` : '';
      line.update(done / STAGES.length, `${v.stage ?? v.status}${train}${retry}`);
    },
    finish: line.finish,
  };
}

/** A bar of `fraction` (0..1) and a label, redrawn in place on a terminal, one line per change elsewhere. */
export function progressLine(out: NodeJS.WriteStream = process.stdout) {
  let lastLine = '';
  return {
    update(fraction: number, label: string) {
      const frac = Math.max(0, Math.min(1, fraction));
      const width = 30;
      const filled = Math.round(frac * width);
      const line = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${String(Math.round(frac * 100)).padStart(3)}% ${label}`;
      if (line === lastLine) return;
      lastLine = line;
      if (out.isTTY) out.write(`\r${line.padEnd(100)}`);
      else out.write(`${line}\n`);
    },
    finish() {
      if (out.isTTY && lastLine) out.write('\n');
    },
  };
}
