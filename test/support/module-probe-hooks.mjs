// Test-only loader hooks of module-probe.mjs (they run in Node's loader thread): append each resolved URL
// to the probe file before the module is loaded, one a line: `<url> <parent url>` (the importer; `-` for an
// entry point).
import { appendFileSync } from 'node:fs';

let out;

export function initialize(data) {
  out = data.out;
}

export async function resolve(specifier, context, nextResolve) {
  const result = await nextResolve(specifier, context);
  appendFileSync(out, `${result.url} ${context.parentURL ?? '-'}\n`);
  return result;
}
