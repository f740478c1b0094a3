/**
 * The SOC console in a real browser: Debian's headless Chromium driven by playwright-core.
 * (test/support/browser.ts: the browser, the app on a known port, the watched pages.)
 *
 * The browser's origin must be in ALLOWED_ORIGINS for cookie-authenticated writes and the
 * WebSocket, so the app is booted here on a port chosen beforehand.
 * Screenshots of each page go to .tmp/console-screenshots/ (git-ignored).
 */
import { mkdirSync } from 'node:fs';
import * as path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { expectWatchedClean, launchBrowser, openWatchedPage, signIn, startConsoleApp, type ConsoleApp, type WatchedPage } from './support/browser';
import { apiKey, bearer, call, createUser, login } from './support/http';
import { ADMIN, databaseForFile } from './support/test-app';

jest.setTimeout(60_000);

/** What the canaries leave on a page: an injected inline script's mark, and whether alert() ran. */
type CanaryWindow = Window & { __inline?: unknown; __xss?: boolean };

const ROOT = path.resolve(__dirname, '..');
const SCREENSHOTS = path.join(ROOT, '.tmp', 'console-screenshots');
const XSS_TITLE = '<img src=x onerror=alert(1)>';
const APP_ENV = { LOGIN_MAX_FAILURES_PER_USER: '3', LOGIN_MAX_PER_IP: '200' };
const VIEWER = { username: 'viewer@console.test', password: 'viewer-password-123' };
const ROAMER = { username: 'roamer@console.test', password: 'roamer-password-123' };
const FIREFOX_ON_WINDOWS = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0';
/** UPDATE_DOCS_SCREENSHOTS=1 also writes the screenshots the documentation shows (docs/*.png). */
const DOCS_SCREENSHOTS = process.env.UPDATE_DOCS_SCREENSHOTS === '1';

