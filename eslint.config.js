import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const BROWSER_GLOBALS = ['window', 'document', 'navigator', 'location', 'console', 'setTimeout',
  'clearTimeout', 'setInterval', 'clearInterval', 'URL', 'Blob', 'MediaRecorder', 'XMLHttpRequest',
  'TextEncoder', 'btoa', 'performance', 'requestAnimationFrame', 'Promise', 'Uint8Array'];

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'data/', 'scripts/*.mjs', 'bench/*.mjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      // Fastify handlers and job hooks are async by contract, with or without an await.
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_',
        varsIgnorePattern: '^_' }],
      // Its fixes disagree with the compiler around Kysely's generic query builders.
      '@typescript-eslint/no-unnecessary-type-assertion': 'off',
      'max-len': ['error', { code: 100, ignoreUrls: true, ignoreStrings: true,
        ignoreTemplateLiterals: true, ignoreRegExpLiterals: true }],
    },
  },
  {
    // One generic repository over three tables: the query builder's types are exact at the
    // call sites but too deep for the linter to follow inside.
    files: ['src/repositories/credentials.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
    },
  },
  {
    files: ['eslint.config.js'],
    ...tseslint.configs.disableTypeChecked,
  },
  {
    // Plain scripts that run in visitors' browsers, served as they are.
    files: ['src/recorder/**/*.js', 'src/dashboard/assets/**/*.js'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: {
      sourceType: 'script',
      parserOptions: { projectService: false, project: null },
      globals: Object.fromEntries(BROWSER_GLOBALS.map((name) => [name, 'readonly'])),
    },
  },
);
