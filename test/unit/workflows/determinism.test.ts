// Workflow code must stay deterministic: no Node built-ins, tfjs, polars, drizzle, pg or hono, and
// project modules only as types. (The integration tests also bundle the workflows, which fails on these.)
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const dir = join(import.meta.dirname, '..', '..', '..', 'workflows');
const ALLOWED_RUNTIME = new Set(['@temporalio/workflow', '@temporalio/common']);

describe('workflows/', () => {
  const files = readdirSync(dir).filter((f) => f.endsWith('.ts'));
  it.each(files)('%s imports only workflow-safe modules', (file) => {
    const src = readFileSync(join(dir, file), 'utf8');
    const imports = [...src.matchAll(/^import\s+(type\s+)?[^'"]*?from\s+['"]([^'"]+)['"]/gm)].map((m) => ({ typeOnly: Boolean(m[1]), from: m[2] }));
    for (const imp of imports) {
      if (imp.typeOnly) continue;
      const sameFolder = imp.from.startsWith('./');
      expect(sameFolder || ALLOWED_RUNTIME.has(imp.from), `${file} imports ${imp.from} at run time`).toBe(true);
    }
  });
});