describe('SOC console in a real browser', () => {
  let db: Awaited<ReturnType<typeof databaseForFile>>;
  let server: ConsoleApp;
  let browser: Browser;
  let adminToken: string;
  let ingestKey: string;
  const contexts: WatchedPage[] = [];

  beforeAll(async () => {
    mkdirSync(SCREENSHOTS, { recursive: true });
    db = await databaseForFile();
    const launching = launchBrowser();
    server = await startConsoleApp(db, APP_ENV);
    browser = await launching;
    adminToken = await login(server.origin, ADMIN.username, ADMIN.password);
    await createUser(server.origin, adminToken, VIEWER.username, 'viewer', VIEWER.password);
    const key = await call(server.origin, 'POST', '/api/v1/auth/api-keys', { headers: bearer(adminToken), body: { service_name: 'console-ingest' } });
    expect(key.status).toBe(201);
    ingestKey = key.body.api_key;
  });

  afterAll(async () => {
    for (const watched of contexts) await watched.context.close().catch(() => undefined);
    await browser?.close();
    await server?.close();
    await db?.drop();
  });

  afterEach(() => expectWatchedClean(contexts));

  async function openConsole(options: { userAgent?: string } = {}): Promise<WatchedPage> {
    const watched = await openWatchedPage(browser, server.origin, { width: 1280, height: 800 }, options);
    contexts.push(watched);
    return watched;
  }

  const shot = (page: Page, name: string) => page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`) });

  let admin: WatchedPage;

  it('serves the page under a strict CSP', async () => {
    const reply = await fetch(`${server.origin}/`);
    expect(reply.status).toBe(200);
    const csp = reply.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("style-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    const html = await reply.text();
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/i);
    expect(html).not.toMatch(/\sstyle=|\son[a-z]+=/i);

    // The violation detector works: an injected inline script is blocked and reported.
    const canary = await openConsole();
    contexts.splice(contexts.indexOf(canary), 1);
    await canary.page.evaluate(() => {
      const script = document.createElement('script');
      script.textContent = 'window.__inline = 1';
      document.body.append(script);
    });
    await canary.page.waitForTimeout(100);
    expect(await canary.page.evaluate(() => (window as CanaryWindow).__inline)).toBeUndefined();
    expect(canary.cspViolations.length).toBeGreaterThan(0);
    await canary.context.close();
  });

  it('signs in through the form: wrong password is refused, then the admin gets in with an httpOnly cookie', async () => {
    admin = await openConsole();
    const { page, context } = admin;
    await shot(page, '01-sign-in');
    await signIn(page, ADMIN.username, 'not-the-password');
    await page.locator('#signin-message:text-is("Wrong username or password.")').waitFor();
    await shot(page, '02-sign-in-wrong-password');

    await signIn(page, ADMIN.username, ADMIN.password);
    await page.locator('#view-alerts').waitFor({ state: 'visible' });
    await page.locator('#conn-state[data-state="live"]').waitFor();
    expect(await page.textContent('#whoami')).toBe(ADMIN.username);
    for (const view of ['alerts', 'keys', 'users', 'audit']) expect(await page.isVisible(`#nav a[data-view="${view}"]`)).toBe(true);

    const cookies = await context.cookies();
    const cookie = cookies.find((c) => c.name === 'access_token');
    expect(cookie?.httpOnly).toBe(true);
    expect(cookie?.sameSite).toBe('Strict');
    expect(await page.evaluate(() => document.cookie)).not.toContain('access_token');
  });

  it('shows an alert posted with an API key live, its attacker-controlled title as text, and acknowledges it', async () => {
    const { page } = admin;
    await page.evaluate(() => {
      (window as CanaryWindow).__xss = false;
      (window as CanaryWindow).alert = () => ((window as CanaryWindow).__xss = true);
    });
    const created = await call(server.origin, 'POST', '/api/v1/alerts', {
      headers: apiKey(ingestKey),
      body: { title: XSS_TITLE, severity: 'critical', source: 'edr', description: '<b>bold?</b> "quoted" & more' },
    });
    expect(created.status).toBe(201);
    const row = page.locator(`#alerts-body tr[data-id="${created.body.id}"]`);
    await row.waitFor({ state: 'visible', timeout: 5000 });
    expect(await row.locator('.alert-title').textContent()).toBe(XSS_TITLE);
    expect(await row.locator('.alert-description').textContent()).toBe('<b>bold?</b> "quoted" & more');
    expect(await page.locator('#alerts-body img, #alerts-body b').count()).toBe(0);
    expect(await page.locator('img').count()).toBe(0);
    expect(await row.getAttribute('class')).toContain('sev-critical');
    expect(await row.locator('.alert-status').textContent()).toBe('open');
    await page.waitForTimeout(200);
    expect(await page.evaluate(() => (window as CanaryWindow).__xss)).toBe(false);
    await shot(page, '03-live-alerts');

    await row.locator('button[data-action="acknowledged"]').click();
    await page.locator(`#alerts-body tr[data-id="${created.body.id}"] .alert-status:text-is("acknowledged")`).waitFor();
    const stored = await call(server.origin, 'GET', '/api/v1/alerts?status=acknowledged', { headers: bearer(adminToken) });
    expect(stored.body.map((a: { id: string }) => a.id)).toContain(created.body.id);
    expect(await page.locator(`#alerts-body tr[data-id="${created.body.id}"] button[data-action="acknowledged"]`).count()).toBe(0);

    // A change made elsewhere arrives over the WebSocket too.
    await call(server.origin, 'PATCH', `/api/v1/alerts/${created.body.id}`, { headers: apiKey(ingestKey), body: { status: 'resolved' } });
    await page.locator(`#alerts-body tr[data-id="${created.body.id}"] .alert-status:text-is("resolved")`).waitFor({ timeout: 5000 });
  });

  it('shows the connection state, reconnects with backoff after a server restart (1001) and catches up', async () => {
    const { page } = admin;
    await page.locator('#conn-state[data-state="live"]').waitFor();
    await server.close();
    await page.locator('#conn-state[data-state="reconnecting"]').waitFor({ timeout: 5000 });
    expect(await page.textContent('#conn-state')).toMatch(/Reconnecting in \d+ s/);
    await shot(page, '03b-reconnecting');
    server = await startConsoleApp(db, APP_ENV, server.port);
    // Created while the page was away: it appears when the page catches up after reconnecting.
    const missed = await call(server.origin, 'POST', '/api/v1/alerts', {
      headers: apiKey(ingestKey),
      body: { title: 'created during the outage', severity: 'high', source: 'ids' },
    });
    expect(missed.status).toBe(201);
    await page.locator('#conn-state[data-state="live"]').waitFor({ timeout: 20_000 });
    await page.locator(`#alerts-body tr[data-id="${missed.body.id}"]`).waitFor({ timeout: 5000 });
    expect(await page.isVisible('#console-view')).toBe(true);
  });

  it('marks the alerts AuroraSOC raised from its own audit trail (source aurorasoc-auth) as detected', async () => {
    const { page } = admin;
    const post = (source: string) =>
      call(server.origin, 'POST', '/api/v1/alerts', { headers: apiKey(ingestKey), body: { title: `from ${source}`, severity: 'high', source } });
    const detected = await post('aurorasoc-auth');
    const other = await post('edr');
    const detectedRow = page.locator(`#alerts-body tr[data-id="${detected.body.id}"]`);
    const otherRow = page.locator(`#alerts-body tr[data-id="${other.body.id}"]`);
    await detectedRow.waitFor({ state: 'visible', timeout: 5000 });
    await otherRow.waitFor({ state: 'visible', timeout: 5000 });
    expect(await detectedRow.locator('.source .detected').textContent()).toBe('detected');
    expect(await otherRow.locator('.source .detected').count()).toBe(0);
  });

  it('creates an API key, shows it once with a warning, and revokes it after confirmation', async () => {
    const { page } = admin;
    await page.click('#nav a[data-view="keys"]');
    await page.locator('#view-keys').waitFor({ state: 'visible' });
    await page.fill('#key-service', 'siem-from-console');
    await page.fill('#key-expiry', '30');
    await page.click('#key-create');
    await page.locator('#key-issued').waitFor({ state: 'visible' });
    const issued = (await page.textContent('#key-issued-value')) ?? '';
    expect(issued).toMatch(/^aurora_.{32,}$/);
    expect(await page.textContent('#key-issued .warning')).toMatch(/only once/);
    expect(await page.isVisible('#key-copy')).toBe(true);
    const row = page.locator('#keys-body tr', { hasText: 'siem-from-console' });
    await row.waitFor();
    expect(await page.locator('#keys-body').textContent()).not.toContain(issued);
    expect((await call(server.origin, 'GET', '/api/v1/auth/me', { headers: apiKey(issued) })).status).toBe(200);
    await shot(page, '04-api-keys-issued');

    await page.click('#key-issued-dismiss');
    expect(await page.isVisible('#key-issued')).toBe(false);
    expect(await page.locator('body').textContent()).not.toContain(issued);

    // Cancel first: nothing happens.
    await row.locator('button.revoke-key').click();
    await page.locator('#confirm-dialog').waitFor({ state: 'visible' });
    await page.click('#confirm-cancel');
    expect((await call(server.origin, 'GET', '/api/v1/auth/me', { headers: apiKey(issued) })).status).toBe(200);
    await row.locator('button.revoke-key').click();
    await page.click('#confirm-ok');
    await page.locator('#keys-body tr.revoked', { hasText: 'siem-from-console' }).waitFor();
    expect((await call(server.origin, 'GET', '/api/v1/auth/me', { headers: apiKey(issued) })).status).toBe(401);
  });

  describe('API key controls', () => {
    const SERVICE = 'siem-audit-reader';
    let keyId: string;
    let oldSecret: string;
    let newSecret: string;
    /** What the server should have counted for the key: every answer to a request made with it. */
    const uses = { success: 0, denied: 0, rate_limited: 0 };
    const listed = async () =>
      (await call(server.origin, 'GET', '/api/v1/auth/api-keys', { headers: bearer(adminToken) })).body.find((k: { id: string }) => k.id === keyId);

    /** One request with the key (X-API-Key), tallied by what it was answered. */
    async function useKey(secret: string, route: string): Promise<number> {
      const reply = await fetch(`${server.origin}${route}`, { headers: { 'X-API-Key': secret } });
      await reply.arrayBuffer();
      if (reply.status === 200) uses.success++;
      else if (reply.status === 403) uses.denied++;
      else if (reply.status === 429) uses.rate_limited++;
      else throw new Error(`unexpected ${reply.status} for ${route}`);
      return reply.status;
    }

    it('creates a key with audit:read, an IP range and a limit (bad ranges refused in words); the list shows them', async () => {
      const { page } = admin;
      await page.click('#nav a[data-view="keys"]');
      await page.locator('#view-keys').waitFor({ state: 'visible' });
      if (await page.isVisible('#key-issued')) await page.click('#key-issued-dismiss');
      for (const p of ['alerts-read', 'alerts-write', 'audit-read']) expect(await page.isVisible(`#key-perm-${p}`)).toBe(true);
      expect(await page.textContent('label[for="key-perm-audit-read"]')).toContain('audit trail');
      expect(await page.isDisabled('#key-limit')).toBe(true);

      await page.fill('#key-service', SERVICE);
      await page.uncheck('#key-perm-alerts-read');
      await page.uncheck('#key-perm-alerts-write');
      await page.check('#key-perm-audit-read');
      await page.check('#key-limit-on');
      expect(await page.isDisabled('#key-limit')).toBe(false);
      await page.fill('#key-limit', '8');
      await page.fill('#key-window', '1');
      await page.selectOption('#key-window-unit', '60');

      // Checked lightly in the browser …
      await page.fill('#key-ips', '127.0.0.0/8\nnot-an-ip');
      await page.click('#key-create');
      await page.locator('#key-form-message', { hasText: '“not-an-ip” (IP ranges, line 2) is not an IP address or CIDR range' }).waitFor();
      expect(await page.evaluate(() => document.activeElement?.id)).toBe('key-ips');
      // … and what only the server can tell is refused in its words.
      await page.fill('#key-ips', '127.0.0.0/8\n2001:db8:::1/64');
      await page.click('#key-create');
      await page
        .locator('#key-form-message', { hasText: 'The server refused: each allowed_ips entry must be an IPv4 or IPv6 address or CIDR range' })
        .waitFor();
      expect(await page.isVisible('#key-issued')).toBe(false);

      await page.fill('#key-ips', '127.0.0.0/8\n 10.0.0.0/8 \n\n');
      const posted = page.waitForRequest((request) => request.method() === 'POST' && request.url().endsWith('/api/v1/auth/api-keys'));
      await page.click('#key-create');
      expect((await posted).postDataJSON()).toEqual({
        service_name: SERVICE,
        expires_in_days: 90,
        permissions: ['audit:read'],
        allowed_ips: ['127.0.0.0/8', '10.0.0.0/8'],
        rate_limit: { limit: 8, window_seconds: 60 },
      });
      await page.locator('#key-issued').waitFor({ state: 'visible' });
      expect(await page.textContent('#key-issued-kind')).toBe('New key for');
      oldSecret = (await page.textContent('#key-issued-value')) ?? '';
      expect(oldSecret).toMatch(/^aurora_.{32,}$/);
      expect(await page.evaluate(() => document.activeElement?.id)).toBe('key-copy');

      const row = page.locator('#keys-body tr.key-row', { has: page.locator(`.key-service:text-is("${SERVICE}")`) });
      await row.waitFor();
      keyId = (await row.getAttribute('data-id'))!;
      expect(await row.locator('.perms').textContent()).toBe('audit:read');
      expect(await row.locator('.key-ips .ip-range').allTextContents()).toEqual(['127.0.0.0/8', '10.0.0.0/8']);
      expect(await row.locator('.key-limit').textContent()).toBe('8 per minute');
      const stored = await listed();
      expect(stored).toMatchObject({ permissions: ['audit:read'], allowed_ips: ['127.0.0.0/8', '10.0.0.0/8'], rate_limit: { limit: 8, window_seconds: 60 } });
      // The form is ready for the next key.
      expect(await page.inputValue('#key-service')).toBe('');
      expect(await page.isChecked('#key-limit-none')).toBe(true);
      await page.click('#key-issued-dismiss');
    });

    it('edits the key: the form is prefilled, only what changed is sent (PATCH), the list and the API agree', async () => {
      const { page } = admin;
      const row = page.locator(`#keys-body tr.key-row[data-id="${keyId}"]`);
      await page.getByRole('button', { name: `Edit ${SERVICE} (`, exact: false }).click();
      expect(await page.textContent('#key-form-title')).toMatch(new RegExp(`^Edit ${SERVICE} \\(\\w+\\)$`));
      expect(await page.evaluate(() => document.activeElement?.id)).toBe('key-service');
      expect(await page.isVisible('#key-expiry')).toBe(false);
      expect(await page.textContent('#key-create')).toBe('Save changes');
      expect(await page.inputValue('#key-service')).toBe(SERVICE);
      expect(await page.isChecked('#key-perm-audit-read')).toBe(true);
      expect(await page.isChecked('#key-perm-alerts-read')).toBe(false);
      expect(await page.inputValue('#key-ips')).toBe('127.0.0.0/8\n10.0.0.0/8');
      expect(await page.isChecked('#key-limit-on')).toBe(true);
      expect([await page.inputValue('#key-limit'), await page.inputValue('#key-window'), await page.inputValue('#key-window-unit')]).toEqual(['8', '1', '60']);

      // Nothing changed: nothing is sent.
      await page.click('#key-create');
      await page.locator('#key-form-message:text-is("Nothing to save: no field was changed.")').waitFor();

      await page.fill('#key-ips', '127.0.0.1/32\n2001:db8::/32');
      const patched = page.waitForRequest((request) => request.method() === 'PATCH');
      await page.click('#key-create');
      const request = await patched;
      expect(request.url()).toBe(`${server.origin}/api/v1/auth/api-keys/${keyId}`);
      expect(request.postDataJSON()).toEqual({ allowed_ips: ['127.0.0.1/32', '2001:db8::/32'] });
      await page.locator(`#keys-body tr.key-row[data-id="${keyId}"] .key-ips .ip-range:text-is("2001:db8::/32")`).waitFor();
      expect(await row.locator('.key-ips .ip-range').allTextContents()).toEqual(['127.0.0.1/32', '2001:db8::/32']);
      expect(await row.locator('.key-limit').textContent()).toBe('8 per minute');
      expect(await page.textContent('#key-form-title')).toBe('Create a key');
      expect(await page.isVisible('#key-expiry')).toBe(true);
      expect(await page.evaluate(() => document.activeElement?.classList.contains('edit-key'))).toBe(true);
      expect(await listed()).toMatchObject({
        service_name: SERVICE,
        permissions: ['audit:read'],
        allowed_ips: ['127.0.0.1/32', '2001:db8::/32'],
        rate_limit: { limit: 8, window_seconds: 60 },
      });
    });

    it('rotates with a 1 h grace: the new secret is shown once, and both the old and the new secret work', async () => {
      const { page } = admin;
      const row = page.locator(`#keys-body tr.key-row[data-id="${keyId}"]`);
      // Cancel first: nothing happens.
      await row.locator('button.rotate-key').click();
      await page.locator('#rotate-dialog').waitFor({ state: 'visible' });
      expect(await page.textContent('#rotate-text')).toContain(`“${SERVICE}”`);
      await page.click('#rotate-cancel');
      expect(await page.isVisible('#key-issued')).toBe(false);
      expect(await useKey(oldSecret, '/api/v1/audit/events')).toBe(200);

      await row.locator('button.rotate-key').click();
      expect(await page.isChecked('#grace-0')).toBe(true);
      // A custom grace out of range is refused in the dialog.
      await page.check('#grace-custom');
      await page.fill('#grace-seconds', '90000');
      await page.click('#rotate-ok');
      await page.locator('#rotate-message:text-is("Enter a whole number of seconds between 0 and 86400.")').waitFor();
      expect(await page.isVisible('#rotate-dialog')).toBe(true);
      await page.check('#grace-3600');
      const rotated = page.waitForRequest((request) => request.url().endsWith(`/auth/api-keys/${keyId}/rotate`));
      await page.click('#rotate-ok');
      expect((await rotated).postDataJSON()).toEqual({ grace_period_seconds: 3600 });
      await page.locator('#key-issued').waitFor({ state: 'visible' });
      expect(await page.textContent('#key-issued-kind')).toBe('New secret for');
      expect(await page.textContent('#key-issued-service')).toContain(SERVICE);
      expect(await page.textContent('#key-issued-note')).toMatch(/^The previous secret keeps working until .+ \(1 hour\), then never again\.$/);
      newSecret = (await page.textContent('#key-issued-value')) ?? '';
      expect(newSecret).toMatch(/^aurora_.{32,}$/);
      expect(newSecret).not.toBe(oldSecret);
      expect(await page.isVisible('#key-copy')).toBe(true);
      expect(await page.locator('#keys-body').textContent()).not.toContain(newSecret);

      expect(await useKey(newSecret, '/api/v1/audit/events')).toBe(200);
      expect(await useKey(oldSecret, '/api/v1/audit/events')).toBe(200);
      await page.click('#key-issued-dismiss');
      expect(await page.locator('body').textContent()).not.toContain(newSecret);
    });

    it('charts the key’s hourly usage (succeeded, denied, rate-limited) with the right totals in text', async () => {
      const { page } = admin;
      for (let i = 0; i < 2; i++) expect(await useKey(newSecret, '/api/v1/audit/events')).toBe(200);
      // Alerts are not among the key's permissions: denied.
      for (let i = 0; i < 2; i++) expect(await useKey(newSecret, '/api/v1/alerts')).toBe(403);
      for (let i = 0; i < 20 && uses.rate_limited < 2; i++) await useKey(newSecret, '/api/v1/audit/events');
      expect(uses.rate_limited).toBe(2);
      const all = uses.success + uses.denied + uses.rate_limited;

      const row = page.locator(`#keys-body tr.key-row[data-id="${keyId}"]`);
      const toggle = row.locator('button.usage-toggle');
      expect(await toggle.getAttribute('aria-expanded')).toBe('false');
      expect(await page.getByRole('button', { name: `Usage of ${SERVICE} (`, exact: false }).count()).toBe(1);
      await toggle.click();
      expect(await toggle.getAttribute('aria-expanded')).toBe('true');
      const panel = page.locator(`#key-usage-${keyId}`);
      await panel.locator('svg.usage-chart rect.bar').first().waitFor();
      expect(await panel.locator('svg.usage-chart rect.bar-success').count()).toBeGreaterThan(0);
      expect(await panel.locator('svg.usage-chart rect.bar-denied').count()).toBeGreaterThan(0);
      expect(await panel.locator('svg.usage-chart rect.bar-limited').count()).toBeGreaterThan(0);
      const counted = await panel.locator('svg.usage-chart rect.bar').evaluateAll((rects) =>
        rects.reduce<Record<string, number>>((sum, rect) => {
          const kind = [...rect.classList].find((c) => c.startsWith('bar-'))!;
          sum[kind] = (sum[kind] ?? 0) + Number(rect.getAttribute('data-count'));
          return sum;
        }, {}),
      );
      expect(counted).toEqual({ 'bar-success': uses.success, 'bar-denied': uses.denied, 'bar-limited': uses.rate_limited });

      const summary = `In the last 24 hours: ${all} requests — ${uses.success} succeeded, ${uses.denied} denied, ${uses.rate_limited} rate-limited.`;
      expect(await panel.locator('.usage-summary').textContent()).toBe(summary);
      expect(await panel.locator('svg.usage-chart').getAttribute('role')).toBe('img');
      expect(await panel.locator('svg.usage-chart').getAttribute('aria-label')).toBe(`Requests per hour. ${summary}`);
      expect(await panel.locator('.usage-totals td').allTextContents()).toEqual([String(uses.success), String(uses.denied), String(uses.rate_limited)]);
      expect(await panel.locator('.chart-legend strong').allTextContents()).toEqual([String(uses.success), String(uses.denied), String(uses.rate_limited)]);
      expect(await panel.locator('.usage-last-ip').textContent()).toMatch(/127\.0\.0\.1$/);
      expect(await panel.locator('.usage-last-used time').count()).toBe(1);
      // The API agrees.
      const usage = await call(server.origin, 'GET', `/api/v1/auth/api-keys/${keyId}/usage?days=1`, { headers: bearer(adminToken) });
      expect(usage.status).toBe(200);
      expect(usage.body.hours).toHaveLength(24);

      await page.click('#nav a[data-view="alerts"]');
      await page.click('#nav a[data-view="keys"]');
      await panel.locator('svg.usage-chart rect.bar').first().waitFor();
      await page.locator('#flash').waitFor({ state: 'hidden' });
      await shot(page, '04b-api-keys-usage');
      if (DOCS_SCREENSHOTS) {
        const box = (await page.locator('#view-keys').boundingBox())!;
        await page.screenshot({
          path: path.join(ROOT, 'docs', 'console-keys.png'),
          fullPage: true,
          clip: { x: 0, y: 0, width: 1280, height: Math.ceil(box.y + box.height + 24) },
        });
      }

      // Seven days: the same totals over 168 hours.
      await panel.locator('select.usage-days').selectOption('7');
      await panel.locator('.usage-summary', { hasText: 'In the last 7 days:' }).waitFor();
      expect(await panel.locator('.usage-summary').textContent()).toBe(summary.replace('the last 24 hours', 'the last 7 days'));
      expect(await panel.locator('svg.usage-chart rect.bar').count()).toBeGreaterThan(0);

      await toggle.click();
      expect(await panel.isVisible()).toBe(false);
    });

    it('shows a hostile service name as text everywhere on the keys page', async () => {
      const { page } = admin;
      await page.evaluate(() => {
        (window as CanaryWindow).__xss = false;
        (window as CanaryWindow).alert = () => ((window as CanaryWindow).__xss = true);
      });
      await page.fill('#key-service', XSS_TITLE);
      await page.click('#key-create');
      await page.locator('#key-issued').waitFor({ state: 'visible' });
      expect(await page.textContent('#key-issued-service')).toContain(XSS_TITLE);
      await page.click('#key-issued-dismiss');
      const row = page.locator('#keys-body tr.key-row', { has: page.locator(`.key-service:text-is("${XSS_TITLE}")`) });
      await row.waitFor();
      expect(await row.locator('.key-ips').textContent()).toBe('any address');
      expect(await row.locator('.key-limit').textContent()).toBe('no limit');

      await row.locator('button.usage-toggle').click();
      const id = await row.getAttribute('data-id');
      await page.locator(`#key-usage-${id} .usage-summary`).waitFor();
      expect(await page.textContent(`#key-usage-${id} .usage-name`)).toBe(XSS_TITLE);
      expect(await page.locator(`#key-usage-${id} svg.usage-chart rect.bar`).count()).toBe(0);
      expect(await page.textContent(`#key-usage-${id} .usage-summary`)).toBe('In the last 24 hours: 0 requests — 0 succeeded, 0 denied, 0 rate-limited.');

      await row.locator('button.edit-key').click();
      expect(await page.textContent('#key-form-title')).toMatch(/^Edit <img src=x onerror=alert\(1\)> \(\w+\)$/);
      await page.click('#key-edit-cancel');
      expect(await page.textContent('#key-form-title')).toBe('Create a key');
      expect(await page.evaluate(() => document.activeElement?.getAttribute('aria-label'))).toMatch(/^Edit <img src=x onerror=alert\(1\)> /);

      await row.locator('button.rotate-key').click();
      expect(await page.textContent('#rotate-text')).toContain(`“${XSS_TITLE}”`);
      await page.click('#rotate-cancel');

      expect(await page.locator('img').count()).toBe(0);
      await page.waitForTimeout(200);
      expect(await page.evaluate(() => (window as CanaryWindow).__xss)).toBe(false);
    });
  });

  it('manages users: create, change role, disable, delete (each change confirmed)', async () => {
    const { page } = admin;
    await page.click('#nav a[data-view="users"]');
    await page.locator('#users-body tr', { hasText: VIEWER.username }).waitFor();
    await shot(page, '05-users');
    const username = 'temp@console.test';
    const stored = async () =>
      (await call(server.origin, 'GET', '/api/v1/users', { headers: bearer(adminToken) })).body.find((u: { username: string }) => u.username === username);

    await page.fill('#user-username', username);
    await page.fill('#user-password', 'short');
    await page.click('#user-create');
    await page.locator('#user-form-message', { hasText: 'at least 12 characters' }).waitFor();
    await page.fill('#user-password', 'temp-password-123');
    await page.selectOption('#user-role', 'operator');
    await page.click('#user-create');
    const row = page.locator(`#users-body tr[data-username="${username}"]`);
    await row.waitFor();
    expect((await stored()).role).toBe('operator');

    await row.locator('select.role-select').selectOption('analyst');
    await page.click('#confirm-ok');
    await page.locator(`#users-body tr[data-username="${username}"] select.role-select`).waitFor();
    for (let i = 0; i < 50 && (await stored()).role !== 'analyst'; i++) await page.waitForTimeout(50);
    expect((await stored()).role).toBe('analyst');

    await page.locator(`#users-body tr[data-username="${username}"] button`, { hasText: 'Disable' }).click();
    await page.click('#confirm-ok');
    await page.locator(`#users-body tr.disabled[data-username="${username}"]`).waitFor();
    expect((await stored()).disabled).toBe(true);

    await page.locator(`#users-body tr[data-username="${username}"] button`, { hasText: 'Delete' }).click();
    await page.click('#confirm-ok');
    await page.locator(`#users-body tr[data-username="${username}"]`).waitFor({ state: 'detached' });
    expect(await stored()).toBeUndefined();
  });

  it('lists audit events (failures highlighted, filterable)', async () => {
    const { page } = admin;

    await page.click('#nav a[data-view="audit"]');
    await page.locator('#audit-body tr.failure').first().waitFor();
    await shot(page, '06-audit');
    await page.selectOption('#audit-outcome', 'failure');
    await page.waitForFunction(() => {
      const rows = [...document.querySelectorAll('#audit-body tr')];
      return rows.length > 0 && rows.every((row) => row.classList.contains('failure'));
    });
    await page.fill('#audit-type', 'api_key.revoked');
    await page.selectOption('#audit-outcome', '');
    await page.waitForFunction(() => {
      const rows = [...document.querySelectorAll('#audit-body tr')];
      return rows.length > 0 && rows.every((row) => row.querySelector('code')?.textContent === 'api_key.revoked');
    });

    await page.click('#nav a[data-view="account"]');
    await page.locator('#password-form').waitFor({ state: 'visible' });
    await shot(page, '07-account');
  });

  it("shows each audit event's seq, new events live, and verifies the hash chain with one button", async () => {
    const { page } = admin;
    await page.click('#nav a[data-view="audit"]');
    await page.fill('#audit-type', '');
    await page.press('#audit-type', 'Enter');
    await page.locator('#audit-body tr').first().waitFor();
    const seqs = await page.locator('#audit-body td.seq').allTextContents();
    expect(seqs.length).toBeGreaterThan(0);
    // Newest first, each a whole number.
    expect(seqs.map(Number)).toEqual([...seqs.map(Number)].sort((x, y) => y - x));
    expect(seqs.every((seq) => /^[1-9][0-9]*$/.test(seq))).toBe(true);
    expect(await page.isVisible('#audit-verify-result')).toBe(false);
    await page.click('#audit-verify');
    await page.waitForFunction(() => document.querySelector('#audit-verify-result')?.textContent?.startsWith('Chain intact'));
    const text = await page.textContent('#audit-verify-result');
    expect(text).toMatch(/^Chain intact: \d+ events checked \(head seq \d+, hash [0-9a-f]{16}…\)\.$/);
    expect(await page.getAttribute('#audit-verify-result', 'data-ok')).toBe('true');
    await shot(page, '06b-audit-verified');

    // Live over /ws/audit: a failed sign-in elsewhere appears at the top without a reload, seq next.
    await page.locator('#audit-live[data-state="live"]').waitFor();
    const before = Number(await page.locator('#audit-body td.seq').first().textContent());
    const stranger = `live-${Date.now()}@console.test`;
    expect((await call(server.origin, 'POST', '/api/v1/auth/token', { body: { username: stranger, password: 'not-the-password-1' } })).status).toBe(401);
    const row = page.locator('#audit-body tr').first();
    await page.waitForFunction((name) => document.querySelector('#audit-body tr td:nth-child(5)')?.textContent === name, stranger);
    expect(Number(await row.locator('td.seq').textContent())).toBeGreaterThan(before);
    expect(await row.getAttribute('class')).toContain('failure');
    await page.click('#nav a[data-view="alerts"]');
    expect(await page.getAttribute('#audit-live', 'data-state')).toBe('closed');
  });

  it('signs out to the sign-in page, and the old cookie no longer works', async () => {
    const { page, context } = admin;
    const token = (await context.cookies()).find((c) => c.name === 'access_token')!.value;
    expect((await call(server.origin, 'GET', '/api/v1/auth/me', { headers: { cookie: `access_token=${token}` } })).status).toBe(200);
    await page.click('#signout');
    await page.locator('#signin-view').waitFor({ state: 'visible' });
    expect(await page.isVisible('#console-view')).toBe(false);
    expect(await page.textContent('#signin-message')).toBe('You have signed out.');
    expect((await context.cookies()).find((c) => c.name === 'access_token')).toBeUndefined();
    expect((await call(server.origin, 'GET', '/api/v1/auth/me', { headers: { cookie: `access_token=${token}` } })).status).toBe(401);
    await page.reload();
    await page.locator('#signin-view').waitFor({ state: 'visible' });
  });

  it('a viewer sees no admin pages and no write buttons; the API refuses them; 4401 returns to sign-in', async () => {
    const viewer = await openConsole();
    const { page } = viewer;
    await signIn(page, VIEWER.username, VIEWER.password);
    await page.locator('#view-alerts').waitFor({ state: 'visible' });
    await page.locator('#conn-state[data-state="live"]').waitFor();
    await page.locator('#alerts-body tr').first().waitFor();
    expect(await page.isVisible('#nav a[data-view="alerts"]')).toBe(true);
    for (const view of ['keys', 'users', 'audit']) expect(await page.isVisible(`#nav a[data-view="${view}"]`)).toBe(false);
    expect(await page.locator('#alerts-body button').count()).toBe(0);
    await shot(page, '08-viewer-alerts');

    await page.goto(`${server.origin}/#/users`);
    await page.locator('#view-denied').waitFor({ state: 'visible' });
    expect(await page.isVisible('#view-users')).toBe(false);
    expect(await page.locator('#users-body tr').count()).toBe(0);
    const refused = await page.evaluate(async () => {
      const statuses: number[] = [];
      for (const url of ['/api/v1/users', '/api/v1/auth/api-keys', '/api/v1/audit/events']) statuses.push((await fetch(url)).status);
      const write = await fetch('/api/v1/auth/api-keys', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ service_name: 'nope' }),
      });
      return [...statuses, write.status];
    });
    expect(refused).toEqual([403, 403, 403, 403]);

    // Changing one's own password: a wrong current password is refused; then the change works,
    // the browser gets a fresh cookie, and the live connection recovers (the old token died).
    await page.click('#nav a[data-view="account"]');
    await page.fill('#pw-current', 'not-my-password');
    await page.fill('#pw-new', 'viewer-password-456');
    await page.fill('#pw-confirm', 'viewer-password-456');
    await page.click('#pw-submit');
    await page.locator('#password-message:text-is("The current password is not correct.")').waitFor();
    await page.fill('#pw-current', VIEWER.password);
    await page.fill('#pw-new', 'viewer-password-456');
    await page.fill('#pw-confirm', 'viewer-password-456');
    await page.click('#pw-submit');
    await page.locator('#password-message', { hasText: 'Password changed' }).waitFor();
    expect((await call(server.origin, 'POST', '/api/v1/auth/token', { body: { username: VIEWER.username, password: 'viewer-password-456' } })).status).toBe(
      200,
    );
    await page.click('#nav a[data-view="alerts"]');
    await page.locator('#conn-state[data-state="live"]').waitFor();
    expect(await page.isVisible('#console-view')).toBe(true);

    // The admin disables the viewer: the server closes the socket with 4401 and the page goes to sign-in.
    await page.waitForTimeout(300);
    await page.locator('#conn-state[data-state="live"]').waitFor();
    const users = await call(server.origin, 'GET', '/api/v1/users', { headers: bearer(adminToken) });
    const id = users.body.find((u: { username: string }) => u.username === VIEWER.username).id;
    expect((await call(server.origin, 'PATCH', `/api/v1/users/${id}`, { headers: bearer(adminToken), body: { disabled: true } })).status).toBe(200);
    await page.locator('#signin-view').waitFor({ state: 'visible', timeout: 8000 });
    expect(await page.textContent('#signin-message')).toMatch(/session has ended/);
  });

  it('says how long to wait after too many attempts (429 with Retry-After)', async () => {
    const { page } = admin;
    await page.locator('#signin-view').waitFor({ state: 'visible' });
    for (let i = 0; i < 3; i++) {
      await signIn(page, 'nobody@console.test', `wrong-password-${i}`);
      await page.locator('#signin-message:text-is("Wrong username or password.")').waitFor();
      await page.evaluate(() => (document.getElementById('signin-message')!.textContent = ''));
    }
    await signIn(page, 'nobody@console.test', 'wrong-password-x');
    await page.locator('#signin-message', { hasText: 'Too many sign-in attempts' }).waitFor();
    expect(await page.textContent('#signin-message')).toMatch(/Try again in (\d+ seconds?|\d+ minutes?|\d+ min \d+ s)\./);
    expect(await page.isDisabled('#signin-submit')).toBe(true);
    await shot(page, '09-sign-in-429');
    // The limit may be per username: another username may try again.
    await page.fill('#signin-username', ADMIN.username);
    expect(await page.isDisabled('#signin-submit')).toBe(false);
  });

  // ------------------------------------------------------------------ sessions

  describe('sessions', () => {
    let roamerId: string;
    const cookieOf = async (watched: WatchedPage) => (await watched.context.cookies()).find((c) => c.name === 'access_token')?.value;
    const meWith = async (token: string | undefined) =>
      (await call(server.origin, 'GET', '/api/v1/auth/me', { headers: { cookie: `access_token=${token}` } })).status;

    /** A device of the roamer: signed in, on the live alerts page with its socket open. */
    async function roamerDevice(userAgent?: string, existing?: WatchedPage): Promise<WatchedPage> {
      const device = existing ?? (await openConsole({ userAgent }));
      await signIn(device.page, ROAMER.username, ROAMER.password);
      await device.page.locator('#console-view').waitFor({ state: 'visible' });
      await socketLive(device.page);
      return device;
    }

    /** The live-alerts socket is open (its badge may be on a page not shown). */
    const socketLive = (page: Page) => page.locator('#conn-state[data-state="live"]').waitFor({ state: 'attached' });

    async function backAtSignIn(device: WatchedPage): Promise<void> {
      await device.page.locator('#signin-view').waitFor({ state: 'visible', timeout: 8000 });
      expect(await device.page.isVisible('#console-view')).toBe(false);
    }

    let here: WatchedPage;
    let firefox: WatchedPage;
    let hostile: WatchedPage;

    beforeAll(async () => {
      roamerId = (await createUser(server.origin, adminToken, ROAMER.username, 'analyst', ROAMER.password)).id;
    });

    it('lists my sessions on every device, marks this device, and shows a hostile user agent as text', async () => {
      here = await roamerDevice();
      firefox = await roamerDevice(FIREFOX_ON_WINDOWS);
      hostile = await roamerDevice(XSS_TITLE);
      const { page } = here;
      await page.evaluate(() => {
        (window as CanaryWindow).__xss = false;
        (window as CanaryWindow).alert = () => ((window as CanaryWindow).__xss = true);
      });

      expect(await page.isVisible('#nav a[data-view="sessions"]')).toBe(true);
      await page.click('#nav a[data-view="sessions"]');
      await page.locator('#view-sessions').waitFor({ state: 'visible' });
      const rows = page.locator('#sessions-body tr.session-row');
      await page.waitForFunction(() => document.querySelectorAll('#sessions-body tr.session-row').length === 3);
      expect(await page.title()).toBe('Sessions · AuroraSOC');

      // This device first, and only it is marked.
      const current = page.locator('#sessions-body tr[data-current="true"]');
      expect(await current.count()).toBe(1);
      expect(await rows.first().getAttribute('data-current')).toBe('true');
      expect(await current.locator('.pill-current').textContent()).toBe('This device');
      expect(await page.locator('#sessions-body .pill-current').count()).toBe(1);
      expect(await current.locator('.device-name').textContent()).toBe('Chrome on Linux');
      expect(await current.textContent()).toContain('active now');
      expect(await page.textContent('#sessions-summary')).toBe('You are signed in on this device and 2 others.');

      const listed = await call(server.origin, 'GET', '/api/v1/auth/sessions', { headers: { cookie: `access_token=${await cookieOf(here)}` } });
      expect(listed.status).toBe(200);
      expect(listed.body.filter((s: { current: boolean }) => s.current)).toHaveLength(1);
      expect(await current.getAttribute('data-id')).toBe(listed.body.find((s: { current: boolean }) => s.current).id);

      // The others: device from the user agent, address, sign-in method, times.
      const firefoxRow = page.locator('#sessions-body tr.session-row', { has: page.locator('.device-name:text-is("Firefox on Windows")') });
      expect(await firefoxRow.locator('.ip').textContent()).toBe('127.0.0.1');
      expect(await firefoxRow.locator('.methods').textContent()).toBe('password');
      expect(await firefoxRow.locator('td.when').first().locator('.sub').textContent()).toMatch(/^(just now|\d+ min ago)$/);
      expect(await firefoxRow.locator('td.when').last().locator('.sub').textContent()).toMatch(/^in \d+ (h|min|days?)$/);
      expect(await firefoxRow.locator('td.when').nth(1).textContent()).toMatch(/^(just now|\d+ min ago)$/);
      expect(await page.getByRole('button', { name: 'Sign out Firefox on Windows, 127.0.0.1', exact: true }).count()).toBe(1);
      expect(await page.getByRole('button', { name: 'Sign out this device, Chrome on Linux, 127.0.0.1', exact: true }).count()).toBe(1);

      // The attacker-chosen user agent is text: no element made of it, no script run.
      const hostileRow = page.locator('#sessions-body tr.session-row', { has: page.locator(`.device-name:text-is("${XSS_TITLE}")`) });
      expect(await hostileRow.count()).toBe(1);
      expect(await hostileRow.locator('.device-name').getAttribute('title')).toBe(XSS_TITLE);
      expect(await page.getByRole('button', { name: `Sign out ${XSS_TITLE}, 127.0.0.1`, exact: true }).count()).toBe(1);
      expect(await page.locator('img').count()).toBe(0);
      await page.waitForTimeout(200);
      expect(await page.evaluate(() => (window as CanaryWindow).__xss)).toBe(false);

      await shot(page, '10-sessions');
      if (DOCS_SCREENSHOTS) {
        const box = (await page.locator('#view-sessions').boundingBox())!;
        await page.screenshot({
          path: path.join(ROOT, 'docs', 'console-sessions.png'),
          clip: { x: 0, y: 0, width: 1280, height: Math.ceil(box.y + box.height + 24) },
        });
      }
    });

    it('"Sign out" on another device’s row ends that session: its socket closes (4401) and it is back at sign-in', async () => {
      const { page } = here;
      const firefoxToken = await cookieOf(firefox);
      expect(await meWith(firefoxToken)).toBe(200);
      const button = page.getByRole('button', { name: 'Sign out Firefox on Windows, 127.0.0.1', exact: true });
      await button.click();
      await backAtSignIn(firefox);
      expect(await firefox.page.textContent('#signin-message')).toMatch(/session has ended/);
      expect(await meWith(firefoxToken)).toBe(401);

      await page.waitForFunction(() => document.querySelectorAll('#sessions-body tr.session-row').length === 2);
      expect(await page.locator('#sessions-body .device-name:text-is("Firefox on Windows")').count()).toBe(0);
      expect(await page.textContent('#flash')).toBe('Signed out Firefox on Windows, 127.0.0.1.');
      expect(await page.evaluate(() => document.activeElement?.id)).toBe('sessions-summary');
      expect(await page.isVisible('#console-view')).toBe(true);
      expect(await meWith(await cookieOf(here))).toBe(200);
      expect(await meWith(await cookieOf(hostile))).toBe(200);
    });

    it('"Sign out everywhere else" (confirmed) ends every other session and keeps this one', async () => {
      const { page } = here;
      await roamerDevice(undefined, firefox);
      await page.click('#sessions-refresh');
      await page.waitForFunction(() => document.querySelectorAll('#sessions-body tr.session-row').length === 3);

      // Cancel first: nothing ends.
      await page.click('#sessions-end-others');
      await page.locator('#confirm-dialog').waitFor({ state: 'visible' });
      expect(await page.textContent('#confirm-text')).toContain('all 2 other sessions');
      await page.click('#confirm-cancel');
      expect(await meWith(await cookieOf(firefox))).toBe(200);

      const hostileToken = await cookieOf(hostile);
      await page.click('#sessions-end-others');
      await page.click('#confirm-ok');
      // One learns it from its live socket, the other on its next request (a reload).
      await backAtSignIn(firefox);
      expect(await meWith(hostileToken)).toBe(401);
      await hostile.page.reload();
      await backAtSignIn(hostile);

      await page.waitForFunction(() => document.querySelectorAll('#sessions-body tr.session-row').length === 1);
      expect(await page.locator('#sessions-body tr[data-current="true"]').count()).toBe(1);
      expect(await page.textContent('#sessions-summary')).toBe('You are signed in on this device only.');
      expect(await page.isDisabled('#sessions-end-others')).toBe(true);
      expect(await page.isVisible('#console-view')).toBe(true);
      // This device's own socket stayed open.
      await page.waitForTimeout(300);
      expect(await page.getAttribute('#conn-state', 'data-state')).toBe('live');
    });

    it('"Sign out" on this device’s row signs the console out', async () => {
      const { page } = here;
      const token = await cookieOf(here);
      await page.getByRole('button', { name: 'Sign out this device, Chrome on Linux, 127.0.0.1', exact: true }).click();
      await backAtSignIn(here);
      expect(await page.textContent('#signin-message')).toBe('You have signed out of this device.');
      expect(await meWith(token)).toBe(401);
      await page.reload();
      await page.locator('#signin-view').waitFor({ state: 'visible' });
    });

    it('an admin sees a user’s sessions on the users page and ends them all (confirmed): that browser returns to sign-in', async () => {
      await roamerDevice(undefined, here);
      await roamerDevice(undefined, firefox);
      const { page } = admin;
      await page.reload();
      await signIn(page, ADMIN.username, ADMIN.password);
      await page.locator('#console-view').waitFor({ state: 'visible' });
      await page.click('#nav a[data-view="users"]');
      const row = page.locator(`#users-body tr.user-row[data-username="${ROAMER.username}"]`);
      const toggle = row.locator('button.sessions-toggle');
      await row.locator('.sessions-count:text-is("2 sessions")').waitFor();
      expect(await toggle.getAttribute('aria-expanded')).toBe('false');
      expect(await page.getByRole('button', { name: `2 sessions of ${ROAMER.username}` }).count()).toBe(1);

      await toggle.click();
      expect(await toggle.getAttribute('aria-expanded')).toBe('true');
      const panel = page.locator(`#user-sessions-${roamerId}`);
      await panel.locator('tr.session-row').nth(1).waitFor();
      expect(await panel.locator('tr.session-row').count()).toBe(2);
      expect(await panel.locator('.device-name').allTextContents()).toEqual(['Firefox on Windows', 'Chrome on Linux']);
      expect(await panel.locator('.pill-current').count()).toBe(0);
      await shot(page, '11-users-sessions');

      const endAll = page.getByRole('button', { name: `End all sessions of ${ROAMER.username}`, exact: true });
      await endAll.click();
      expect(await page.textContent('#confirm-text')).toContain(`End all 2 sessions of ${ROAMER.username}?`);
      await page.click('#confirm-cancel');
      expect(await meWith(await cookieOf(here))).toBe(200);

      await endAll.click();
      await page.click('#confirm-ok');
      await backAtSignIn(here);
      await backAtSignIn(firefox);
      expect(await here.page.textContent('#signin-message')).toMatch(/session has ended/);
      await row.locator('.sessions-count:text-is("0 sessions")').waitFor();
      expect(await panel.textContent()).toContain(`${ROAMER.username} is not signed in anywhere.`);
      expect(await page.isDisabled(`#user-sessions-${roamerId} .end-user-sessions`)).toBe(true);
      expect(await page.evaluate(() => document.activeElement?.classList.contains('sessions-toggle'))).toBe(true);
      const left = await call(server.origin, 'GET', `/api/v1/users/${roamerId}/sessions`, { headers: bearer(adminToken) });
      expect(left.status).toBe(200);
      expect(left.body).toEqual([]);

      // The admin's own row points to the Sessions page instead of ending them here.
      const own = page.locator(`#users-body tr.user-row[data-username="${ADMIN.username}"]`);
      await own.locator('button.sessions-toggle').click();
      await page.locator('#users-body tr.user-sessions a[href="#/sessions"]').waitFor();
      expect(await page.locator('#users-body tr.user-sessions .pill-current').count()).toBe(1);
    });
  });
});
