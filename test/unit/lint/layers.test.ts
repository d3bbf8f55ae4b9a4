// The layer rules of eslint.config.js, shown biting: for every room, an import of each other room is an
// error exactly when that room's row of LAYERS (the table of docs/ARCHITECTURE.md) does not allow it, and
// no spelling of a path gets around it. `npm test` lints the whole tree with the same configuration.
import { ESLint } from 'eslint';
import { beforeAll, describe, expect, it } from 'vitest';

// Type-aware rules need files the TypeScript project knows; these probes are virtual, so only the import
// rules run on them.
const eslint = new ESLint({
  overrideConfig: [{
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: false, project: null } },
    rules: { '@typescript-eslint/no-floating-promises': 'off', 'import-x/no-cycle': 'off' },
  }],
});

/** A real module of each room, for probes to import. */
const MODULE_OF: Record<string, string> = {
  pipelines: 'pipelines/contract', workflows: 'workflows/definitions', db: 'db/schema', runtime: 'runtime/logger',
  data: 'data/dates', models: 'models/metrics', registry: 'registry/runs', serving: 'serving/errors',
  activities: 'activities/failures', api: 'api/errors', app: 'app/free-port', cli: 'cli/progress',
  bench: 'bench/options', scripts: 'scripts/record-histories', test: 'test/support/specs',
};

const IMPORT_RULES = new Set(['import-x/no-restricted-paths', 'no-restricted-imports']);

/** The import-rule errors for `code` as the file `filePath`. */
async function importErrors(filePath: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath });
  const fatal = result.messages.filter((m) => m.fatal);
  if (fatal.length) throw new Error(`${filePath}: ${fatal.map((m) => m.message).join('; ')}`);
  return result.messages.filter((m) => m.ruleId && IMPORT_RULES.has(m.ruleId)).map((m) => m.message);
}

const importing = (from: string) => `import * as m from '${from}';\nexport const probe = m;\n`;

let LAYERS: Record<string, string[]>;
beforeAll(async () => {
  const config = '../../../eslint.config.js';
  ({ LAYERS } = (await import(config)) as { LAYERS: Record<string, string[]> });
});

describe('the LAYERS table', () => {
  it('covers every room of the tree', () => {
    expect(Object.keys(LAYERS).sort()).toEqual(Object.keys(MODULE_OF).sort());
  });

  it('allows exactly the imports each row names, in every room', async () => {
    const wrong: string[] = [];
    for (const [room, allowed] of Object.entries(LAYERS)) {
      for (const [other, module] of Object.entries(MODULE_OF)) {
        if (other === room) continue;
        const errors = await importErrors(`${room}/probe.ts`, importing(`../${module}.js`));
        const expected = allowed.includes(other) ? 0 : 1;
        if (errors.length !== expected) wrong.push(`${room}/ importing ${other}/: ${errors.length} errors, expected ${expected}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('names the rule and the rooms allowed in its message', async () => {
    expect(await importErrors('data/probe.ts', importing('../api/errors.js'))).toEqual([
      expect.stringMatching(/data\/ may import only pipelines\/, runtime\/ \(docs\/ARCHITECTURE\.md\)/),
    ]);
  });
});

describe('no spelling gets around a rule', () => {
  it.each([
    ['a path that climbs from ./', 'api/probe.ts', importing('./../activities/failures.js')],
    ['a path through another room', 'api/probe.ts', importing('../serving/../activities/failures.js')],
    ['a nested file', 'api/models/probe.ts', importing('../../app/free-port.js')],
    ['a dynamic import', 'serving/probe.ts', "export const probe = () => import('../activities/failures.js');\n"],
    ['a re-export', 'data/probe.ts', "export * from '../serving/errors.js';\n"],
  ])('%s', async (_, file, code) => {
    expect(await importErrors(file, code)).toHaveLength(1);
  });
});

describe('narrower rules', () => {
  it('workflow code imports no Node built-in and no package but the SDK\'s workflow side', async () => {
    expect(await importErrors('workflows/probe.ts', importing('node:fs'))).toEqual([expect.stringMatching(/workflow code is deterministic and bundled/)]);
    expect(await importErrors('workflows/probe.ts', importing('@temporalio/client'))).toHaveLength(1);
    expect(await importErrors('workflows/probe.ts', importing('@temporalio/workflow'))).toEqual([]);
    expect(await importErrors('workflows/probe.ts', importing('../pipelines/shipped.js'))).toEqual([expect.stringMatching(/the shipped specs read files/)]);
  });

  it('the contract imports only zod and itself', async () => {
    expect(await importErrors('pipelines/probe.ts', importing('node:fs'))).toHaveLength(1);
    expect(await importErrors('pipelines/probe.ts', importing('zod'))).toEqual([]);
  });

  it('the API reaches workflows only through their definitions', async () => {
    expect(await importErrors('api/probe.ts', importing('../workflows/training-pipeline.js'))).toEqual([expect.stringMatching(/never by loading workflow code/)]);
    expect(await importErrors('api/probe.ts', importing('../workflows/definitions.js'))).toEqual([]);
  });

  it('serving and the API load neither nodejs-polars nor tfjs, nor the data modules that do', async () => {
    for (const file of ['serving/probe.ts', 'api/probe.ts']) {
      expect(await importErrors(file, importing('nodejs-polars')), file).toHaveLength(1);
      expect(await importErrors(file, importing('@tensorflow/tfjs')), file).toHaveLength(1);
    }
    expect(await importErrors('serving/probe.ts', importing('../data/cleaning.js'))).toEqual([expect.stringMatching(/load nodejs-polars/)]);
    expect(await importErrors('serving/probe.ts', importing('../data/dates.js'))).toEqual([]);
  });
});
