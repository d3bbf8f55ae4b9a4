#!/usr/bin/env node
// The Python virtualenv of the API fuzzer: schemathesis, pinned, in .tools/fuzz-venv. Python is a test tool
// here only (`npm test`'s bounded fuzz run, `npm run fuzz`), never part of the platform at runtime.
// `node scripts/setup.mjs --test` installs it through ensureFuzzVenv(); `node scripts/fuzz-venv.mjs` does it
// alone. Quick when already installed: the marker file holds the pinned version. Plain Node, no dependencies;
// finding python3 and making the venv are scripts/python-venv.mjs's, shared with the benchmark venv.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ensureVenv, findPython3 } from './python-venv.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** The schemathesis release the fuzz runs use (PyPI); change it here only. */
export const SCHEMATHESIS_VERSION = '4.32.5';
export const FUZZ_VENV = join(root, '.tools', 'fuzz-venv');
export const SCHEMATHESIS_BIN = join(FUZZ_VENV, 'bin', 'schemathesis');
const MARKER = join(FUZZ_VENV, '.schemathesis-version');
const venvPython = join(FUZZ_VENV, 'bin', 'python');

/** Whether the venv holds the pinned schemathesis (what the fuzz runs check before starting). */
export function fuzzVenvReady() {
  if (!existsSync(SCHEMATHESIS_BIN) || !existsSync(MARKER)) return false;
  return readFileSync(MARKER, 'utf8').trim() === SCHEMATHESIS_VERSION;
}

/**
 * Makes .tools/fuzz-venv with the pinned schemathesis unless it is there already. `step` prints a progress
 * line, `fail` prints an error and exits (setup.mjs's own).
 */
export function ensureFuzzVenv({ step, fail }) {
  if (fuzzVenvReady()) return step(`fuzz venv: schemathesis ${SCHEMATHESIS_VERSION} in ${FUZZ_VENV}`);
  const how = { label: 'fuzz venv', step, fail, retry: 'node scripts/setup.mjs --test' };
  ensureVenv(FUZZ_VENV, findPython3(how), how);
  step(`fuzz venv: pip install schemathesis==${SCHEMATHESIS_VERSION} (first time only, about half a minute)…`);
  const pip = spawnSync(venvPython, ['-m', 'pip', 'install', '--disable-pip-version-check', '--no-input', '-q', `schemathesis==${SCHEMATHESIS_VERSION}`], { stdio: 'inherit' });
  if (pip.status !== 0) fail(`pip install schemathesis==${SCHEMATHESIS_VERSION} into ${FUZZ_VENV} failed; check that PyPI is reachable (pip honours PIP_INDEX_URL) and retry \`node scripts/setup.mjs --test\`.`);
  const version = spawnSync(SCHEMATHESIS_BIN, ['--version'], { encoding: 'utf8' });
  if (version.status !== 0 || !version.stdout.includes(SCHEMATHESIS_VERSION)) {
    fail(`${SCHEMATHESIS_BIN} --version did not report ${SCHEMATHESIS_VERSION}:\n${`${version.stdout ?? ''}${version.stderr ?? ''}`.trim()}\nDelete ${FUZZ_VENV} and retry \`node scripts/setup.mjs --test\`.`);
  }
  writeFileSync(MARKER, `${SCHEMATHESIS_VERSION}\n`);
  step(`fuzz venv: schemathesis ${SCHEMATHESIS_VERSION} installed in ${FUZZ_VENV}`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  ensureFuzzVenv({
    step: (msg) => process.stdout.write(`[setup] ${msg}\n`),
    fail: (msg) => {
      process.stderr.write(`[setup] error: ${msg}\n`);
      process.exit(1);
    },
  });
}
