// The linter: typescript-eslint's type-aware rules, limited to the few that
// catch real defects in this code (a promise nobody awaits, a promise handed
// where a callback is expected, a value computed and never used, an `any`
// nobody explained). Style is left to review and STYLE.md, not to the linter.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', '.run/**', '.test-run/**', 'bench/results/**'] },
  {
    files: ['**/*.ts'],
    extends: [js.configs.recommended, ...tseslint.configs.recommended],
    languageOptions: {
      parserOptions: {
        // One program per tsconfig that type-checks the tree today, so the
        // linter sees exactly what `npm run typecheck` sees.
        project: [
          './tsconfig.test.json',
          './packages/client/test/tsconfig.json',
          './packages/web/ui/tsconfig.json',
          './bench/tsconfig.json',
        ],
        tsconfigRootDir: import.meta.dirname,
      },
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none', ignoreRestSiblings: true },
      ],
      '@typescript-eslint/no-unused-expressions': 'error',
      // The TypeScript compiler already reports these, with the types in hand.
      'no-undef': 'off',
      'no-redeclare': 'off',
      // Validation matches control characters on purpose, to reject them.
      'no-control-regex': 'off',
      // A `while (true)` loop with a return inside is how this code waits.
      'no-constant-condition': ['error', { checkLoops: false }],
    },
  },
  {
    // chai's property assertions (`expect(x).to.be.NaN`) are expressions.
    files: ['packages/*/test/**/*.ts'],
    rules: { '@typescript-eslint/no-unused-expressions': 'off' },
  },
  {
    files: ['**/*.mjs', '**/*.js'],
    extends: [js.configs.recommended],
    languageOptions: {
      globals: { process: 'readonly', console: 'readonly', URL: 'readonly', setTimeout: 'readonly', Buffer: 'readonly' },
    },
  },
);
