/**
 * The console's admin pages in Debian's headless Chromium (issue 19, admin gaps), at a desktop and
 * a phone width: rotating a key with a grace period, the one-time secret never replaced without
 * asking and gone after leaving the page, resetting another user's password, a locked-out user
 * shown and unlocked, a role select that arrow keys only browse, and the audit page (live, actor,
 * IP and time filters, "Load older", NDJSON export). Each page is checked with axe-core. One app
 * and one browser for the file.
 */
import { readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import type { Browser, Page } from 'playwright-core';
import { apiKey, bearer, call, createUser, login, waitFor } from './support/http';
import {
  DESKTOP,
  PHONE,
  expectAccessible,
  expectWatchedClean,
  launchBrowser,
  openWatchedPage,
  signIn,
  startConsoleApp,
  type ConsoleApp,
  type WatchedPage,
} from './support/browser';
import { ADMIN, databaseForFile } from './support/test-app';

jest.setTimeout(90_000);

const MAX_FAILURES = 3;
/** auth.jwt failures made before the pages open: more than one page (100) of the audit list. */
const PAGING_EVENTS = 130;
/** Addresses the paging events come from (X-Forwarded-For): under the flood limit of 60 a minute each. */
const PAGING_ADDRESSES = ['192.0.2.11', '192.0.2.12', '192.0.2.13'];

describe('console admin pages in a real browser', () => {
  let db: Awaited<ReturnType<typeof databaseForFile>>;
  let server: ConsoleApp;
  let browser: Browser;
  let adminToken: string;
  let startedAt: number;
  let pagingTotal = 0;
  const watched: WatchedPage[] = [];

  const api = (method: string, path: string, body?: unknown) => call(server.origin, method, `/api/v1${path}`, { headers: bearer(adminToken), body });
  const tag = () => randomUUID().slice(0, 8);
  const signInStatus = async (username: string, password: string) =>
    (await call(server.origin, 'POST', '/api/v1/auth/token', { body: { username, password } })).status;

  beforeAll(async () => {
    startedAt = Date.now();
    db = await databaseForFile();
    const launching = launchBrowser();
    // TRUST_PROXY: the paging events come from several addresses; the browser's stays 127.0.0.1.
    server = await startConsoleApp(db, { LOGIN_MAX_FAILURES_PER_USER: String(MAX_FAILURES), LOGIN_MAX_PER_IP: '1000', TRUST_PROXY: 'loopback' });
    browser = await launching;
    adminToken = await login(server.origin, ADMIN.username, ADMIN.password);
    // Events to page through, cheap to make: requests with a token that is not one (auth.jwt failures).
    for (let i = 0; i < PAGING_EVENTS; i += 10) {
      const batch = Array.from({ length: Math.min(10, PAGING_EVENTS - i) }, (_, j) =>
        call(server.origin, 'GET', '/api/v1/auth/me', { headers: { authorization: 'Bearer not-a-token', 'x-forwarded-for': PAGING_ADDRESSES[(i + j) % 3] } }),
      );
      for (const reply of await Promise.all(batch)) expect(reply.status).toBe(401);
    }
    expect(
      await waitFor(async () => {
        pagingTotal = (await api('GET', '/audit/events?type=auth.jwt&outcome=failure&limit=1000')).body.length;
        return pagingTotal >= PAGING_EVENTS;
      }),
    ).toBe(true);
  });

  afterAll(async () => {
    for (const page of watched) await page.context.close().catch(() => undefined);
    await browser?.close();
    await server?.close();
    await db?.drop();
  });

  afterEach(() => expectWatchedClean(watched));

  /** Opens a page through the URL (the same at every width; on a phone the menu is folded). */
  async function go(page: Page, view: string): Promise<void> {
    await page.evaluate((name) => (location.hash = `#/${name}`), view);
    await page.locator(`#view-${view}`).waitFor({ state: 'visible' });
  }

  /** A datetime-local value (the browser's time zone, to the second) for an epoch time. */
  const localInput = (page: Page, ms: number) =>
    page.evaluate((at) => {
      const d = new Date(at);
      const pad = (n: number) => String(n).padStart(2, '0');
      return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
    }, ms);

  const audit = (page: Page) =>
    page.evaluate(() =>
      [...document.querySelectorAll('#audit-body tr')].map((row) => ({
        id: (row as HTMLElement).dataset.id,
        type: row.querySelector('td:nth-child(3)')?.textContent,
        actor: row.querySelector('td:nth-child(5)')?.textContent,
        ip: row.querySelector('td:nth-child(6)')?.textContent,
      })),
    );

  describe.each([
    ['1440 px', DESKTOP],
    ['390 px', PHONE],
  ])('at %s', (width, viewport) => {
    let page: Page;

    beforeAll(async () => {
      const opened = await openWatchedPage(browser, server.origin, viewport);
      watched.push(opened);
      page = opened.page;
      await signIn(page, ADMIN.username, ADMIN.password);
      await page.locator('#console-view').waitFor({ state: 'visible' });
    });

    it('API keys: rotates with a grace period (old and new secret both work), never replaces a shown secret silently, and clears it on leaving', async () => {
      const service = `siem-forwarder-${tag()}`;
      const made = await api('POST', '/auth/api-keys', { service_name: service, permissions: ['alerts:read'] });
      expect(made.status).toBe(201);
      const oldSecret: string = made.body.api_key;
      const works = async (secret: string) => (await call(server.origin, 'GET', '/api/v1/alerts?limit=1', { headers: apiKey(secret) })).status;

      await go(page, 'keys');
      const row = page.locator(`#keys-body tr.key-row[data-id="${made.body.id}"]`);
      await row.waitFor();
      // Each row's buttons say which key they act on; each cell is labelled by its column.
      const rotate = page.getByRole('button', { name: `Rotate ${service} (${made.body.key_prefix})`, exact: true });
      expect(await rotate.count()).toBe(1);
      expect(await row.locator('td').evaluateAll((cells) => cells.map((cell) => (cell as HTMLElement).dataset.label))).toEqual([
        'Service / prefix',
        'Permissions',
        'Allowed from',
        'Rate limit',
        'Created / expires',
        'Last used',
        'State / revoked',
        'Actions',
      ]);

      // A key made in the form: its secret is shown once.
      await page.fill('#key-service', `form-made-${tag()}`);
      await page.click('#key-create');
      await page.locator('#key-issued').waitFor({ state: 'visible' });
      const first = (await page.textContent('#key-issued-value')) ?? '';
      expect(first).toMatch(/^aurora_[0-9A-Za-z]{38}$/);

      // Rotating while it is shown asks first (an in-page dialog); cancelling keeps it.
      await rotate.click();
      await page.locator('#confirm-dialog').waitFor({ state: 'visible' });
      expect(await page.textContent('#confirm-text')).toContain('still shown');
      await page.click('#confirm-cancel');
      await page.locator('#confirm-dialog').waitFor({ state: 'hidden' });
      expect(await page.isVisible('#rotate-dialog')).toBe(false);
      expect(await page.textContent('#key-issued-value')).toBe(first);

      // Confirmed: the grace dialog, 1 hour, and the new secret replaces the old on screen.
      await rotate.click();
      await page.locator('#confirm-dialog').waitFor({ state: 'visible' });
      await page.click('#confirm-ok');
      await page.locator('#rotate-dialog').waitFor({ state: 'visible' });
      await page.check('#grace-3600');
      const rotated = page.waitForResponse((response) => response.url().endsWith(`/auth/api-keys/${made.body.id}/rotate`));
      await page.click('#rotate-ok');
      expect((await rotated).request().postDataJSON()).toEqual({ grace_period_seconds: 3600 });
      await page.waitForFunction((old) => document.querySelector('#key-issued-value')?.textContent !== old, first);
      const newSecret = (await page.textContent('#key-issued-value')) ?? '';
      expect(newSecret).toMatch(/^aurora_[0-9A-Za-z]{38}$/);
      expect(await page.textContent('#key-issued-kind')).toBe('New secret for');
      expect(await page.textContent('#key-issued-note')).toMatch(/\(1 hour\), then never again\.$/);
      expect(await works(newSecret)).toBe(200);
      expect(await works(oldSecret)).toBe(200);
      await expectAccessible(page, `API keys at ${width}`);

      // Leaving the page clears the secret; it is not there on coming back.
      await go(page, 'users');
      expect(await page.isVisible('#key-issued')).toBe(false);
      expect(await page.textContent('#key-issued-value')).toBe('');
      await go(page, 'keys');
      await row.waitFor();
      expect(await page.isVisible('#key-issued')).toBe(false);
    });

    it('users: shows a locked-out user with a badge, unlocks them, resets a password, and a role select that ArrowUp only browses', async () => {
      const locked = await createUser(server.origin, adminToken, `locked-${tag()}@admin.test`, 'viewer', 'locked-password-123');
      const resetee = await createUser(server.origin, adminToken, `reset-${tag()}@admin.test`, 'viewer', 'before-reset-123');
      const promoted = await createUser(server.origin, adminToken, `role-${tag()}@admin.test`, 'operator');
      const sso = await createUser(server.origin, adminToken, `sso-${tag()}@admin.test`, 'viewer');
      // As if single sign-on had created it (on PostgreSQL; the embedded database is the app's own).
      if (db.url) {
        const client = new Client({ connectionString: db.url });
        await client.connect();
        await client.query('UPDATE users SET sso_subject = $1 WHERE id = $2', [`subject-${tag()}`, sso.id]).finally(() => client.end());
      }
      for (let i = 0; i < MAX_FAILURES; i++) expect(await signInStatus(locked.username, `wrong-password-${i}-x`)).toBe(401);
      expect(await signInStatus(locked.username, locked.password)).toBe(429);

      await go(page, 'users');
      const lockedRow = page.locator(`#users-body tr.user-row[data-id="${locked.id}"]`);
      const badge = lockedRow.locator('.lock-badge');
      await badge.waitFor();
      expect(await badge.textContent()).toMatch(/^Locked until \d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);
      expect(await lockedRow.locator('td').evaluateAll((cells) => cells.map((cell) => (cell as HTMLElement).dataset.label))).toEqual([
        'Username',
        'Role',
        'State',
        'Created',
        'Sessions',
        'Actions',
      ]);
      await expectAccessible(page, `users at ${width}`);

      await page.getByRole('button', { name: `Unlock ${locked.username}`, exact: true }).click();
      await badge.waitFor({ state: 'detached' });
      expect(await signInStatus(locked.username, locked.password)).toBe(200);

      // Reset another user's password in a dialog; the user signs in with the new one.
      await page.getByRole('button', { name: `Reset password of ${resetee.username}`, exact: true }).click();
      await page.locator('#user-password-dialog').waitFor({ state: 'visible' });
      await page.fill('#user-new-password', 'too-short');
      await page.press('#user-new-password', 'Enter');
      await page.locator('#user-password-message', { hasText: 'at least 12 characters' }).waitFor();
      await page.fill('#user-new-password', 'after-reset-password-1');
      await page.fill('#user-new-password-repeat', 'after-reset-password-2');
      await page.click('#user-password-ok');
      await page.locator('#user-password-message', { hasText: 'differ' }).waitFor();
      await page.fill('#user-new-password-repeat', 'after-reset-password-1');
      await page.click('#user-password-ok');
      await page.locator('#user-password-dialog').waitFor({ state: 'hidden' });
      expect(await signInStatus(resetee.username, 'after-reset-password-1')).toBe(200);
      expect(await signInStatus(resetee.username, resetee.password)).toBe(401);

      // A single-sign-on user has no password: the server's 409 is said in the dialog, which stays open.
      if (db.url) {
        await page.getByRole('button', { name: `Reset password of ${sso.username}`, exact: true }).click();
        await page.fill('#user-new-password', 'sso-password-123');
        await page.fill('#user-new-password-repeat', 'sso-password-123');
        await page.click('#user-password-ok');
        await page.locator('#user-password-message', { hasText: 'single sign-on' }).waitFor();
        expect(await page.isVisible('#user-password-dialog')).toBe(true);
        await page.click('#user-password-cancel');
        await page.locator('#user-password-dialog').waitFor({ state: 'hidden' });
        expect(await page.evaluate(() => document.activeElement?.getAttribute('aria-label'))).toBe(`Reset password of ${sso.username}`);
      }

      // ArrowUp on a role select browses: no dialog until Enter (or the Change button).
      const select = page.locator(`#users-body tr.user-row[data-id="${promoted.id}"] select.role-select`);
      await select.focus();
      await page.keyboard.press('ArrowUp');
      await page.locator(`#users-body tr.user-row[data-id="${promoted.id}"] button.role-apply`).waitFor({ state: 'visible' });
      expect(await select.inputValue()).toBe('analyst');
      await page.waitForTimeout(300);
      expect(await page.isVisible('#confirm-dialog')).toBe(false);
      expect(await page.getByRole('button', { name: `Change the role of ${promoted.username} to analyst`, exact: true }).count()).toBe(1);
      await page.keyboard.press('Enter');
      await page.locator('#confirm-dialog').waitFor({ state: 'visible' });
      expect(await page.textContent('#confirm-text')).toContain(`from operator to analyst`);
      await page.click('#confirm-ok');
      const stored = async () => (await api('GET', '/users')).body.find((user: { id: string }) => user.id === promoted.id).role;
      for (let i = 0; i < 100 && (await stored()) !== 'analyst'; i++) await page.waitForTimeout(50);
      expect(await stored()).toBe('analyst');
    });

    it('audit: new events arrive live under the filters; actor, IP and time filters; "Load older" pages; NDJSON export', async () => {
      await go(page, 'audit');
      await page.locator('#audit-live[data-state="live"]').waitFor();
      await page.locator('#audit-body tr').first().waitFor();

      // Live: a failed sign-in made over HTTP appears at the top without a reload.
      const alice = `live-alice-${tag()}@admin.test`;
      const bob = `live-bob-${tag()}@admin.test`;
      expect(await signInStatus(alice, 'not-the-password-1')).toBe(401);
      await page.waitForFunction((name) => document.querySelector('#audit-body tr td:nth-child(5)')?.textContent === name, alice);

      // Actor filter: only alice's events, and only hers arrive live.
      await page.fill('#audit-actor', alice);
      await page.press('#audit-actor', 'Enter');
      await page.waitForFunction(() => document.querySelectorAll('#audit-body tr').length === 1);
      expect(await signInStatus(bob, 'not-the-password-1')).toBe(401);
      expect(await signInStatus(alice, 'not-the-password-2')).toBe(401);
      await page.waitForFunction(() => document.querySelectorAll('#audit-body tr').length === 2);
      expect((await audit(page)).map((event) => event.actor)).toEqual([alice, alice]);

      // IP filter: this browser's address matches; another does not.
      await page.fill('#audit-ip', '127.0.0.1');
      await page.press('#audit-ip', 'Enter');
      await page.waitForFunction(() => document.querySelectorAll('#audit-body tr').length === 2);
      await page.fill('#audit-ip', '198.51.100.77');
      await page.press('#audit-ip', 'Enter');
      await page.locator('#audit-empty').waitFor({ state: 'visible' });
      await page.click('#audit-clear');
      await page.waitForFunction(() => document.querySelectorAll('#audit-body tr').length > 2);

      // A time range in the future holds nothing; one around this test holds alice's events.
      await page.fill('#audit-since', await localInput(page, Date.now() + 3600_000));
      await page.click('#audit-apply');
      await page.locator('#audit-empty').waitFor({ state: 'visible' });
      await page.fill('#audit-since', await localInput(page, startedAt - 60_000));
      await page.fill('#audit-until', await localInput(page, Date.now() + 60_000));
      await page.fill('#audit-actor', alice);
      await page.click('#audit-apply');
      await page.waitForFunction(() => document.querySelectorAll('#audit-body tr').length === 2);

      // Load older: 100 newest, then the rest, without repeats, in order.
      await page.fill('#audit-actor', '');
      await page.fill('#audit-type', 'auth.jwt');
      await page.selectOption('#audit-outcome', 'failure');
      await page.click('#audit-apply');
      await page.waitForFunction(() => document.querySelectorAll('#audit-body tr').length === 100);
      await page.locator('#audit-more').waitFor({ state: 'visible' });
      await page.click('#audit-more');
      await page.waitForFunction((total) => document.querySelectorAll('#audit-body tr').length >= total, pagingTotal);
      await page.locator('#audit-more').waitFor({ state: 'hidden' });
      const paged = await audit(page);
      expect(new Set(paged.map((event) => event.id)).size).toBe(paged.length);
      expect(paged.map((event) => Number(event.id))).toEqual([...paged.map((event) => Number(event.id))].sort((a, b) => b - a));
      expect(paged.every((event) => event.type === 'auth.jwt')).toBe(true);
      expect(await page.textContent('#audit-count')).toContain('the oldest reached');
      await expectAccessible(page, `audit at ${width}`);

      // Export the time range as NDJSON: a file named for today, one event per line, oldest first.
      const downloading = page.waitForEvent('download');
      await page.click('#audit-export');
      const download = await downloading;
      expect(download.suggestedFilename()).toMatch(/^aurora-audit-\d{4}-\d{2}-\d{2}\.ndjson$/);
      const lines = readFileSync(await download.path(), 'utf8')
        .split('\n')
        .filter(Boolean);
      const exported = lines.map((line) => JSON.parse(line) as { seq: number; actor: string; created_at: string; hash: string });
      expect(exported.length).toBeGreaterThanOrEqual(PAGING_EVENTS + 2);
      expect(exported.map((event) => event.seq)).toEqual([...exported.map((event) => event.seq)].sort((a, b) => a - b));
      expect(exported.filter((event) => event.actor === alice)).toHaveLength(2);
      expect(exported.every((event) => Date.parse(event.created_at) >= Math.floor((startedAt - 60_000) / 1000) * 1000)).toBe(true);
      expect(exported.every((event) => /^[0-9a-f]{64}$/.test(event.hash))).toBe(true);
      await page.locator('#flash', { hasText: `Exported ${exported.length.toLocaleString('en-US')} events as NDJSON.` }).waitFor();
      await page.click('#audit-clear');
    });
  });

  it('audit: the live feed reconnects as soon as the server answers again, not after the rest of its backoff', async () => {
    const { page } = watched[0];
    await go(page, 'audit');
    await page.locator('#audit-live[data-state="live"]').waitFor();
    await server.close();
    await page.locator('#audit-live[data-state="reconnecting"]').waitFor();
    // Down long enough for the backoff to grow to several seconds (1, 2, 4, 8 … s).
    await page.waitForTimeout(10_000);
    server = await startConsoleApp(db, { LOGIN_MAX_FAILURES_PER_USER: String(MAX_FAILURES), LOGIN_MAX_PER_IP: '1000', TRUST_PROXY: 'loopback' }, server.port);
    const back = Date.now();
    await page.locator('#audit-live[data-state="live"]').waitFor({ timeout: 20_000 });
    // /healthz is probed about once a second: live within a few seconds, not after an 8–16 s backoff.
    expect(Date.now() - back).toBeLessThan(4000);
    // And the feed works: an event made now appears.
    const name = `after-restart-${tag()}@admin.test`;
    expect(await signInStatus(name, 'not-the-password-1')).toBe(401);
    await page.waitForFunction((actor) => document.querySelector('#audit-body tr td:nth-child(5)')?.textContent === actor, name);
  });
});
