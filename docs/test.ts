// npm run docs:test: after the build, checks that no internal link of the built
// site is broken, then opens every page in headless Chromium (Debian's chromium,
// driven by playwright-core) and checks that it renders its title, and its code
// blocks on recipe pages, without console errors.
import { createServer, type Server } from 'node:http'
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs'
import { extname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium } from 'playwright-core'

const dist = fileURLToPath(new URL('./.vitepress/dist/', import.meta.url))
if (!existsSync(join(dist, 'index.html'))) throw new Error('docs:test: build the site first (npm run docs:build)')

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => { const p = join(dir, n); return statSync(p).isDirectory() ? walk(p) : [p] })
}
const pages = walk(dist).filter((f) => f.endsWith('.html') && !f.endsWith('404.html'))

/** The file a site path resolves to (clean URLs: /a/b -> a/b.html or a/b/index.html). */
function target(path: string): string | undefined {
  const clean = decodeURIComponent(path.split('#')[0]?.split('?')[0] ?? '')
  const base = join(dist, clean)
  for (const c of [base, `${base}.html`, join(base, 'index.html')]) if (existsSync(c) && statSync(c).isFile()) return c
  return undefined
}

const broken: string[] = []
for (const page of pages) {
  const html = readFileSync(page, 'utf8')
  const here = `/${relative(dist, page).replace(/(index)?\.html$/, '')}`
  for (const [, href] of html.matchAll(/<a [^>]*href="([^"]+)"/g)) {
    if (href === undefined || /^(https?:|mailto:|#)/.test(href)) continue
    const abs = href.startsWith('/') ? href : new URL(href, `http://x${here}`).pathname
    if (target(abs) === undefined) broken.push(`${relative(dist, page)} -> ${href}`)
  }
}
if (broken.length > 0) {
  console.error(`docs:test: ${broken.length} broken internal links:\n  ${broken.slice(0, 30).join('\n  ')}`)
  process.exit(1)
}
console.log(`docs:test: ${pages.length} pages, no broken internal link`)

const types: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.json': 'application/json', '.svg': 'image/svg+xml', '.woff2': 'font/woff2' }
const server: Server = createServer((req, res) => {
  const file = target(req.url ?? '/')
  if (file === undefined) { res.writeHead(404); res.end(); return }
  res.writeHead(200, { 'content-type': types[extname(file)] ?? 'application/octet-stream' })
  res.end(readFileSync(file))
})
await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
const port = (server.address() as { port: number }).port
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
})
const failures: string[] = []
try {
  const page = await browser.newPage()
  const errors: string[] = []
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()) })
  page.on('pageerror', (e) => errors.push(e.message))
  page.on('response', (r) => { if (r.status() >= 400) errors.push(`${r.status()} for ${r.url()}`) })
  for (const file of pages.sort()) {
    const path = `/${relative(dist, file).replace(/\.html$/, '').replace(/(^|\/)index$/, '$1')}`
    errors.length = 0
    await page.goto(`http://127.0.0.1:${port}${path}`, { waitUntil: 'networkidle' })
    const title = (await page.locator('h1').first().textContent({ timeout: 5000 }).catch(() => null))?.trim()
    const isHome = path === '/'
    const hero = isHome ? await page.locator('.VPHero .name').first().textContent().catch(() => null) : null
    if (!title && !hero) failures.push(`${path}: no title rendered`)
    if (path.startsWith('/recipes/') && (await page.locator('div[class*="language-"] pre code').count()) === 0) failures.push(`${path}: no code block rendered`)
    if (errors.length > 0) failures.push(`${path}: console errors: ${errors.join(' | ')}`)
  }
} finally {
  await browser.close()
  server.close()
}
if (failures.length > 0) {
  console.error(`docs:test: ${failures.length} pages failed:\n  ${failures.join('\n  ')}`)
  process.exit(1)
}
console.log(`docs:test: ${pages.length} pages rendered in Chromium with their titles and code blocks, no console errors`)
