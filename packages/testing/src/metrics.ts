/** What scraping needs of a Fastify instance, so this package does not depend on Fastify. */
export interface Injectable {
  inject(options: { url: string, headers: Record<string, string> }): PromiseLike<{ statusCode: number, body: string }>
}

/** The samples of a Prometheus text exposition, keyed as written: `name{a="1",b="2"}` → value. */
export function parseSamples (text: string): Map<string, number> {
  const samples = new Map<string, number>()
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue
    const at = line.lastIndexOf(' ')
    samples.set(line.slice(0, at), Number(line.slice(at + 1)))
  }
  return samples
}

/** The key `parseSamples` gives a metric with these labels, in the order given. */
export function sampleKey (name: string, labels: Record<string, string> = {}): string {
  const parts = Object.entries(labels).map(([label, value]) => `${label}="${value}"`)
  return parts.length === 0 ? name : `${name}{${parts.join(',')}}`
}

/** Scrapes the app's `/metrics` (with the bearer token when given), failing on anything but 200. */
export async function scrapeSamples (app: Injectable, token?: string): Promise<Map<string, number>> {
  const response = await app.inject({
    url: '/metrics',
    headers: token === undefined ? {} : { authorization: `Bearer ${token}` }
  })
  if (response.statusCode !== 200) throw new Error(`/metrics answered ${response.statusCode}: ${response.body}`)
  return parseSamples(response.body)
}
