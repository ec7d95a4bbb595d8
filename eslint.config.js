// ESLint's recommended rules plus typescript-eslint's, over the service, its tests
// and its benchmarks. Formatting is Prettier's job (npm run format), not ESLint's.
import js from '@eslint/js'
import tseslint from 'typescript-eslint'

export default tseslint.config(
  { ignores: ['dist/', 'coverage/', '.tap/', '.build/', 'node_modules/', 'bench/out/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly', URL: 'readonly' },
    },
    rules: {
      // `_name` marks a parameter a signature needs but the body does not use.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // The store is the bottom layer: every domain folder imports it, so it importing any
    // of them would make a loop. It may use its own files and the neutral modules at the
    // root of src/ (click.ts, base62.ts, first-click-delay.ts), nothing in another folder.
    files: ['src/db/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['../*/*', '../app.js', '../services.js', '../server.js', '../cli.js'],
              message: 'src/db imports only its own files and the neutral modules at the root of src/.',
            },
          ],
        },
      ],
    },
  },
  {
    // The same for each backend's folder (src/db/sqlite/, src/db/postgres/), one level deeper.
    files: ['src/db/*/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['../../*/*', '../../app.js', '../../services.js', '../../server.js', '../../cli.js'],
              message: 'src/db imports only its own files and the neutral modules at the root of src/.',
            },
          ],
        },
      ],
    },
  },
  {
    // The dashboard's page script runs in the browser, as it is written (no build step).
    files: ['assets/**/*.js'],
    languageOptions: {
      sourceType: 'script',
      globals: { window: 'readonly', document: 'readonly', Intl: 'readonly' },
    },
  },
  {
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    rules: {
      // Tests and benchmarks read JSON answers as `any` and let their assertions check the shape.
      '@typescript-eslint/no-explicit-any': 'off',
    },
  },
)
