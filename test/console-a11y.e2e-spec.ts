/**
 * The console's shell in a real browser, at a desktop and a phone width: every page passes axe-core
 * (no serious or critical WCAG A/AA violation), has one <h1> that takes the focus after navigation,
 * a skip link to the main content, a failed sign-in's error takes the focus, nothing widens the page
 * beyond a phone's screen, and the header stays compact and opaque.
 * Screenshots go to .tmp/console-screenshots/ (git-ignored); UPDATE_DOCS_SCREENSHOTS=1 also writes
 * the ones the README shows (docs/*.png).
 */
import { mkdirSync } from 'node:fs';
import * as path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import {
  DESKTOP,
  expectAccessible,
  expectWatchedClean,
  launchBrowser,
  openWatchedPage,
  PHONE,
  signIn,
  startConsoleApp,
  type ConsoleApp,
  type WatchedPage,
} from './support/browser';
import { apiKey, bearer, call, createUser, login } from './support/http';
import { ADMIN, databaseForFile } from './support/test-app';

jest.setTimeout(120_000);

const ROOT = path.resolve(__dirname, '..');
const SCREENSHOTS = path.join(ROOT, '.tmp', 'console-screenshots');
const DOCS_SCREENSHOTS = process.env.UPDATE_DOCS_SCREENSHOTS === '1';
// Alerts last: the console opens on it, and only a change of page moves the focus.
const PAGES = ['keys', 'users', 'audit', 'sessions', 'account', 'security', 'alerts'] as const;
const SEVERITIES = ['critical', 'high', 'medium', 'low'] as const;
const STATUSES = ['open', 'acknowledged', 'resolved'] as const;

