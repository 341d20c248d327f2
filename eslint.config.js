// Lint: TypeScript rules everywhere, and the engine's purity rule (STYLE.md): no DOM, React,
// store, clock or Math.random under src/engine.
import js from '@eslint/js';
import globals from 'globals';
import reactHooks from 'eslint-plugin-react-hooks';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist', 'node_modules', 'test-results', 'playwright-report'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.{ts,tsx}'],
    languageOptions: { globals: { ...globals.browser, ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  { files: ['scripts/**/*.mjs', 'bench/**/*.mjs'], languageOptions: { globals: globals.node } },
  {
    files: ['src/ui/**/*.tsx', 'src/ui/**/*.ts'],
    plugins: { 'react-hooks': reactHooks },
    rules: { 'react-hooks/rules-of-hooks': 'error', 'react-hooks/exhaustive-deps': 'warn' },
  },
  {
    files: ['src/engine/**/*.ts'],
    ignores: ['src/engine/**/*.test.ts'],
    languageOptions: { globals: {} },
    rules: {
      'no-restricted-imports': ['error', {
        paths: ['react', 'react-dom', 'zustand', '@xyflow/react', 'monaco-editor', 'elkjs', 'comlink'].map((name) => ({ name, message: 'src/engine is pure: no UI, store or worker imports.' })),
        patterns: [{ group: ['node:*', '**/ui/**', '**/state/**', '**/worker/**'], message: 'src/engine is pure and runs in the browser worker too.' }],
      }],
      'no-restricted-globals': ['error',
        { name: 'window', message: 'no DOM in the engine' },
        { name: 'document', message: 'no DOM in the engine' },
        { name: 'setTimeout', message: 'no timers in the engine' },
        { name: 'setInterval', message: 'no timers in the engine' },
        { name: 'performance', message: 'no clock in the engine' },
        { name: 'localStorage', message: 'no storage in the engine' },
      ],
      'no-restricted-properties': ['error',
        { object: 'Math', property: 'random', message: 'use the seeded PRNG (util/prng.ts)' },
        { object: 'Date', property: 'now', message: 'no clock in the engine' },
      ],
      'no-restricted-syntax': ['error', { selector: "NewExpression[callee.name='Date']", message: 'no clock in the engine' }],
    },
  },
);
