// @ts-check
import { builtinModules } from 'node:module'
import js from '@eslint/js'
import { defineConfig } from 'eslint/config'
import tseslint from 'typescript-eslint'

/** What src/core may not import: it runs on every platform and knows no storage of its own. */
const coreRestrictedImports = {
  // Bare Node built-ins (`fs`, `path`, ...); `node:*` is caught by the pattern below.
  paths: builtinModules
    .filter((name) => !name.startsWith('_'))
    .map((name) => ({
      name,
      message: 'src/core runs on every platform: no Node built-ins.',
    })),
  patterns: [
    {
      regex: '^node:',
      message: 'src/core runs on every platform: no Node built-ins.',
    },
    {
      regex: '^(rxjs|idb|comlink)(/|$)',
      message: 'src/core has no dependencies but nanoid: adapters live outside core.',
    },
    {
      regex: '^@sqlite\\.org/',
      message: 'src/core has no dependencies but nanoid: adapters live outside core.',
    },
    {
      regex: '^(\\.\\./)+(src/)?(storage|workers|observable|testing)(/|$)',
      message: 'src/core must not depend on storage, workers, observable or testing.',
    },
  ],
}

export default defineConfig(
  {
    ignores: [
      '**/node_modules/',
      'dist/',
      'coverage/',
      'bench/node_modules/',
      '.vitest-attachments/',
      '**/__screenshots__/',
      // Jest's fixtures import the built package (dist/), outside the type-aware project.
      'test/**/*.jest-test.mjs',
    ],
  },
  js.configs.recommended,
  tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: true,
        tsconfigRootDir: import.meta.dirname,
      },
    },
    linterOptions: {
      reportUnusedDisableDirectives: 'error',
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      // An `async` method with no `await` is how a synchronous implementation (an in-memory
      // store, a fake) keeps a Promise-returning contract and turns throws into rejections.
      '@typescript-eslint/require-await': 'off',
      // Same defaults as `only-throw-error`: passing on a caught error or `signal.reason`
      // (typed any/unknown) is fine; rejecting with a string literal is not.
      '@typescript-eslint/prefer-promise-reject-errors': [
        'error',
        { allowThrowingAny: true, allowThrowingUnknown: true },
      ],
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_' },
      ],
    },
  },
  {
    // TypeScript checks names in the JavaScript files too (checkJs), with the Node types.
    files: ['**/*.js', '**/*.mjs'],
    rules: {
      'no-undef': 'off',
    },
  },
  {
    files: ['src/core/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', coreRestrictedImports],
    },
  },
  {
    // Tests poke at untyped results (JSON, worker messages, deliberately bad input), and
    // destructure helpers and pass methods to `expect` / `vi.spyOn`.
    files: ['test/**/*.ts', 'test/**/*.mjs'],
    rules: {
      '@typescript-eslint/unbound-method': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
  {
    // Ambient declarations checked by tsconfig.core.json only, not part of tsconfig.json.
    files: ['types/**/*.d.ts'],
    extends: [tseslint.configs.disableTypeChecked],
    rules: {
      'no-var': 'off',
    },
  },
)
