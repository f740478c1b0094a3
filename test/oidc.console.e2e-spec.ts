import { chromium, type Browser, type Page } from 'playwright-core';
import { enrolTotp } from './support/mfa';
import { freePort } from './support/server-process';
import { databaseForFile, startTestApp, type TestApp } from './support/test-app';
import { startTestProvider, type TestProvider } from './oidc-test-provider';

/**
 * Single sign-on in the console, in Debian's headless Chromium: "Sign in with SSO" appears because
 * /auth/providers says so, leaves for the real provider (oidc-provider 9 in this process) and comes
 * back signed in; a refused sign-in comes back with its sso_error shown in words.
 */

jest.setTimeout(60_000);

const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-sync'];

describe('console single sign-on in a real browser', () => {
  let db: Awaited<ReturnType<typeof databaseForFile>>;
  let provider: TestProvider;
  let app: TestApp;
  let browser: Browser;
  let origin: string;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    db = await databaseForFile();
    const port = await freePort();
    origin = `http://127.0.0.1:${port}`;
    provider = await startTestProvider([`${origin}/api/v1/auth/oidc/callback`]);
    const launching = chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
    app = await startTestApp(
      {
        PORT: String(port),
        ALLOWED_ORIGINS: origin,
        OIDC_ISSUER: provider.issuer,
        OIDC_CLIENT_ID: provider.clientId,
        OIDC_CLIENT_SECRET: provider.clientSecret,
        OIDC_ROLE_MAP: 'soc-analysts:analyst,soc-admins:admin',
      },
      db,
    );
    browser = await launching;
  });

  afterAll(async () => {
    await browser?.close();
    await app?.close();
    await provider?.close();
    await db?.drop();
  });

  afterEach(() => expect(pageErrors).toEqual([]));

  async function freshPage(): Promise<Page> {
    const context = await browser.newContext();
    const page = await context.newPage();
    page.setDefaultTimeout(10_000);
    page.on('pageerror', (error) => pageErrors.push(String(error)));
    await page.goto(`${origin}/#/alerts`);
    return page;
  }

  it('"Sign in with SSO" signs in through the provider and opens the console where the user was', async () => {
    provider.accounts.set('sub-browser-analyst', { email: 'analyst@corp.example', groups: ['soc-analysts'] });
    provider.signInAs('sub-browser-analyst');
    const page = await freshPage();
    await page.locator('#signin-sso').waitFor({ state: 'visible' });
    await page.click('#signin-sso');
    await page.locator('#whoami').filter({ hasText: 'analyst@corp.example' }).waitFor();
    expect(await page.locator('#whorole').textContent()).toBe('analyst');
    expect(new URL(page.url()).hash).toBe('#/alerts');
    await page.context().close();
  });

  it('a refused sign-in comes back to the sign-in page with the reason in words', async () => {
    provider.accounts.set('sub-browser-marketing', { email: 'marketing@corp.example', groups: ['marketing'] });
    provider.signInAs('sub-browser-marketing');
    const page = await freshPage();
    await page.locator('#signin-sso').waitFor({ state: 'visible' });
    await page.click('#signin-sso');
    await page.locator('#signin-message').filter({ hasText: 'no group that gives access' }).waitFor();
    expect(page.url()).not.toContain('sso_error');
    await page.context().close();
  });

  it('a sensitive action in a single-sign-on session is confirmed at the provider, then allowed', async () => {
    provider.accounts.set('sub-browser-admin', { email: 'sso-admin@corp.example', groups: ['soc-admins'] });
    provider.signInAs('sub-browser-admin');
    const page = await freshPage();
    const signInWithSso = async () => {
      await page.locator('#signin-sso').waitFor({ state: 'visible' });
      await page.click('#signin-sso');
      await page.locator('#whoami').filter({ hasText: 'sso-admin@corp.example' }).waitFor();
    };
    await signInWithSso();
    // A second factor enrolled here makes sensitive actions need a step-up.
    const first = (await page.context().cookies()).find((c) => c.name === 'access_token')!.value;
    await enrolTotp(origin, first);
    // A fresh single-sign-on session, with nothing verified in it yet.
    await page.context().clearCookies();
    await page.reload();
    await signInWithSso();
    const createUser = (username: string) =>
      page.evaluate(async (name) => {
        const reply = await fetch('/api/v1/users', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ username: name, password: 'a-long-password-123', role: 'viewer' }),
        });
        return { status: reply.status, error: ((await reply.json()) as { error?: string }).error };
      }, username);
    expect(await createUser('before@corp.example')).toEqual({ status: 403, error: 'step_up_required' });

    // Through the console's API layer: the step-up dialog offers the provider.
    // (A string, not a function: the test's compiler would turn import() into require().)
    void page
      .evaluate("import('/js/api.js').then((api) => api.post('/users', { username: 'during@corp.example', password: 'a-long-password-123', role: 'viewer' }))")
      .catch(() => undefined); // the page leaves for the provider meanwhile
    await page.locator('#stepup-sso').waitFor({ state: 'visible' });
    await page.click('#stepup-sso');
    await page.locator('#whoami').filter({ hasText: 'sso-admin@corp.example' }).waitFor();
    expect(new URL(page.url()).hash).toBe('#/alerts');
    expect(await createUser('after@corp.example')).toEqual({ status: 201, error: undefined });
    await page.context().close();
  });
});
