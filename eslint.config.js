// ESLint flat config: typescript-eslint's recommended rules plus the type-aware rules that
// catch real bugs here (unawaited promises, promises where callbacks are expected), and the
// architecture rule of docs/architecture.md: a folder under src/ imports another folder only
// through its index.ts. `npm run lint` runs it; `npm test` runs it before the tests.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

/**
 * A file at src/X/*.ts may import `../Y/index.js` of another folder, nothing deeper; a file one
 * level down (src/X/sub/*.ts) likewise `../../Y/index.js`. Paths that leave src/ (unit tests
 * importing test/support/) are not this rule's business.
 */
const deepImport = (up) => ({
  regex: `^${up.replace(/\./g, '\\.')}(?!\\.\\.)[^/]+/(?!index\\.js$).+`,
  message: `import another src/ folder only through its index.ts ('${up}X/index.js'); see docs/architecture.md`,
});

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
    rules: { '@typescript-eslint/no-restricted-imports': ['error', { patterns: [deepImport('../')] }] },
  },
  {
    files: ['src/*/*/*.ts'],
    rules: { '@typescript-eslint/no-restricted-imports': ['error', { patterns: [deepImport('../../')] }] },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly' } },
  },
  {
    // The web page (served at /ui): plain ES modules for the browser, no build step.
    files: ['ui/**/*.js'],
    languageOptions: { globals: globals.browser },
  },
);
