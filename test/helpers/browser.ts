import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { chromium, type Browser, type Page } from 'playwright-core'
import type { Test } from 'tap'
import { chromiumPath } from './chromium.js'

/** Where page tests save their screenshots (git-ignored with the rest of .tap/). */
export const SCREENSHOT_DIR = join(process.cwd(), '.tap', 'screenshots')

/** Why a browser test cannot run here, or false. */
export const browserSkip = (): string | false =>
  chromiumPath() === undefined ? 'chromium is not installed (apt-get install -y chromium; .ci/run installs it)' : false

/** Debian's Chromium through playwright-core, closed when `t` ends. */
export async function launchBrowser(t: Test): Promise<Browser> {
  const browser = await chromium.launch({ executablePath: chromiumPath()!, args: ['--no-sandbox', '--disable-gpu'] })
  t.teardown(() => browser.close())
  return browser
}

export interface OpenedPage {
  page: Page
  /** Console errors (CSP violations included: Chromium reports them as console errors) and uncaught exceptions. */
  problems: string[]
}

/**
 * A fresh context (own sessionStorage) and page at `url`, collecting everything the page complains
 * about. `expectedErrors` filters console errors the test provokes on purpose (e.g. a 401 that
 * Chromium logs as "Failed to load resource").
 */
export async function openPage(
  browser: Browser,
  url: string,
  options: { viewport?: { width: number; height: number }; expectedErrors?: RegExp } = {},
): Promise<OpenedPage> {
  const context = await browser.newContext({ viewport: options.viewport ?? { width: 1280, height: 900 } })
  const page = await context.newPage()
  page.setDefaultTimeout(60_000)
  const problems: string[] = []
  page.on('console', (message) => {
    if (message.type() !== 'error' && !/Content[- ]Security[- ]Policy/i.test(message.text())) return
    if (options.expectedErrors?.test(message.text())) return
    const where = message.location().url
    problems.push(`console.${message.type()}: ${message.text()}${where ? ` (${where})` : ''}`)
  })
  page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`))
  // Every CSP violation, as a console error (init scripts run outside the page's policy).
  await page.addInitScript({
    content: "document.addEventListener('securitypolicyviolation', (e) => console.error('CSP violation: ' + e.violatedDirective + ' blocked ' + (e.blockedURI || 'inline')))",
  })
  await page.goto(url)
  return { page, problems }
}

/** A full-page screenshot under .tap/screenshots/<name>.png. */
export async function screenshot(page: Page, name: string): Promise<string> {
  await mkdir(SCREENSHOT_DIR, { recursive: true })
  const path = join(SCREENSHOT_DIR, `${name}.png`)
  await page.screenshot({ path, fullPage: true })
  return path
}
