// What an API process must never load (docs/ARCHITECTURE.md: serving runs without dataframes or tfjs), and
// how a test starts one under test/support/module-probe.mjs to see what it loaded.
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

/** A module of nodejs-polars (any of its platform packages) or of TensorFlow.js; group 1 names the package. */
export const FORBIDDEN_IN_API = /\/node_modules\/(nodejs-polars[^/]*|@tensorflow\/[^/]+)\//;

/** Node flags that load the module probe into a process (it writes to MODULE_PROBE_FILE). */
export const MODULE_PROBE_ARGS = ['--import', pathToFileURL(join(import.meta.dirname, 'module-probe.mjs')).href];
