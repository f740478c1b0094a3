/**
 * The live alerts page in Debian's Chromium, with 265 alerts: a list driven by the server
 * (filters, search, time range, sort, "load older", true counts from /alerts/summary), its state in
 * the URL, live frames, the detail flyout (notes, history, assignment), bulk triage, the tab title
 * while hidden, the quick reconnect after a restart, phones (390 px: rows as cards) and axe-core.
 */
import { mkdirSync } from 'node:fs';
import * as path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { apiKey, bearer, call, createUser, login, type Json } from './support/http';
import { ADMIN, databaseForFile } from './support/test-app';
import {
  type ConsoleApp,
  DESKTOP,
  expectAccessible,
  expectWatchedClean,
  launchBrowser,
  openWatchedPage,
  PHONE,
  signIn,
  startConsoleApp,
  type WatchedPage,
} from './support/browser';

jest.setTimeout(120_000);

const APP_ENV = { LOGIN_MAX_PER_IP: '200' };
const ANALYST = { username: 'analyst@alerts.test', password: 'analyst-password-123' };
const VIEWER = { username: 'viewer@alerts.test', password: 'viewer-password-123' };
const SEVERITIES = ['critical', 'high', 'medium', 'low'] as const;
const SEEDED = 260;
const LATE = 5;
const WORDS = ['phishing', 'malware', 'bruteforce', 'exfiltration', 'beacon'];
/** Screenshots go to .tmp/console-screenshots/ (git-ignored). */
const SCREENSHOTS = path.join(path.resolve(__dirname, '..'), '.tmp', 'console-screenshots');
const shot = (page: Page, name: string) => page.screenshot({ path: path.join(SCREENSHOTS, `alerts-${name}.png`) });
/** UPDATE_DOCS_SCREENSHOTS=1 also writes the README's picture of the page (docs/console-live-alerts.png). */
const DOCS_SCREENSHOTS = process.env.UPDATE_DOCS_SCREENSHOTS === '1';

interface Alert {
  id: string;
  title: string;
  severity: string;
  status: string;
  assignee: string | null;
  created_at: string;
}

