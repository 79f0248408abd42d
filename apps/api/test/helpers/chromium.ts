import { findExecutable } from '@muejam/testing/executable'
import { chromium, type Browser } from 'playwright-core'

interface Test {
  teardown(fn: () => unknown): void
}

/**
 * Headless Chromium (Debian's `chromium` package, or CHROMIUM_BIN, the override
 * scripts/test-setup.sh honours too), driven over the DevTools protocol, closed at teardown.
 * Throws, saying how to install it, when it is missing: the docs page is tested in a real
 * browser or not at all.
 */
export async function launchChromium (t: Test): Promise<Browser> {
  const executablePath = findExecutable('chromium', { envVar: 'CHROMIUM_BIN' })
  if (executablePath === null) {
    const override = process.env.CHROMIUM_BIN
    const where = override === undefined || override === '' ? 'on the PATH' : `at ${override}`
    throw new Error(`Chromium not found ${where}: the docs page is tested in headless Chromium. ` +
      'Install it with `apt-get install chromium` (or run `bash scripts/test-setup.sh`, which does), ' +
      'or set CHROMIUM_BIN to a Chromium executable.')
  }
  const browser = await chromium.launch({
    executablePath,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking']
  })
  t.teardown(() => browser.close())
  return browser
}
