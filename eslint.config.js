// Lint: correctness rules that need types (no floating promises), import hygiene (type-only imports, no
// cycles), and the layer rules that keep each folder a room with one job (docs/ARCHITECTURE.md).
// Runs in `npm test` after the typecheck; test/unit/lint/layers.test.ts proves the layer rules bite.
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';
import importX from 'eslint-plugin-import-x';
import tseslint from 'typescript-eslint';

const ROOMS = ['pipelines', 'workflows', 'activities', 'data', 'models', 'serving', 'registry', 'api', 'db', 'runtime', 'app', 'cli', 'test', 'bench', 'scripts'];

/** An import of another room from a file one level down (`../<room>/…`), or deeper (tests: `../../<room>/…`). */
const roomImport = (rooms) => `^(\\.\\./)+(${rooms.join('|')})/`;

/** Layer rule for a room: the rooms it must not import, and why. */
function forbid(room, rooms, why, extra = []) {
  return {
    files: [`${room}/**/*.ts`],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [
          { regex: roomImport(rooms), message: `${room}/ must not import ${rooms.map((r) => `${r}/`).join(', ')}: ${why}` },
          ...extra,
        ],
      }],
    },
  };
}

const notTests = ['test'];
const ENTRY = ['cli', 'bench', 'scripts', 'test'];

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', '.data/**', '.tools/**', 'console/dist/**', '**/*.js', '**/*.mjs', '**/*.cjs'] },
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

  // ---- layers: imports point down the data flow, never back up ----
  {
    // The contract is a leaf: it imports nothing of the project, so every room can depend on it.
    files: ['pipelines/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ regex: '^\\.\\./', message: 'pipelines/ is the contract, a leaf: it imports nothing of the project' }] }],
    },
  },
  {
    // Workflow code is replayed: only the SDK's workflow-side packages, the contract and itself.
    files: ['workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [{
          regex: '^(?!@temporalio/(workflow|common)$|\\./|\\.\\./pipelines/(contract|promotion-rule|spec|model-spec|head-to-head-config|workflow-ids)\\.js$)',
          message: 'workflow code is deterministic and bundled: import only @temporalio/workflow, @temporalio/common, the contract (../pipelines/…) and ./ modules',
        }],
      }],
    },
  },
  forbid('db', ROOMS.filter((r) => r !== 'db' && r !== 'pipelines'), 'the schema and connection are a base service'),
  {
    // The schema names the contract's types for what its json columns hold: type-only imports, erased at build.
    files: ['db/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': ['error', {
        patterns: [{ regex: roomImport(['pipelines']), allowTypeImports: true, message: 'db/ may import only types from pipelines/ (the shapes of its json columns): the schema and connection are a base service' }],
      }],
    },
  },
  forbid('runtime', ROOMS.filter((r) => r !== 'runtime'), 'base services (config, logging, metrics, artifact store, Temporal connection) know nothing of the product'),
  forbid('data', ['workflows', 'activities', 'models', 'serving', 'registry', 'api', 'app', ...ENTRY], 'data code is pure dataframe work; the rooms above it depend on it, not the reverse'),
  forbid('models', ['workflows', 'activities', 'serving', 'registry', 'api', 'app', ...ENTRY], 'models train and save networks; serving and activities use them'),
  forbid('registry', ['workflows', 'activities', 'data', 'models', 'serving', 'api', 'app', ...ENTRY], 'the registry is rows over db/, typed by the contract'),
  forbid('serving', ['workflows', 'activities', 'api', 'app', ...ENTRY], 'serving answers predictions; HTTP lives in api/', [
    { group: ['nodejs-polars', '@tensorflow/*'], message: 'the serving process loads neither nodejs-polars nor tfjs (see test/integration/api-process-modules.test.ts)' },
  ]),
  forbid('activities', ['workflows', 'api', 'app', ...ENTRY], 'activities are Temporal adapters over data/, models/, serving/ and registry/'),
  forbid('api', ['activities', 'app', ...ENTRY], 'the API is a client of the workflows and the registry; the composition wires it', [
    { group: ['nodejs-polars', '@tensorflow/*'], message: 'the API process loads neither nodejs-polars nor tfjs' },
  ]),
  forbid('app', ENTRY, 'the composition is used by the entry points, not the reverse'),
  forbid('cli', ['test', 'bench', 'scripts'], 'the CLI ships; tests and benchmarks do not'),
  forbid('bench', notTests, 'benchmarks use the platform, not the test harness'),
  forbid('scripts', notTests, 'scripts use the platform, not the test harness'),
);