describe('Live alerts page (server-driven list, flyout, bulk, phones)', () => {
  let db: Awaited<ReturnType<typeof databaseForFile>>;
  let server: ConsoleApp;
  let browser: Browser;
  let adminToken: string;
  let key: string;
  let lateSince: string;
  const pages: WatchedPage[] = [];
  let desktop: Page;

  const api = (method: string, path: string, body?: unknown) => call(server.origin, method, `/api/v1${path}`, { headers: bearer(adminToken), body });
  const postAlert = async (body: Json): Promise<Alert> => {
    const reply = await call(server.origin, 'POST', '/api/v1/alerts', { headers: apiKey(key), body });
    expect(reply.status).toBe(201);
    return reply.body as Alert;
  };
  const rowIds = (page: Page) => page.$$eval('#alerts-body tr[data-id]', (rows) => rows.map((row) => (row as HTMLElement).dataset.id));
  const rowCount = (page: Page, n: number) =>
    page.waitForFunction(
      (count) =>
        document.querySelectorAll('#alerts-body tr[data-id]').length === count &&
        document.querySelector('#alerts-table')?.getAttribute('aria-busy') === 'false',
      n,
    );
  const hashParams = (page: Page) => page.evaluate(() => Object.fromEntries(new URLSearchParams(location.hash.split('?')[1] ?? '')));
  const listLoaded = (page: Page) => page.waitForFunction(() => document.querySelector('#alerts-table')?.getAttribute('aria-busy') === 'false');

  async function openConsole(viewport: { width: number; height: number }, user: { username: string; password: string }, hash = ''): Promise<Page> {
    const watched = await openWatchedPage(browser, server.origin, viewport);
    pages.push(watched);
    const { page } = watched;
    if (hash) await page.evaluate((h) => (location.hash = h), hash);
    await signIn(page, user.username, user.password);
    await page.locator('#view-alerts').waitFor({ state: 'visible' });
    await page.locator('#conn-state[data-state="live"]').waitFor();
    await listLoaded(page);
    return page;
  }

  /** The chips show the true counts: GET /alerts/summary over the same (here: whole) range. */
  async function expectChipsMatchSummary(page: Page): Promise<void> {
    const summary = (await api('GET', '/alerts/summary')).body;
    const expected = Object.fromEntries(SEVERITIES.map((severity) => [severity, String(summary.by_severity[severity].open)]));
    const open = SEVERITIES.reduce((sum, severity) => sum + Number(summary.by_severity[severity].open), 0);
    await page.waitForFunction(
      ({ want, total, open }) => {
        const text = (selector: string) => document.querySelector(`#severity-summary ${selector} .chip-count`)?.textContent;
        return (
          Object.entries(want).every(([severity, count]) => text(`.chip[data-severity="${severity}"]`) === count) &&
          text('[data-total="all"]') === String(total) &&
          text('[data-total="open"]') === String(open)
        );
      },
      { want: expected, total: summary.total, open },
    );
  }

  beforeAll(async () => {
    mkdirSync(SCREENSHOTS, { recursive: true });
    db = await databaseForFile();
    const launching = launchBrowser();
    server = await startConsoleApp(db, APP_ENV);
    browser = await launching;
    adminToken = await login(server.origin, ADMIN.username, ADMIN.password);
    await createUser(server.origin, adminToken, ANALYST.username, 'analyst', ANALYST.password);
    await createUser(server.origin, adminToken, VIEWER.username, 'viewer', VIEWER.password);
    const created = await api('POST', '/auth/api-keys', { service_name: 'alerts-seed' });
    expect(created.status).toBe(201);
    key = created.body.api_key;

    // 260 alerts, uneven across severities (so that no count is a round page size), 8 about ransomware.
    const seeded: Alert[] = [];
    for (let start = 0; start < SEEDED; start += 20) {
      const batch = await Promise.all(
        Array.from({ length: Math.min(20, SEEDED - start) }, (_, k) => {
          const i = start + k;
          const severity = SEVERITIES[i % 7 === 0 ? 0 : i % 4];
          return postAlert({
            title: `Seed ${String(i).padStart(3, '0')} ${WORDS[i % WORDS.length]}`,
            severity,
            source: i % 3 === 0 ? 'edr' : 'ids',
            description: i % 33 === 5 ? `Encrypted shares: ransomware note found (${i})` : `routine ${i}`,
          });
        }),
      );
      seeded.push(...batch);
    }
    // Some triaged already: the open counts differ from the totals.
    const acknowledge = seeded.filter((_, i) => i % 5 === 1).map((alert) => alert.id);
    expect((await api('PATCH', '/alerts', { ids: acknowledge, status: 'acknowledged' })).status).toBe(200);
    const resolve = seeded.filter((_, i) => i % 9 === 2).map((alert) => alert.id);
    expect((await api('PATCH', '/alerts', { ids: resolve, status: 'resolved' })).status).toBe(200);
    // The time range test: alerts created after this instant.
    await new Promise((resolve) => setTimeout(resolve, 30));
    lateSince = new Date().toISOString();
    await new Promise((resolve) => setTimeout(resolve, 30));
    for (let i = 0; i < LATE; i++) await postAlert({ title: `Late ${i}`, severity: 'medium', source: 'late' });
  });

  afterAll(async () => {
    for (const watched of pages) await watched.context.close().catch(() => undefined);
    await browser?.close();
    await server?.close();
    await db?.drop();
  });

  afterEach(() => expectWatchedClean(pages));

  it('at 1440 px: true counts in the chips, the first page, and "load older" reaching every alert', async () => {
    desktop = await openConsole(DESKTOP, ADMIN);
    const page = desktop;
    await rowCount(page, 100);
    await expectChipsMatchSummary(page);
    const summary = (await api('GET', '/alerts/summary')).body;
    expect(summary.total).toBe(SEEDED + LATE);
    // Not capped at a page: some open count is above what any page of 50 could show.
    expect(Math.max(...SEVERITIES.map((severity) => summary.by_severity[severity].open))).toBeGreaterThan(50);
    expect(await page.textContent('#alerts-count')).toBe(`Showing 100 of ${SEEDED + LATE} alerts.`);
    const newest = (await api('GET', '/alerts?limit=100')).body.map((alert: Alert) => alert.id);
    expect(await rowIds(page)).toEqual(newest);
    expect(await page.isVisible('#alerts-filters-toggle')).toBe(false);
    await expectAccessible(page, 'alerts 1440');
    await shot(page, '1440-list');

    await page.click('#alerts-more');
    await rowCount(page, 200);
    await page.click('#alerts-more');
    await rowCount(page, SEEDED + LATE);
    expect(await page.isHidden('#alerts-more')).toBe(true);
    const all = await rowIds(page);
    expect(new Set(all).size).toBe(SEEDED + LATE);
    const oldest = (await api('GET', '/alerts?sort=oldest&limit=1')).body[0];
    expect(all[all.length - 1]).toBe(oldest.id);
  });

  it('filters on the server, keeps the state in the URL across reload and back, searches, sorts and takes a time range', async () => {
    const page = desktop;
    // Chip: the open critical alerts, all of them (more than 50), from the server.
    await page.click('#severity-summary .chip[data-severity="critical"]');
    const criticalOpen = (await api('GET', '/alerts?status=open&severity=critical&limit=200')).body as Alert[];
    expect(criticalOpen.length).toBeGreaterThan(50);
    await rowCount(page, criticalOpen.length);
    expect(await rowIds(page)).toEqual(criticalOpen.map((alert) => alert.id));
    expect(await hashParams(page)).toEqual({ status: 'open', severity: 'critical' });
    expect(await page.getAttribute('#severity-summary .chip[data-severity="critical"]', 'aria-pressed')).toBe('true');

    // Reload: the same filters, the same rows.
    await page.reload();
    await page.locator('#conn-state[data-state="live"]').waitFor();
    await rowCount(page, criticalOpen.length);
    expect(await page.inputValue('#alerts-filter-status')).toBe('open');
    expect(await page.inputValue('#alerts-filter-severity')).toBe('critical');

    // Search (debounced) on top of the status filter; the URL follows.
    await page.selectOption('#alerts-filter-severity', '');
    await listLoaded(page);
    await page.fill('#alerts-search', 'RANSOMWARE');
    const ransom = (await api('GET', '/alerts?status=open&q=ransomware')).body as Alert[];
    expect(ransom.length).toBeGreaterThan(0);
    await page.waitForFunction(() => new URLSearchParams(location.hash.split('?')[1]).get('q') === 'RANSOMWARE');
    await rowCount(page, ransom.length);
    expect((await rowIds(page)).sort()).toEqual(ransom.map((alert) => alert.id).sort());

    // Back: the search goes, the critical filter comes back (it was its own history entry).
    await page.goBack();
    await page.waitForFunction(() => !location.hash.includes('q='));
    await listLoaded(page);
    expect(await page.inputValue('#alerts-filter-severity')).toBe('critical');
    expect(await page.inputValue('#alerts-search')).toBe('');
    await rowCount(page, criticalOpen.length);

    // Sort: oldest first, then by severity.
    await page.click('#alerts-clear');
    await rowCount(page, 100);
    await page.selectOption('#alerts-sort', 'oldest');
    await listLoaded(page);
    const oldest = (await api('GET', '/alerts?sort=oldest&limit=100')).body.map((alert: Alert) => alert.id);
    await page.waitForFunction((first) => document.querySelector('#alerts-body tr[data-id]')?.getAttribute('data-id') === first, oldest[0]);
    expect(await rowIds(page)).toEqual(oldest);
    await page.selectOption('#alerts-sort', 'severity');
    await listLoaded(page);
    const bySeverity = (await api('GET', '/alerts?sort=severity&limit=100')).body.map((alert: Alert) => alert.id);
    await page.waitForFunction((first) => document.querySelector('#alerts-body tr[data-id]')?.getAttribute('data-id') === first, bySeverity[0]);
    expect(await rowIds(page)).toEqual(bySeverity);
    await page.click('#alerts-more');
    await rowCount(page, 200);
    const second = (await api('GET', `/alerts?sort=severity&limit=100&before=${bySeverity[99]}`)).body.map((alert: Alert) => alert.id);
    expect((await rowIds(page)).slice(100)).toEqual(second);

    // Time range: a custom range from the URL (only the late alerts), then a preset.
    await page.evaluate((since) => (location.hash = `#/alerts?since=${encodeURIComponent(since)}`), lateSince);
    await rowCount(page, LATE);
    expect(await page.inputValue('#alerts-range')).toBe('custom');
    expect(await page.isVisible('#alerts-since')).toBe(true);
    await page.selectOption('#alerts-range', '1h');
    await rowCount(page, 100);
    expect((await hashParams(page)).range).toBe('1h');
    await page.selectOption('#alerts-range', '');
    await listLoaded(page);
  });

  it('inserts a live alert that matches the filters at the top, and not one that does not', async () => {
    const page = desktop;
    await page.selectOption('#alerts-filter-severity', 'high');
    await listLoaded(page);
    const low = await postAlert({ title: 'Live low one', severity: 'low', source: 'edr' });
    const high = await postAlert({ title: 'Live high one', severity: 'high', source: 'edr' });
    await page.waitForFunction((id) => document.querySelector('#alerts-body tr[data-id]')?.getAttribute('data-id') === id, high.id);
    expect(await page.locator(`#alerts-body tr[data-id="${low.id}"]`).count()).toBe(0);
    await page.selectOption('#alerts-filter-severity', '');
    // Without the filter: both, newest first.
    await page.waitForFunction(
      ([h, l]) =>
        [...document.querySelectorAll('#alerts-body tr[data-id]')]
          .slice(0, 2)
          .map((row) => row.getAttribute('data-id'))
          .join() === `${h},${l}`,
      [high.id, low.id],
    );

    // Acknowledge from the keyboard: the row is redrawn, the focus stays on it (its Resolve).
    const lowRow = page.locator(`#alerts-body tr[data-id="${low.id}"]`);
    await lowRow.locator('button[data-action="acknowledged"]').focus();
    await page.keyboard.press('Enter');
    await lowRow.locator('.alert-status:text-is("acknowledged")').waitFor();
    expect(
      await page.evaluate(() => [(document.activeElement as HTMLElement).closest('tr')?.dataset.id, (document.activeElement as HTMLElement).dataset.action]),
    ).toEqual([low.id, 'resolved']);
  });

  it('opens the detail flyout: notes, history after acknowledging, assign to me; Escape returns the focus to the row', async () => {
    const page = desktop;
    const target = await postAlert({
      title: '<img src=x onerror=alert(1)> flyout',
      severity: 'critical',
      source: 'edr',
      description: 'line one\n<b>not bold</b>',
    });
    const row = page.locator(`#alerts-body tr[data-id="${target.id}"]`);
    await row.waitFor();
    expect(await row.locator('a.details').getAttribute('aria-label')).toBe(`Details of alert: ${target.title}`);
    expect(await row.locator('button[data-action="acknowledged"]').getAttribute('aria-label')).toBe(`Acknowledge alert: ${target.title}`);
    await row.locator('td.title').click();
    const flyout = page.locator('#alert-detail');
    await flyout.waitFor({ state: 'visible' });
    await page.locator('#alert-detail[data-state="loaded"]').waitFor();
    expect(await page.textContent('#alert-detail-title')).toBe(target.title);
    expect(await page.textContent('#alert-detail-description')).toBe('line one\n<b>not bold</b>');
    expect(await page.locator('#alert-detail img, #alert-detail b').count()).toBe(0);
    expect(await page.evaluate(() => document.querySelector('#alert-detail')?.contains(document.activeElement))).toBe(true);
    expect((await hashParams(page)).alert).toBe(target.id);

    await page.fill('#alert-note-text', 'Isolated the host; <script>no</script> reimage tomorrow.');
    await page.click('#alert-note-submit');
    await page.locator('#alert-notes li .note-text:text-is("Isolated the host; <script>no</script> reimage tomorrow.")').waitFor();
    expect(await page.textContent('#alert-notes li .note-author')).toBe(ADMIN.username);

    await page.click('#alert-detail-status-buttons button[data-action="acknowledged"]');
    await page.locator('#alert-history li[data-field="status"]').waitFor();
    const entry = page.locator('#alert-history li[data-field="status"]').first();
    expect(await entry.locator('.history-actor').textContent()).toBe(ADMIN.username);
    expect(await entry.locator('.history-from').textContent()).toBe('open');
    expect(await entry.locator('.history-to').textContent()).toBe('acknowledged');
    await row.locator('.alert-status:text-is("acknowledged")').waitFor();
    // The button pressed is gone (redrawn): the keyboard stays in the panel, on the next status.
    await page.waitForFunction(() => (document.activeElement as HTMLElement | null)?.dataset.action === 'resolved');
    expect(await page.evaluate(() => document.querySelector('#alert-detail')?.contains(document.activeElement))).toBe(true);

    await page.fill('#alert-detail-assignee-input', ANALYST.username);
    await page.click('#alert-detail-assign-submit');
    await page.locator(`#alert-detail-assignee:text-is("${ANALYST.username}")`).waitFor();
    await page.click('#alert-detail-assign-me');
    await page.locator(`#alert-detail-assignee:text-is("${ADMIN.username}")`).waitFor();
    await page.locator(`#alert-history li[data-field="assignee"] .history-to:text-is("${ADMIN.username}")`).waitFor();
    expect(await page.locator(`#alert-history li[data-field="assignee"] .history-to:text-is("${ANALYST.username}")`).count()).toBe(1);
    await row.locator(`td.assignee:text-is("${ADMIN.username}")`).waitFor();
    const stored = (await api('GET', `/alerts/${target.id}`)).body;
    expect(stored.assignee).toBe(ADMIN.username);
    expect(stored.status).toBe('acknowledged');
    expect(stored.notes).toHaveLength(1);

    // A change made elsewhere shows in the open flyout.
    await call(server.origin, 'PATCH', `/api/v1/alerts/${target.id}`, { headers: apiKey(key), body: { status: 'resolved' } });
    await page.locator('#alert-detail-status .alert-status:text-is("resolved")').waitFor();
    await expectAccessible(page, 'alert flyout 1440');
    await shot(page, '1440-flyout');

    await page.keyboard.press('Escape');
    await flyout.waitFor({ state: 'hidden' });
    expect(await page.evaluate(() => document.activeElement?.getAttribute('aria-label'))).toBe(`Details of alert: ${target.title}`);
    expect((await hashParams(page)).alert).toBeUndefined();
  });

  it('a link to an alert opens its flyout after sign-in; a viewer reads it but gets no way to change it', async () => {
    const [target] = (await api('GET', '/alerts?limit=1')).body as Alert[];
    const page = await openConsole(DESKTOP, VIEWER, `#/alerts?alert=${target.id}`);
    await page.locator('#alert-detail[data-state="loaded"]').waitFor();
    expect(await page.textContent('#alert-detail-title')).toBe(target.title);
    expect(await page.isVisible('#alert-detail-actions')).toBe(false);
    expect(await page.isVisible('#alert-note-form')).toBe(false);
    await page.keyboard.press('Escape');
    await page.locator('#alert-detail').waitFor({ state: 'hidden' });
    expect(await page.locator('#alerts-body button, #alerts-body input').count()).toBe(0);
    expect(await page.isVisible('#alerts-bulk')).toBe(false);
    expect(await page.isVisible('#alerts-select-all')).toBe(false);
    // Checked and closed here: one less live socket for the rest of the file.
    const [watched] = pages.splice(
      pages.findIndex((w) => w.page === page),
      1,
    );
    expectWatchedClean([watched]);
    await watched.context.close();
  });

  it('bulk-acknowledges the selected rows through PATCH /alerts', async () => {
    const page = desktop;
    await page.selectOption('#alerts-filter-status', 'open');
    await listLoaded(page);
    const ids = (await rowIds(page)).slice(0, 3) as string[];
    expect(await page.isDisabled('#alerts-bulk-ack')).toBe(true);
    // Selecting does not move the rows (the bar is there from the start).
    const second = page.locator(`#alerts-body tr[data-id="${ids[1]}"] input.row-select`);
    const before = (await second.boundingBox())?.y;
    for (const id of ids) await page.check(`#alerts-body tr[data-id="${id}"] input.row-select`);
    expect((await second.boundingBox())?.y).toBe(before);
    await page.locator('#alerts-bulk-count:text-is("3 selected")').waitFor();
    await shot(page, '1440-bulk');
    if (DOCS_SCREENSHOTS) await page.screenshot({ path: path.join(path.resolve(__dirname, '..'), 'docs', 'console-live-alerts.png') });
    await page.click('#alerts-bulk-ack');
    await page.locator('#alerts-bulk-result:text-is("3 alerts acknowledged.")').waitFor();
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('alerts-select-all');
    for (const id of ids) expect((await api('GET', `/alerts/${id}`)).body.status).toBe('acknowledged');
    for (const id of ids) await page.locator(`#alerts-body tr[data-id="${id}"] .alert-status:text-is("acknowledged")`).waitFor();
    await expectChipsMatchSummary(page);

    // Select all shown, unselect one, then assign the rest to someone else.
    await page.check('#alerts-select-all');
    const shown = (await rowIds(page)) as string[];
    await page.locator(`#alerts-bulk-count:text-is("${shown.length} selected")`).waitFor();
    await page.uncheck(`#alerts-body tr[data-id="${shown[0]}"] input.row-select`);
    expect(await page.evaluate(() => (document.querySelector('#alerts-select-all') as HTMLInputElement).indeterminate)).toBe(true);
    await page.click('#alerts-bulk-assign');
    await page.fill('#alerts-bulk-assignee', ANALYST.username);
    await page.click('#alerts-bulk-assign-submit');
    await page.locator(`#alerts-bulk-result:text-is("${shown.length - 1} alerts assigned to ${ANALYST.username}.")`).waitFor();
    const assigned = (await api('GET', `/alerts?assignee=${encodeURIComponent(ANALYST.username)}&limit=200`)).body as Alert[];
    expect(assigned.map((alert) => alert.id).sort()).toEqual(shown.slice(1).sort());
    await page.locator(`#alerts-body tr[data-id="${shown[1]}"] td.assignee:text-is("${ANALYST.username}")`).waitFor();
    await page.locator('#alerts-bulk-ack:disabled').waitFor();
    // An assignee who cannot be: nothing changes, and the bar says why.
    await page.check(`#alerts-body tr[data-id="${shown[0]}"] input.row-select`);
    await page.click('#alerts-bulk-assign');
    await page.fill('#alerts-bulk-assignee', 'nobody@alerts.test');
    await page.click('#alerts-bulk-assign-submit');
    await page.locator('#alerts-bulk-result.error').waitFor();
    expect((await api('GET', `/alerts/${shown[0]}`)).body.assignee).toBeNull();
    await page.click('#alerts-bulk-clear');
  });

  it('counts new alerts in the tab title while the tab is hidden', async () => {
    const page = desktop;
    const setHidden = (hidden: boolean) =>
      page.evaluate((value) => {
        Object.defineProperty(document, 'hidden', { configurable: true, get: () => value });
        Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => (value ? 'hidden' : 'visible') });
        document.dispatchEvent(new Event('visibilitychange'));
      }, hidden);
    const base = await page.title();
    await setHidden(true);
    await postAlert({ title: 'while away 1', severity: 'low', source: 'edr' });
    await postAlert({ title: 'while away 2', severity: 'high', source: 'edr' });
    await page.waitForFunction((title) => document.title === `(2) ${title}`, base);
    await setHidden(false);
    await page.waitForFunction((title) => document.title === title, base);
  });

  it('reconnects within seconds of the server answering again, announcing only the changes of state', async () => {
    const page = desktop;
    expect(await page.getAttribute('#conn-state', 'aria-live')).toBeNull();
    expect(await page.getAttribute('#conn-state', 'role')).toBeNull();
    await page.evaluate(() => {
      const w = window as unknown as { __announced: string[] };
      w.__announced = [];
      new MutationObserver(() => w.__announced.push(document.querySelector('#alerts-live-status')?.textContent ?? '')).observe(
        document.querySelector('#alerts-live-status') as Node,
        { childList: true, characterData: true, subtree: true },
      );
    });
    await server.close();
    await page.locator('#conn-state[data-state="reconnecting"]').waitFor({ timeout: 5000 });
    // Long enough for the backoff to grow past what "within ~3 s" allows without the health probe.
    await page.waitForTimeout(7000);
    server = await startConsoleApp(db, APP_ENV, server.port);
    const back = Date.now();
    const missed = await postAlert({ title: 'created during the outage', severity: 'high', source: 'ids' });
    await page.locator('#conn-state[data-state="live"]').waitFor({ timeout: 10_000 });
    expect(Date.now() - back).toBeLessThan(3500);
    await page.locator(`#alerts-body tr[data-id="${missed.id}"]`).waitFor({ timeout: 5000 });
    const announced = await page.evaluate(() => (window as unknown as { __announced: string[] }).__announced);
    expect(announced).toEqual(['Live alerts: connection lost. Reconnecting…', 'Live alerts: connection restored.']);
  });

  it('at 390 px: rows are cards with their actions in view, no sideways scrolling; flyout, assign to me and axe', async () => {
    const page = await openConsole(PHONE, ANALYST, '#/alerts?status=open&severity=high');
    const highOpen = (await api('GET', '/alerts?status=open&severity=high&limit=200')).body as Alert[];
    await rowCount(page, Math.min(100, highOpen.length));
    await expectChipsMatchSummary(page);
    expect(await page.evaluate(() => document.scrollingElement?.scrollWidth)).toBeLessThanOrEqual(PHONE.width);
    const first = page.locator('#alerts-body tr[data-id]').first();
    expect(await first.evaluate((row) => getComputedStyle(row).display)).toBe('block');
    for (const control of [first.locator('a.details'), first.locator('button[data-action="acknowledged"]'), first.locator('button[data-action="resolved"]')]) {
      const box = await control.boundingBox();
      expect(box).not.toBeNull();
      expect(box!.x).toBeGreaterThanOrEqual(0);
      expect(box!.x + box!.width).toBeLessThanOrEqual(PHONE.width);
    }
    // The filters fold behind a button that counts them; the search stays in view.
    expect(await page.textContent('#alerts-filters-toggle')).toBe('Filters (2)');
    expect(await page.isVisible('#alerts-search')).toBe(true);
    expect(await page.isVisible('#alerts-filter-status')).toBe(false);
    await page.click('#alerts-filters-toggle');
    expect(await page.getAttribute('#alerts-filters-toggle', 'aria-expanded')).toBe('true');
    expect(await page.inputValue('#alerts-filter-severity')).toBe('high');
    expect(await page.evaluate(() => document.scrollingElement?.scrollWidth)).toBeLessThanOrEqual(PHONE.width);
    await expectAccessible(page, 'alerts 390 (filters open)');
    await page.click('#alerts-filters-toggle');
    await page.locator('#alerts-filter-status').waitFor({ state: 'hidden' });
    await expectAccessible(page, 'alerts 390');
    await shot(page, '390-list');

    const id = (await first.getAttribute('data-id')) as string;
    await first.locator('a.details').click();
    await page.locator('#alert-detail[data-state="loaded"]').waitFor();
    const panel = await page.locator('#alert-detail').boundingBox();
    expect(panel!.width).toBeLessThanOrEqual(PHONE.width);
    await page.click('#alert-detail-assign-me');
    await page.locator(`#alert-detail-assignee:text-is("${ANALYST.username}")`).waitFor();
    expect((await api('GET', `/alerts/${id}`)).body.assignee).toBe(ANALYST.username);
    expect(await page.evaluate(() => document.scrollingElement?.scrollWidth)).toBeLessThanOrEqual(PHONE.width);
    await expectAccessible(page, 'alert flyout 390');
    await shot(page, '390-flyout');
    await page.click('#alert-detail-close');
    await page.locator('#alert-detail').waitFor({ state: 'hidden' });
    expect(await page.evaluate(() => document.activeElement?.closest('tr')?.dataset.id)).toBe(id);
  });
});
