// Lint: correctness rules that need types (no floating promises), import hygiene (type-only imports, no
// cycles), and the layer rules that keep each folder a room with one job (docs/ARCHITECTURE.md).
// Runs in `npm test` after the typecheck; test/unit/lint/layers.test.ts checks every row of LAYERS bites.
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';
import importX from 'eslint-plugin-import-x';
import tseslint from 'typescript-eslint';

/**
 * The rooms and what each may import of the others: the table of docs/ARCHITECTURE.md. Checked on resolved
 * paths (import-x/no-restricted-paths), so every spelling of a path and dynamic import() are covered.
 */
export const LAYERS = {
  pipelines: [],
  workflows: ['pipelines'],
  db: ['pipelines'],
  runtime: [],
  data: ['pipelines', 'runtime'],
  models: ['data', 'pipelines', 'runtime'],
  registry: ['db', 'pipelines'],
  serving: ['data', 'models', 'registry', 'db', 'runtime', 'pipelines'],
  activities: ['data', 'models', 'serving', 'registry', 'db', 'runtime', 'pipelines'],
  api: ['workflows', 'serving', 'registry', 'db', 'runtime', 'pipelines'],
  app: ['api', 'activities', 'workflows', 'serving', 'registry', 'models', 'data', 'db', 'runtime', 'pipelines'],
  cli: ['app', 'api', 'activities', 'workflows', 'serving', 'registry', 'models', 'data', 'db', 'runtime', 'pipelines'],
  bench: ['app', 'api', 'activities', 'workflows', 'serving', 'registry', 'models', 'data', 'db', 'runtime', 'pipelines'],
  scripts: ['app', 'api', 'activities', 'workflows', 'serving', 'registry', 'models', 'data', 'db', 'runtime', 'pipelines'],
  test: ['app', 'api', 'activities', 'workflows', 'serving', 'registry', 'models', 'data', 'db', 'runtime', 'pipelines'],
};
const ROOMS = Object.keys(LAYERS);

const layerZones = Object.entries(LAYERS).flatMap(([room, allowed]) => {
  const forbidden = ROOMS.filter((r) => r !== room && !allowed.includes(r));
  return forbidden.length === 0 ? [] : [{
    target: `./${room}`,
    from: forbidden.map((r) => `./${r}`),
    message: `${room}/ may import only ${allowed.length ? allowed.map((r) => `${r}/`).join(', ') : 'nothing of the project'} (docs/ARCHITECTURE.md).`,
  }];
});

/** Narrower than whole rooms: what the light processes and the replayed code must never reach. */
const fileZones = [
  {
    target: './workflows',
    from: './pipelines/shipped.ts',
    message: 'workflow code is bundled and replayed: the shipped specs read files.',
  },
  {
    target: './api',
    from: './workflows',
    except: ['./definitions.ts'],
    message: 'the API starts workflows through their definitions (workflows/definitions.ts), never by loading workflow code.',
  },
  ...['./serving', './api'].map((target) => ({
    target,
    from: ['./data/cleaning.ts', './data/sources.ts', './data/time-column.ts', './data/frame-columns.ts', './data/feature-pipeline.ts', './data/ingest.ts', './data/split-rows.ts'],
    message: 'these data modules load nodejs-polars, which the API process never loads (test/integration/api-process-modules.test.ts).',
  })),
];

const HEAVY_PACKAGES = { group: ['nodejs-polars', 'nodejs-polars-*', '@tensorflow/*'], message: 'the API process loads neither nodejs-polars nor tfjs (test/integration/api-process-modules.test.ts)' };

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', '.data/**', '.tools/**', 'console/dist/**', '.scratch/**', '**/*.js', '**/*.mjs', '**/*.cjs'] },
  {
    files: ['**/*.ts'],
    languageOptions: {
      parser: tseslint.parser,
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { '@typescript-eslint': tseslint.plugin, 'import-x': importX },
    settings: {
      // `./x.js` specifiers name `./x.ts` sources: resolve them as TypeScript does, or no-cycle sees nothing.
      'import-x/resolver-next': [createTypeScriptImportResolver({ project: './tsconfig.json' })],
      'import-x/extensions': ['.ts'],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts'] },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/consistent-type-imports': ['error', { prefer: 'type-imports', fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', ignoreRestSiblings: true, caughtErrors: 'none' }],
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
      'import-x/no-duplicates': 'error',
      'import-x/no-self-import': 'error',
    },
  },

  // ---- layers: each room imports only the rooms its row of LAYERS names ----
  {
    files: ['**/*.ts'],
    rules: { 'import-x/no-restricted-paths': ['error', { basePath: import.meta.dirname, zones: [...layerZones, ...fileZones] }] },
  },
  {
    // The contract is a leaf: of packages, zod; of the project, nothing (LAYERS).
    files: ['pipelines/**/*.ts'],
    ignores: ['pipelines/shipped.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ regex: '^(?!zod$|\\.)', message: 'pipelines/ is the contract, a leaf: of packages it imports only zod' }] }],
    },
  },
  {
    // Workflow code is replayed: only the SDK's workflow-side packages; project modules per LAYERS.
    files: ['workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [{ regex: '^(?!@temporalio/(workflow|common)$|\\.)', message: 'workflow code is deterministic and bundled: of packages, import only @temporalio/workflow and @temporalio/common' }],
      }],
    },
  },
  {
    files: ['serving/**/*.ts', 'api/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [HEAVY_PACKAGES] }] },
  },
);
