import { playwright } from '@vitest/browser-playwright'
import { configDefaults, defineConfig } from 'vitest/config'

// Browser tests run in the system Chromium (Debian package `chromium`, see
// scripts/ensure-chromium.mjs). Playwright never downloads a browser here: `executablePath`
// points at the system one, and the flags keep it off the network.
const chromiumPath = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium'

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'node',
          environment: 'node',
          include: ['test/**/*.test.ts'],
          exclude: [...configDefaults.exclude, 'test/**/*.browser.test.ts'],
        },
      },
      {
        // SQLite WASM finds its .wasm file next to its module: Vite must serve the package as is.
        optimizeDeps: { exclude: ['@sqlite.org/sqlite-wasm'] },
        test: {
          name: 'browser',
          include: ['test/**/*.browser.test.ts'],
          // A page cannot listen: the HTTP outbox tests' server runs in Node.
          globalSetup: ['test/browser/fixtures/http-server.setup.ts'],
          browser: {
            enabled: true,
            headless: true,
            provider: playwright({
              launchOptions: {
                executablePath: chromiumPath,
                args: [
                  '--no-sandbox',
                  '--disable-gpu',
                  '--disable-background-networking',
                  '--disable-component-update',
                  '--disable-sync',
                  '--disable-quic',
                  '--no-first-run',
                ],
              },
            }),
            instances: [{ browser: 'chromium' }],
          },
        },
      },
    ],
  },
})
