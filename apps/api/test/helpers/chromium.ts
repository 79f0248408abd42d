import { accessSync, constants } from 'node:fs'
import { chromium, type Browser } from 'playwright-core'

interface Test {
  teardown(fn: () => unknown): void
}

/** Debian's `chromium` package, or CHROMIUM_BIN (the override scripts/test-setup.sh honours too). */
export function chromiumPath (): string {
  return process.env.CHROMIUM_BIN ?? '/usr/bin/chromium'
}

/**
 * Headless Chromium, driven over the DevTools protocol, closed at teardown. Throws, saying how
 * to install it, when it is missing: the docs page is tested in a real browser or not at all.
 */
export async function launchChromium (t: Test): Promise<Browser> {
  const executablePath = chromiumPath()
  try {
    accessSync(executablePath, constants.X_OK)
  } catch {
    throw new Error(`Chromium not found at ${executablePath}: the docs page is tested in headless Chromium. ` +
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
