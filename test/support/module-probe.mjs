// Test-only: records every module a process loads, for test/integration/api-process-modules.test.ts.
// Start the process with `node --import <this file> …` and MODULE_PROBE_FILE=<path>. Two records:
//   - ESM: a node:module resolve hook (module-probe-hooks.mjs, in the loader thread) appends every URL the
//     loader resolves — an `import`, static or dynamic, from any file, through tsx or not — to
//     MODULE_PROBE_FILE as it happens;
//   - CommonJS: on SIGUSR2 the process writes the keys of the CommonJS module cache (every file loaded
//     by require(), or by an `import` of a CommonJS package, native .node addons included) to
//     MODULE_PROBE_FILE.cjs, atomically (written under another name, then renamed).
// Nothing here changes what the process loads or how it behaves.
import { renameSync, writeFileSync } from 'node:fs';
import { createRequire, register } from 'node:module';
import { pathToFileURL } from 'node:url';
import { isMainThread } from 'node:worker_threads';

const out = process.env.MODULE_PROBE_FILE;
if (!out) throw new Error('module-probe: set MODULE_PROBE_FILE');
// A worker thread started from a file inherits --import and runs this again: only the main thread starts
// the record (else a thread would empty it) and registers the hooks, which already see every thread's loads.
if (isMainThread) {
  writeFileSync(out, '');
  register(new URL('./module-probe-hooks.mjs', import.meta.url), { data: { out } });

  const require = createRequire(import.meta.url);
  process.on('SIGUSR2', () => {
    const urls = Object.keys(require.cache).map((f) => (f.startsWith('/') ? pathToFileURL(f).href : f));
    writeFileSync(`${out}.cjs.tmp`, urls.join('\n') + '\n');
    renameSync(`${out}.cjs.tmp`, `${out}.cjs`);
  });
}
