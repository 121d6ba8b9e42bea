/**
 * Two tiers of tests, told apart by where a file is and what it is called:
 *
 * - integration: every test in the root `test/` folder, and files named
 *   `*.integration.test.ts` inside packages and apps. They need services (Redis,
 *   PostgreSQL), local fakes of Dropbox or Binance, a browser, Debian's python, or train
 *   whole pipelines over weeks of candles.
 * - unit: every other `packages/<pkg>/test/**\/*.test.ts` and `apps/<app>/test/**\/*.test.ts`.
 *   No services, no python or browser, no whole pipelines (a unit test may train a small
 *   fixture: the consumer's is 10 days of planted market with 40 trees, cached in the OS
 *   temp folder). They read the real candle files beside the checkout.
 *
 * `npm test` runs both projects (what CI runs: `.ci/run`); `npm run test:unit` only the
 * first, `npm run test:integration` only the second.
 *
 * Sources are transpiled by ts-jest (no type-checking here: `npm run build` does that).
 * Code that needs compiled JS (worker threads, child processes) uses dist/, so
 * `npm run build` must run before either tier (the ci script does both).
 * Both run jest under `node --experimental-vm-modules`: jest then serves what plain Node
 * does, require() of ESM-only packages (ccxt's @noble/@scure, commander 15) and dynamic
 * import() from CommonJS (PGlite's WASM glue loading Node built-ins).
 */
const common = {
  // jest's node environment plus the host's typed arrays (see the file for why).
  testEnvironment: '<rootDir>/test/support/jest-environment.js',
  transform: {
    // Transpile only (isolatedModules): type errors are `tsc --build`'s job, not jest's.
    '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.jest.json', diagnostics: false }],
  },
  moduleNameMapper: {
    '^@engine/([a-z-]+)$': '<rootDir>/packages/$1/src/index.ts',
  },
};

module.exports = {
  testTimeout: 60000,
  projects: [
    {
      ...common,
      displayName: 'unit',
      roots: ['<rootDir>/packages', '<rootDir>/apps'],
      testMatch: ['**/test/**/*.test.ts'],
      testPathIgnorePatterns: ['/node_modules/', '/dist/', '\\.integration\\.test\\.ts$'],
    },
    {
      ...common,
      displayName: 'integration',
      roots: ['<rootDir>/packages', '<rootDir>/apps', '<rootDir>/test'],
      testMatch: ['<rootDir>/test/**/*.test.ts', '**/test/**/*.integration.test.ts'],
      testPathIgnorePatterns: ['/node_modules/', '/dist/'],
    },
  ],
};
