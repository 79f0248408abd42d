import type { AddressInfo } from 'node:net'
import type { Browser, Page } from 'playwright-core'
import t from 'tap'
import { docsPagePolicy } from '../src/plugins/docs-page.js'
import { build, databaseEnv } from './helpers/build.js'
import { launchChromium } from './helpers/chromium.js'

const API_POLICY = "default-src 'none';frame-ancestors 'none'"

interface Document {
  paths: Record<string, Record<string, { summary: string }>>
}

t.test('GET /docs, the API reference page', async (t) => {
  const app = await build(t, await databaseEnv(t, 'docs_page'))
  await app.listen({ host: '127.0.0.1', port: 0 })
  const origin = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
  const document = (await app.inject('/docs/openapi.json')).json() as Document
  const summaries = Object.values(document.paths).flatMap((item) => Object.values(item).map((operation) => operation.summary))

  t.test('is HTML under a policy of its own; every other answer keeps the API\'s', async (t) => {
    const page = await app.inject('/docs')
    t.equal(page.statusCode, 200)
    t.match(page.headers['content-type'], /^text\/html/)
    t.equal(page.headers['content-security-policy'], docsPagePolicy(app.config.PUBLIC_URL))
    t.notMatch(page.body, /https?:\/\//, 'nothing is loaded from another origin')
    for (const url of ['/docs/static/swagger-ui-bundle.js', '/docs/static/swagger-ui.css']) {
      t.equal((await app.inject(url)).statusCode, 200, `${url} is served by the API`)
    }
    for (const url of ['/docs/static/index.html', '/docs/static/missing.js']) {
      const missing = await app.inject(url)
      t.equal(missing.statusCode, 404, `${url} is not served`)
      t.equal(missing.headers['content-type'], 'application/problem+json; charset=utf-8')
      t.equal(missing.json().code, 'route_not_found')
    }
    for (const url of ['/v1/stories', '/docs/openapi.json', '/docs/json', '/docs/static/swagger-ui-bundle.js', '/health/live']) {
      t.equal((await app.inject(url)).headers['content-security-policy'], API_POLICY, url)
    }
  })

  t.test('renders every operation in headless Chromium, with no console error and no policy violation', async (t) => {
    const { page, problems } = await openPage(await launchChromium(t), `${origin}/docs`)
    await page.waitForSelector('.opblock-summary-description', { timeout: 30_000 })
    const shown = await page.$$eval('.opblock-summary-description', (elements) => elements.map((element) => element.textContent))
    t.same([...shown].sort(), [...summaries].sort(), 'every operation\'s summary is on the page')
    const ids = await page.$$eval('.opblock-summary-operation-id', (elements) => elements.map((element) => element.textContent))
    t.ok(ids.includes('createStory'), 'with its operationId')

    // Open an operation: its parameters, responses and the Problem schema render too.
    await page.click('#operations-stories-createStory .opblock-summary')
    await page.waitForSelector('#operations-stories-createStory .responses-table', { timeout: 10_000 })
    const responses = await page.$$eval('#operations-stories-createStory .response-col_status', (elements) => elements.map((element) => element.textContent?.trim()))
    t.ok(responses.includes('201') && responses.includes('429') && responses.includes('415'), `its responses: ${responses.join(', ')}`)
    t.same(problems, [], 'no console errors, failed requests or policy violations')
  })

  t.test('the check sees a violation: under the API\'s own policy the page renders nothing', async (t) => {
    const browser = await launchChromium(t)
    const { page, problems } = await openPage(browser, `${origin}/docs`, API_POLICY)
    await page.waitForTimeout(1000)
    t.equal(await page.$$eval('.opblock-summary-description', (elements) => elements.length), 0)
    t.ok(problems.some((problem) => /CSP violation: script-src/.test(problem)), 'the blocked scripts are reported', { problems })
  })
})

/**
 * `url` in a new page, with what goes wrong collected in `problems`; `policy` replaces the
 * page's Content-Security-Policy when given.
 */
async function openPage (browser: Browser, url: string, policy?: string): Promise<{ page: Page, problems: string[] }> {
  const page = await browser.newPage()
  const problems: string[] = []
  const origin = new URL(url).origin
  page.on('console', (message) => { if (message.type() === 'error' || message.type() === 'warning') problems.push(`console ${message.type()}: ${message.text()}`) })
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`))
  page.on('requestfailed', (request) => problems.push(`request failed: ${request.url()} ${request.failure()?.errorText ?? ''}`))
  page.on('request', (request) => { if (!request.url().startsWith(origin) && !request.url().startsWith('data:')) problems.push(`request to another origin: ${request.url()}`) })
  // Injected over the DevTools protocol, so the page's own policy does not apply to it.
  await page.addInitScript({
    content: "document.addEventListener('securitypolicyviolation', (event) => console.error('CSP violation: ' + event.effectiveDirective + ' ' + event.blockedURI))"
  })
  if (policy !== undefined) {
    await page.route(url, async (route) => {
      const response = await route.fetch()
      await route.fulfill({ response, headers: { ...response.headers(), 'content-security-policy': policy } })
    })
  }
  const answer = await page.goto(url)
  if (answer?.status() !== 200) problems.push(`${url} answered ${answer?.status()}`)
  return { page, problems }
}
