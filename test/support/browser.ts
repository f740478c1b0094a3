/**
 * What the console's browser tests share: Debian's headless Chromium (playwright-core), the real
 * app on a port known in advance (the browser's origin must be in ALLOWED_ORIGINS), pages watched
 * for CSP violations, page errors and native dialogs, and an axe-core accessibility check.
 * (`scripts/ensure-chromium.sh` installs /usr/bin/chromium when it is missing.)
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { AxeResults, Result } from 'axe-core';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { freePort } from './server-process';
import { startTestApp } from './test-app';

export const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** The two widths every console page is checked at: a desktop and a phone. */
export const DESKTOP = { width: 1440, height: 900 };
export const PHONE = { width: 390, height: 844 };

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
}

export interface ConsoleApp {
  origin: string;
  port: number;
  close(): Promise<void>;
}

/** The real app (app.setup.ts) on a known port (a fresh one unless fixedPort), its origin allowed. */
export async function startConsoleApp(database: { url?: string; dataDir?: string }, env: Record<string, string> = {}, fixedPort?: number): Promise<ConsoleApp> {
  for (let attempt = 1; ; attempt++) {
    const port = fixedPort ?? (await freePort());
    const origin = `http://127.0.0.1:${port}`;
    try {
      const t = await startTestApp({ PORT: String(port), ALLOWED_ORIGINS: origin, ...env }, database);
      return { origin, port, close: () => t.close() };
    } catch (error) {
      // Someone took the port between freePort() and listen(): pick another.
      if (fixedPort === undefined && attempt < 3 && (error as NodeJS.ErrnoException).code === 'EADDRINUSE') continue;
      throw error;
    }
  }
}

export interface WatchedPage {
  page: Page;
  context: BrowserContext;
  cspViolations: string[];
  pageErrors: string[];
  /** Native alert/confirm/prompt dialogs: the console never uses them, so any is a failure. */
  dialogs: string[];
}

/** A fresh browser context at the given viewport, opened on the console, with everything watched. */
export async function openWatchedPage(
  browser: Browser,
  origin: string,
  viewport: { width: number; height: number } = DESKTOP,
  options: { userAgent?: string } = {},
): Promise<WatchedPage> {
  const context = await browser.newContext({ viewport, userAgent: options.userAgent });
  const page = await context.newPage();
  page.setDefaultTimeout(10_000);
  const watched: WatchedPage = { page, context, cspViolations: [], pageErrors: [], dialogs: [] };
  page.on('console', (msg) => {
    if (msg.text().includes('Content Security Policy')) watched.cspViolations.push(msg.text());
  });
  page.on('pageerror', (error) => watched.pageErrors.push(String(error)));
  page.on('dialog', (dialog) => {
    watched.dialogs.push(`${dialog.type()}: ${dialog.message()}`);
    void dialog.dismiss();
  });
  // A violation report reaches the page as an event even when the console stays quiet.
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (event) =>
      console.error(`Content Security Policy violation: ${event.violatedDirective} ${event.blockedURI}`),
    );
  });
  await page.goto(`${origin}/`);
  return watched;
}

/** Expects nothing went wrong on the watched pages (call in afterEach). */
export function expectWatchedClean(pages: WatchedPage[]): void {
  for (const watched of pages) {
    expect(watched.cspViolations).toEqual([]);
    expect(watched.pageErrors).toEqual([]);
    expect(watched.dialogs).toEqual([]);
  }
}

/** Fills and submits the password sign-in form (waits for it first). */
export async function signIn(page: Page, username: string, password: string): Promise<void> {
  await page.locator('#signin-view').waitFor({ state: 'visible' });
  await page.fill('#signin-username', username);
  await page.fill('#signin-password', password);
  await page.click('#signin-submit');
}

const AXE_SOURCE = readFileSync(path.join(path.dirname(require.resolve('axe-core')), 'axe.min.js'), 'utf8');

/** One line per violation node: rule, impact, where, and axe's own summary of what to fix. */
function describeViolations(violations: Result[]): string[] {
  return violations.flatMap((violation) =>
    violation.nodes.map((node) => `${violation.id} (${violation.impact}) at ${node.target.join(' ')}: ${node.failureSummary ?? violation.help}`),
  );
}

/**
 * Runs axe-core (WCAG 2.x A and AA rules) on what the page shows now and fails on any serious or
 * critical violation, listing each. axe is evaluated through DevTools, which the page's CSP does
 * not govern, so the console keeps its strict policy during the check.
 */
export async function expectAccessible(page: Page, label: string): Promise<void> {
  const loaded = await page.evaluate(() => typeof (window as unknown as { axe?: unknown }).axe !== 'undefined');
  if (!loaded) await page.evaluate(AXE_SOURCE);
  const results = await page.evaluate(async () =>
    (window as unknown as { axe: { run(context: Document, options: object): Promise<AxeResults> } }).axe.run(document, {
      runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] },
      resultTypes: ['violations'],
    }),
  );
  const serious = results.violations.filter((violation) => violation.impact === 'serious' || violation.impact === 'critical');
  expect({ page: label, violations: describeViolations(serious) }).toEqual({ page: label, violations: [] });
}
