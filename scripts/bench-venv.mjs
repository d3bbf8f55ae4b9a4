#!/usr/bin/env node
// The Python virtualenv of the benchmark peers (bench/python/flights_peers.py): Python Polars, pandas, pyarrow,
// NumPy and scikit-learn, pinned, in .tools/bench-venv; TensorFlow (Keras) too with `--keras`. It exists only
// so that a benchmark can set the platform's TypeScript stages beside the Python tools doing the same work in
// the same run: Python is never a dependency of the platform at runtime. `node scripts/bench-venv.mjs
// [--keras]` installs it alone; a benchmark driver calls ensureBenchVenv() and runs BENCH_PYTHON. Quick when
// already installed: the marker file holds the pinned set. Plain Node, no dependencies.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ensureVenv, findPython3 } from './python-venv.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/**
 * The peers' releases on PyPI (wheels for CPython 3.11+ on x86-64 Linux); change them here only. pandas reads
 * Parquet through pyarrow and uses it for its string columns.
 */
export const BENCH_PACKAGES = ['polars==2.1.0', 'pandas==3.1.1', 'pyarrow==26.0.1', 'numpy==2.4.6', 'scikit-learn==1.9.1'];
/** Only with `--keras`: TensorFlow's CPU build, with the Keras it ships with pinned too. */
export const KERAS_PACKAGES = ['tensorflow-cpu==2.21.0', 'keras==3.15.1'];

export const BENCH_VENV = join(root, '.tools', 'bench-venv');
export const BENCH_PYTHON = join(BENCH_VENV, 'bin', 'python');
const MARKER = join(BENCH_VENV, '.bench-packages');
const RETRY = 'node scripts/bench-venv.mjs';

/** The pinned requirements installed in the venv (the marker's lines), empty when there is none. */
function installed() {
  if (!existsSync(BENCH_PYTHON) || !existsSync(MARKER)) return new Set();
  return new Set(readFileSync(MARKER, 'utf8').split('\n').map((l) => l.trim()).filter(Boolean));
}

function wanted(keras) {
  return keras ? [...BENCH_PACKAGES, ...KERAS_PACKAGES] : [...BENCH_PACKAGES];
}

/** Whether the venv holds every pinned package (and the Keras ones when `keras`). */
export function benchVenvReady({ keras = false } = {}) {
  const have = installed();
  return wanted(keras).every((p) => have.has(p));
}

/**
 * Makes .tools/bench-venv with the pinned packages unless they are there already; `keras` adds TensorFlow.
 * `step` prints a progress line, `fail` prints an error and exits. Returns BENCH_PYTHON.
 */
export function ensureBenchVenv({ step, fail, keras = false }) {
  const want = wanted(keras);
  if (benchVenvReady({ keras })) {
    step(`bench venv: ${want.join(' ')} in ${BENCH_VENV}`);
    return BENCH_PYTHON;
  }
  const how = { label: 'bench venv', step, fail, retry: RETRY };
  ensureVenv(BENCH_VENV, findPython3(how), how);
  // Keep what an earlier call installed (the Keras set) in the marker, so that a later call without --keras
  // stays instant, unless a pin changed since: then it is installed again over it.
  const keep = [...installed()].filter((p) => KERAS_PACKAGES.includes(p));
  const specs = [...new Set([...want, ...keep])];
  step(`bench venv: pip install ${specs.join(' ')} (first time only${keras ? '; TensorFlow is about 250 MB, a few minutes' : ', about a minute'})…`);
  // One pip call for the whole set, so that pip resolves the pins together (TensorFlow bounds NumPy).
  const pip = spawnSync(BENCH_PYTHON, ['-m', 'pip', 'install', '--disable-pip-version-check', '--no-input', '-q', ...specs], { stdio: 'inherit' });
  if (pip.status !== 0) {
    if (keras) {
      fail(`pip install of ${KERAS_PACKAGES.join(' ')} with ${BENCH_PACKAGES.join(' ')} into ${BENCH_VENV} failed: TensorFlow publishes wheels for some Python versions and platforms only (this is ${pythonVersion()} on ${process.platform}-${process.arch}). Run the benchmark without --keras, or change the pins in scripts/bench-venv.mjs and retry \`${RETRY} --keras\`.`);
    }
    fail(`pip install ${specs.join(' ')} into ${BENCH_VENV} failed; check that PyPI is reachable (pip honours PIP_INDEX_URL) and retry \`${RETRY}\`.`);
  }
  // Check what pip left: the distribution versions must be the pinned ones.
  const check = spawnSync(BENCH_PYTHON, ['-c', 'import sys, importlib.metadata as m; print("\\n".join(f"{n}=={m.version(n)}" for n in sys.argv[1:]))', ...specs.map((s) => s.split('==')[0])], { encoding: 'utf8' });
  const got = (check.stdout ?? '').split('\n').map((l) => l.trim()).filter(Boolean);
  const wrong = specs.filter((s) => !got.includes(s));
  if (check.status !== 0 || wrong.length) {
    fail(`${BENCH_VENV} does not hold ${wrong.join(' ') || specs.join(' ')}:\n${`${check.stdout ?? ''}${check.stderr ?? ''}`.trim()}\nDelete ${BENCH_VENV} and retry \`${RETRY}${keras ? ' --keras' : ''}\`.`);
  }
  writeFileSync(MARKER, `${specs.join('\n')}\n`);
  step(`bench venv: ${specs.join(' ')} installed in ${BENCH_VENV}`);
  return BENCH_PYTHON;
}

function pythonVersion() {
  const r = spawnSync(BENCH_PYTHON, ['-c', 'import platform; print(platform.python_version())'], { encoding: 'utf8' });
  return r.status === 0 ? `Python ${r.stdout.trim()}` : 'an unknown Python';
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const args = process.argv.slice(2);
  const unknown = args.filter((a) => a !== '--keras');
  if (unknown.length) {
    process.stderr.write(`usage: node scripts/bench-venv.mjs [--keras]\n`);
    process.exit(2);
  }
  ensureBenchVenv({
    keras: args.includes('--keras'),
    step: (msg) => process.stdout.write(`[setup] ${msg}\n`),
    fail: (msg) => {
      process.stderr.write(`[setup] error: ${msg}\n`);
      process.exit(1);
    },
  });
}
