// The layer rules of eslint.config.js, shown biting: a forbidden import in a room is an error that names
// the rule, and the same import in a room allowed to make it is not. `npm test` runs the linter over the
// whole tree; this file proves the rules it runs are the ones docs/ARCHITECTURE.md describes.
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

// Type-aware rules need files the TypeScript project knows; these probes are virtual, so only the
// import rules run on them.
const eslint = new ESLint({
  overrideConfig: [{
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: false, project: null } },
    rules: { '@typescript-eslint/no-floating-promises': 'off', 'import-x/no-cycle': 'off' },
  }],
});

async function importErrors(filePath: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath });
  return result.messages.filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
}

describe('layer rules', () => {
  it('workflow code may not import a Node built-in', async () => {
    const errors = await importErrors('workflows/probe.ts', "import { readFileSync } from 'node:fs';\nexport const probe = readFileSync;\n");
    expect(errors).toEqual([expect.stringMatching(/workflow code is deterministic and bundled/)]);
  });

  it('workflow code may not import activities, the registry or tfjs, but may import the contract and the SDK', async () => {
    for (const from of ['../activities/index.js', '../registry/runs.js', '@tensorflow/tfjs', '@temporalio/client', '../pipelines/shipped.js']) {
      expect(await importErrors('workflows/probe.ts', `import * as m from '${from}';\nexport const probe = m;\n`), from).toHaveLength(1);
    }
    for (const from of ['@temporalio/workflow', '@temporalio/common', '../pipelines/contract.js', '../pipelines/promotion-rule.js', './definitions.js']) {
      expect(await importErrors('workflows/probe.ts', `import * as m from '${from}';\nexport const probe = m;\n`), from).toEqual([]);
    }
  });

  it('data code may not import the API, serving or the composition', async () => {
    for (const from of ['../api/app.js', '../serving/predictor.js', '../app/assemble.js', '../models/training.js']) {
      expect(await importErrors('data/probe.ts', `import * as m from '${from}';\nexport const probe = m;\n`), from).toEqual([expect.stringMatching(/^'.*' import is restricted .*data\/ must not import/)]);
    }
  });

  it('the contract is a leaf', async () => {
    expect(await importErrors('pipelines/probe.ts', "import * as m from '../data/dates.js';\nexport const probe = m;\n")).toEqual([expect.stringMatching(/pipelines\/ is the contract, a leaf/)]);
  });

  it('serving and the API never import nodejs-polars or tfjs', async () => {
    for (const file of ['serving/probe.ts', 'api/probe.ts']) {
      expect(await importErrors(file, "import pl from 'nodejs-polars';\nexport const probe = pl;\n"), file).toHaveLength(1);
      expect(await importErrors(file, "import * as tf from '@tensorflow/tfjs';\nexport const probe = tf;\n"), file).toHaveLength(1);
    }
  });

  it('nothing but tests imports test/', async () => {
    for (const file of ['bench/probe.ts', 'app/probe.ts', 'cli/probe.ts', 'scripts/probe.ts']) {
      expect(await importErrors(file, "import * as m from '../test/support/specs.js';\nexport const probe = m;\n"), file).toHaveLength(1);
    }
    expect(await importErrors('test/integration/probe.test.ts', "import * as m from '../support/specs.js';\nexport const probe = m;\n")).toEqual([]);
  });

  it('models and activities stay below serving and the API', async () => {
    expect(await importErrors('models/probe.ts', "import * as m from '../serving/predictor.js';\nexport const probe = m;\n")).toHaveLength(1);
    expect(await importErrors('activities/probe.ts', "import * as m from '../workflows/training-pipeline.js';\nexport const probe = m;\n")).toHaveLength(1);
    expect(await importErrors('activities/probe.ts', "import * as m from '../serving/predictor.js';\nexport const probe = m;\n")).toEqual([]);
  });
});
