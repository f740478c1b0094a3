/**
 * Second factors in the SOC console, in Debian's headless Chromium (playwright-core): enrolling an
 * authenticator app from the Security page (the QR code shown as an image, the recovery codes once),
 * the sign-in asking for the code after the password, a sensitive action prompting for a step-up
 * and then done, and a role in MFA_REQUIRED_ROLES sent to the Security page. TOTP codes are
 * computed here, as the phone would. No CSP violation, page error or native dialog anywhere.
 */
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { totpCode } from '../src/mfa/totp';
import { bearer, call, createUser, login } from './support/http';
import { freePort } from './support/server-process';
import { ADMIN, databaseForFile, startTestApp, type TestApp } from './support/test-app';

jest.setTimeout(90_000);

const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const STEP_UP_SECONDS = 3;
const tag = () => Math.random().toString(36).slice(2, 10);

interface Watched {
  page: Page;
  context: BrowserContext;
  problems: string[];
}

describe('SOC console: second factors in a real browser', () => {
  let db: Awaited<ReturnType<typeof databaseForFile>>;
  let t: TestApp;
  let origin: string;
  let browser: Browser;
  let adminToken: string;
  const opened: Watched[] = [];

  beforeAll(async () => {
    db = await databaseForFile();
    const launching = chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
    const port = await freePort();
    // localhost, not 127.0.0.1: WebAuthn refuses IP addresses as relying party ids.
    origin = `http://localhost:${port}`;
    t = await startTestApp(
      {
        PORT: String(port),
        ALLOWED_ORIGINS: origin,
        LOGIN_MAX_PER_IP: '1000',
        STEP_UP_MAX_AGE_SECONDS: String(STEP_UP_SECONDS),
        MFA_REQUIRED_ROLES: 'operator',
      },
      db,
    );
    browser = await launching;
    adminToken = await login(origin, ADMIN.username, ADMIN.password);
  });
  afterAll(async () => {
    for (const watched of opened) await watched.context.close().catch(() => undefined);
    await browser?.close();
    await t?.close();
    await db?.drop();
  });
  afterEach(() => {
    for (const watched of opened) expect(watched.problems).toEqual([]);
  });

  async function openConsole(): Promise<Watched> {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    page.setDefaultTimeout(10_000);
    const watched: Watched = { page, context, problems: [] };
    page.on('console', (msg) => {
      if (msg.text().includes('Content Security Policy')) watched.problems.push(msg.text());
    });
    page.on('pageerror', (error) => watched.problems.push(String(error)));
    page.on('dialog', (dialog) => {
      watched.problems.push(`native dialog: ${dialog.message()}`);
      void dialog.dismiss();
    });
    opened.push(watched);
    await page.goto(origin);
    return watched;
  }

  async function passwordStep(page: Page, username: string, password: string): Promise<void> {
    await page.locator('#signin-view').waitFor({ state: 'visible' });
    await page.fill('#signin-username', username);
    await page.fill('#signin-password', password);
    await page.click('#signin-submit');
  }

  async function person(role: string) {
    const username = `${role}-${tag()}@console-mfa.test`;
    const created = await createUser(origin, adminToken, username, role, `pw-${tag()}-${tag()}`);
    return { username, password: created.password };
  }

  /** A code of a step no earlier than `notBefore`, whichever is later: each step is accepted once. */
  const codeFrom = (secret: string, step: number) => totpCode(secret, step * 30_000);
  const stepNow = () => Math.floor(Date.now() / 30_000);

  it('enrols an authenticator app, asks for its code at sign-in, and prompts for a step-up before a sensitive action', async () => {
    const admin = await person('admin');
    const { page } = await openConsole();
    await passwordStep(page, admin.username, admin.password);
    await page.locator('#console-view').waitFor({ state: 'visible' });

    await page.click('a[data-view="security"]');
    await page.locator('#totp-start').click();
    await page.locator('#totp-form').waitFor({ state: 'visible' });
    const qr = page.locator('#totp-qr img');
    expect(await qr.getAttribute('src')).toMatch(/^data:image\/svg\+xml;base64,/);
    expect(await qr.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth > 0)).toBe(true);
    const secret = (await page.locator('#totp-secret').textContent())!.trim();
    expect(secret).toMatch(/^[A-Z2-7]{32}$/);
    const first = stepNow();
    await page.fill('#totp-code', codeFrom(secret, first));
    await page.click('#totp-confirm');
    await page.locator('#recovery-new').waitFor({ state: 'visible' });
    const codes = await page.locator('#recovery-list li').allTextContents();
    expect(codes).toHaveLength(10);
    await page.locator('#totp-state:text("On")').waitFor();
    await page.locator('#recovery-state:text-is("10 of 10 recovery codes left.")').waitFor();

    // Sign out; the sign-in now asks for the code after the password.
    await page.click('#signout');
    await passwordStep(page, admin.username, admin.password);
    await page.locator('#signin-mfa-form').waitFor({ state: 'visible' });
    expect(await page.locator('#console-view').isVisible()).toBe(false);
    await page.fill('#signin-code', '000000' === codeFrom(secret, first + 1) ? '111111' : '000000');
    await page.click('#signin-mfa-submit');
    await page.locator('#signin-mfa-message:has-text("not accepted")').waitFor();
    await page.fill('#signin-code', codeFrom(secret, first + 1));
    await page.click('#signin-mfa-submit');
    await page.locator('#console-view').waitFor({ state: 'visible' });
    expect(await page.locator('#whoami').textContent()).toBe(admin.username);

    // Past STEP_UP_MAX_AGE_SECONDS, creating a user prompts for the second factor, then is done.
    await page.waitForTimeout(STEP_UP_SECONDS * 1000 + 300);
    await page.click('a[data-view="users"]');
    const made = `made-${tag()}@console-mfa.test`;
    await page.fill('#user-username', made);
    await page.fill('#user-password', 'made-password-1234');
    await page.click('#user-create');
    await page.locator('#stepup-dialog').waitFor({ state: 'visible' });
    await page.fill('#stepup-code', 'not-a-code');
    await page.click('#stepup-ok');
    await page.locator('#stepup-message:has-text("not accepted")').waitFor();
    await page.fill('#stepup-code', codes[0]);
    await page.click('#stepup-ok');
    await page.locator('#stepup-dialog').waitFor({ state: 'hidden' });
    await page.locator(`#user-form-message:text-is("User ${made} created.")`).waitFor();
    const users = await call(origin, 'GET', '/api/v1/users', { headers: bearer(adminToken) });
    expect((users.body as Array<{ username: string }>).some((u) => u.username === made)).toBe(true);
  });

  it('adds a passkey on the Security page (a virtual authenticator), signs in with it alone, uses it as the second step and for a step-up', async () => {
    const admin = await person('admin');
    const { page, context } = await openConsole();
    const cdp = await context.newCDPSession(page);
    await cdp.send('WebAuthn.enable');
    await cdp.send('WebAuthn.addVirtualAuthenticator', {
      options: {
        protocol: 'ctap2',
        transport: 'internal',
        hasResidentKey: true,
        hasUserVerification: true,
        isUserVerified: true,
        automaticPresenceSimulation: true,
      },
    });
    await passwordStep(page, admin.username, admin.password);
    await page.locator('#console-view').waitFor({ state: 'visible' });
    await page.click('a[data-view="security"]');
    await page.fill('#passkey-name', 'Virtual key');
    await page.click('#passkey-add');
    await page.locator('#passkey-list strong:text-is("Virtual key")').waitFor();
    // The first factor: its recovery codes, once.
    expect(await page.locator('#recovery-list li').count()).toBe(10);

    // A passkey alone signs in: no username, no password.
    await page.click('#signout');
    await page.locator('#signin-view').waitFor({ state: 'visible' });
    await page.click('#signin-passkey');
    await page.locator('#console-view').waitFor({ state: 'visible' });
    expect(await page.locator('#whoami').textContent()).toBe(admin.username);

    // After the password, the passkey is offered as the second step.
    await page.click('#signout');
    await passwordStep(page, admin.username, admin.password);
    await page.locator('#signin-mfa-passkey').waitFor({ state: 'visible' });
    await page.click('#signin-mfa-passkey');
    await page.locator('#console-view').waitFor({ state: 'visible' });

    // And for a step-up.
    await page.waitForTimeout(STEP_UP_SECONDS * 1000 + 300);
    await page.click('a[data-view="users"]');
    const made = `passkey-made-${tag()}@console-mfa.test`;
    await page.fill('#user-username', made);
    await page.fill('#user-password', 'made-password-1234');
    await page.click('#user-create');
    await page.locator('#stepup-dialog').waitFor({ state: 'visible' });
    await page.click('#stepup-passkey');
    await page.locator('#stepup-dialog').waitFor({ state: 'hidden' });
    await page.locator(`#user-form-message:text-is("User ${made} created.")`).waitFor();
    const sessions = await call(
      origin,
      'GET',
      `/api/v1/users/${(await call(origin, 'GET', '/api/v1/users', { headers: bearer(adminToken) })).body.find((u: { username: string }) => u.username === admin.username).id}/sessions`,
      {
        headers: bearer(adminToken),
      },
    );
    const methods = (sessions.body as Array<{ auth_methods: string[] }>).map((s) => s.auth_methods.join('+')).sort();
    // Signing out ended the earlier ones; the one live now took the password and the passkey.
    expect(methods).toEqual(['pwd+webauthn']);
  });

  it('sends a person whose role requires a second factor to the Security page, and opens the console once they enrol', async () => {
    const operator = await person('operator');
    const { page } = await openConsole();
    await passwordStep(page, operator.username, operator.password);
    await page.locator('#view-security').waitFor({ state: 'visible' });
    await page.locator('#security-required').waitFor({ state: 'visible' });
    expect(await page.locator('a[data-view="alerts"]').isVisible()).toBe(false);
    expect(await page.locator('a[data-view="security"]').isVisible()).toBe(true);

    await page.locator('#totp-start').click();
    await page.locator('#totp-form').waitFor({ state: 'visible' });
    const secret = (await page.locator('#totp-secret').textContent())!.trim();
    await page.fill('#totp-code', codeFrom(secret, stepNow()));
    await page.click('#totp-confirm');
    await page.locator('#recovery-new').waitFor({ state: 'visible' });
    await page.locator('a[data-view="alerts"]').waitFor({ state: 'visible' });
  });
});