describe('SOC console shell: accessibility and narrow screens', () => {
  let db: Awaited<ReturnType<typeof databaseForFile>>;
  let server: ConsoleApp;
  let browser: Browser;
  const opened: WatchedPage[] = [];

  beforeAll(async () => {
    mkdirSync(SCREENSHOTS, { recursive: true });
    db = await databaseForFile();
    const launching = launchBrowser();
    server = await startConsoleApp(db, { LOGIN_MAX_PER_IP: '500', LOGIN_MAX_FAILURES_PER_USER: '50' });
    browser = await launching;
    const adminToken = await login(server.origin, ADMIN.username, ADMIN.password);
    await createUser(server.origin, adminToken, 'analyst@a11y.test', 'analyst', 'analyst-password-123');
    const key = await call(server.origin, 'POST', '/api/v1/auth/api-keys', {
      headers: bearer(adminToken),
      body: { service_name: 'a11y-ingest-with-a-long-service-name' },
    });
    expect(key.status).toBe(201);
    // Every severity and status on screen, and titles long enough to wrap on a phone.
    for (let i = 0; i < 12; i++) {
      const created = await call(server.origin, 'POST', '/api/v1/alerts', {
        headers: apiKey(key.body.api_key as string),
        body: {
          title: `Suspicious PowerShell download cradle on host WS-${1000 + i} (encoded command, parent winword.exe)`,
          severity: SEVERITIES[i % 4],
          source: 'edr-crowdstrike-falcon',
          description: 'Encoded command line fetched a second stage from a newly registered domain.',
        },
      });
      expect(created.status).toBe(201);
      const status = STATUSES[i % 3];
      if (status !== 'open') {
        const patched = await call(server.origin, 'PATCH', `/api/v1/alerts/${created.body.id as string}`, { headers: bearer(adminToken), body: { status } });
        expect(patched.status).toBe(200);
      }
    }
  });

  afterAll(async () => {
    for (const watched of opened) await watched.context.close().catch(() => undefined);
    await browser?.close();
    await server?.close();
    await db?.drop();
  });

  afterEach(() => expectWatchedClean(opened));

  async function open(viewport: { width: number; height: number }): Promise<Page> {
    const watched = await openWatchedPage(browser, server.origin, viewport);
    opened.push(watched);
    return watched.page;
  }

  const shot = (page: Page, name: string) => page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`) });

  /** Whether the focused element is the visible page's <h1>. */
  const focusIsOnHeading = (page: Page, view: string) =>
    page.evaluate((name) => {
      const focused = document.activeElement;
      return focused?.tagName === 'H1' && focused.closest(`[data-view="${name}"]`) !== null;
    }, view);

  /** Nothing makes the document wider than the viewport (tables scroll or become cards inside). */
  const pageWidth = (page: Page) => page.evaluate(() => document.scrollingElement?.scrollWidth ?? 0);

  for (const viewport of [DESKTOP, PHONE]) {
    const width = `${viewport.width} px`;

    it(`sign-in at ${width}: landmarks, axe clean, a failed sign-in moves the focus to its error`, async () => {
      const page = await open(viewport);
      await page.locator('#signin-view').waitFor({ state: 'visible' });
      expect(await page.locator('main#signin-view h1:visible').count()).toBe(1);
      await expectAccessible(page, `sign-in ${width}`);
      await signIn(page, ADMIN.username, 'not-the-password-at-all');
      const error = page.locator('#signin-message');
      await error.waitFor({ state: 'visible' });
      await page.waitForFunction(() => document.activeElement?.id === 'signin-message');
      await expectAccessible(page, `sign-in error ${width}`);
      expect(await pageWidth(page)).toBeLessThanOrEqual(viewport.width);
    });

    it(`every page at ${width}: one <h1> focused after navigation, a skip link, axe clean, no sideways page`, async () => {
      const page = await open(viewport);
      await signIn(page, ADMIN.username, ADMIN.password);
      await page.locator('#view-alerts').waitFor({ state: 'visible' });
      await page.locator('#alerts-body tr').first().waitFor();

      // Signing in moved the focus to the first page's heading.
      expect(await focusIsOnHeading(page, 'alerts')).toBe(true);

      // Loaded with a session, the skip link is the first thing the keyboard reaches and it lands
      // on the main content.
      await page.reload();
      await page.locator('#view-alerts').waitFor({ state: 'visible' });
      await page.keyboard.press('Tab');
      expect(await page.evaluate(() => document.activeElement?.getAttribute('href'))).toBe('#main');
      expect(await page.locator('.skip-link').isVisible()).toBe(true);
      await page.keyboard.press('Enter');
      expect(await page.evaluate(() => document.activeElement?.id)).toBe('main');

      for (const view of PAGES) {
        await page.goto(`${server.origin}/#/${view}`);
        const section = page.locator(`#view-${view}`);
        await section.waitFor({ state: 'visible' });
        await page.waitForFunction((name) => {
          const focused = document.activeElement;
          return focused?.tagName === 'H1' && focused.closest(`[data-view="${name}"]`) !== null;
        }, view);
        expect(await focusIsOnHeading(page, view)).toBe(true);
        expect(await page.locator('h1:visible').count()).toBe(1);
        await page.waitForLoadState('networkidle');
        await expectAccessible(page, `${view} ${width}`);
        expect(await pageWidth(page)).toBeLessThanOrEqual(viewport.width);
        await shot(page, `a11y-${view}-${viewport.width}`);
        if (DOCS_SCREENSHOTS && view === 'alerts' && viewport.width === PHONE.width)
          await page.screenshot({ path: path.join(ROOT, 'docs', 'console-phone-alerts.png') });
      }

      // Navigating by the menu moves the focus too (not only a hash typed in the address bar).
      if (viewport.width === PHONE.width && (await page.locator('#nav-toggle').isVisible())) await page.click('#nav-toggle');
      await page.click('#nav a[data-view="sessions"]');
      await page.waitForFunction(() => document.activeElement?.tagName === 'H1' && document.activeElement.closest('[data-view="sessions"]') !== null);
    });

    it(`the header at ${width} is compact and opaque`, async () => {
      const page = await open(viewport);
      await signIn(page, ADMIN.username, ADMIN.password);
      await page.locator('#view-alerts').waitFor({ state: 'visible' });
      const header = await page.evaluate(() => {
        const element = document.querySelector('header.topbar') as HTMLElement;
        const style = getComputedStyle(element);
        return { height: element.getBoundingClientRect().height, background: style.backgroundColor, position: style.position };
      });
      expect(header.background).toMatch(/^rgb\(/); // rgba(…, a < 1) would let the rows show through
      expect(header.height).toBeLessThanOrEqual(viewport.width < 700 ? 64 : 72);
    });
  }

  it('at 390 px alert rows are cards: the title is readable and the row actions are on screen', async () => {
    const page = await open(PHONE);
    await signIn(page, 'analyst@a11y.test', 'analyst-password-123');
    const row = page.locator('#alerts-body tr').first();
    await row.waitFor();
    const layout = await row.evaluate((element) => {
      const title = element.querySelector('td[data-label="Title"]') as HTMLElement;
      const buttons = [...element.querySelectorAll('button')].map((button) => button.getBoundingClientRect());
      return {
        titleWidth: title.getBoundingClientRect().width,
        buttonsInside: buttons.every((rect) => rect.left >= 0 && rect.right <= window.innerWidth),
        buttons: buttons.length,
      };
    });
    expect(layout.titleWidth).toBeGreaterThan(250);
    expect(layout.buttons).toBeGreaterThan(0);
    expect(layout.buttonsInside).toBe(true);
  });
});
