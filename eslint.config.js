// ESLint flat config: typescript-eslint's recommended rules plus the type-aware rules that
// catch real bugs here (unawaited promises, promises where callbacks are expected), and the
// architecture rule of docs/architecture.md: a folder under src/ imports another folder only
// through its index.ts. `npm run lint` runs it; `npm test` runs it before the tests.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** A file at src/X/*.ts may import `../Y/index.js` of another folder, nothing deeper. */
const deepFromFolder = {
  group: ['../*/*', '!../*/index.js'],
  message: "import another src/ folder only through its index.ts ('../X/index.js'); see docs/architecture.md",
};
/** The same rule for files one level down (src/X/sub/*.ts): `../../Y/index.js` only. */
const deepFromSubfolder = {
  group: ['../../*/*', '!../../*/index.js'],
  message: "import another src/ folder only through its index.ts ('../../X/index.js'); see docs/architecture.md",
};

export default tseslint.config(
  { ignores: ['dist/**', 'build/**', 'node_modules/**', 'native/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // node:test's test()/describe() return promises the runner itself tracks.
      '@typescript-eslint/no-floating-promises': ['error', {
        allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['test', 'it', 'describe', 'suite'] }],
      }],
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/no-import-type-side-effects': 'error',
      // prom-client binds `this` to the metric inside collect(): `const self = this` is the idiom.
      '@typescript-eslint/no-this-alias': ['error', { allowedNames: ['self'] }],
    },
  },
  {
    files: ['src/*/*.ts'],
    ignores: ['src/**/*.test.ts'], // unit tests may also import test/support/ (outside src/)
    rules: { '@typescript-eslint/no-restricted-imports': ['error', { patterns: [deepFromFolder] }] },
  },
  {
    files: ['src/*/*/*.ts'],
    ignores: ['src/**/*.test.ts'],
    rules: { '@typescript-eslint/no-restricted-imports': ['error', { patterns: [deepFromSubfolder] }] },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly' } },
  },
);
