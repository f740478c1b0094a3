import { randomUUID } from 'node:crypto';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey } from 'jose';

/**
 * A real OpenID Provider (panva's oidc-provider 9, certified) inside the test process, on a free
 * port: one confidential client, accounts with groups, and an interaction endpoint that signs in
 * whichever account the test names next (no HTML forms to scrape). Its signing key is the test's
 * own, so a test can also sign back-channel logout tokens that the provider's JWKS vouches for.
 */

export interface TestAccount {
  email: string;
  /** Sent as the email_verified claim when set. */
  emailVerified?: boolean;
  groups: string[];
  /** The provider's `amr` for this sign-in (e.g. ['pwd', 'mfa']). */
  amr?: string[];
}

export interface TestProvider {
  issuer: string;
  clientId: string;
  clientSecret: string;
  accounts: Map<string, TestAccount>;
  /** The account (its id, the subject) the next interaction signs in. */
  signInAs(accountId: string): void;
  /** A logout token signed with the provider's key; `overrides` replace or (undefined) drop claims. */
  logoutToken(claims: Record<string, unknown>, options?: { key?: CryptoKey }): Promise<string>;
  /** A key the provider does not publish. */
  foreignKey(): Promise<CryptoKey>;
  close(): Promise<void>;
}

interface InteractionProvider {
  interactionDetails(req: http.IncomingMessage, res: http.ServerResponse): Promise<{ uid: string; params: Record<string, unknown>; prompt: { name: string } }>;
  interactionFinished(req: http.IncomingMessage, res: http.ServerResponse, result: unknown, options?: unknown): Promise<void>;
  callback(): (req: http.IncomingMessage, res: http.ServerResponse) => void;
  Grant: new (fields: { accountId: string; clientId: string }) => { addOIDCScope(scope: string): void; save(): Promise<string> };
}

const BACKCHANNEL_LOGOUT_EVENT = 'http://schemas.openid.net/event/backchannel-logout';

export async function startTestProvider(redirectUris: string[]): Promise<TestProvider> {
  // Not a literal: the package ships no types (the shape used is InteractionProvider above).
  const moduleName = 'oidc-provider';
  const { default: Provider } = (await import(moduleName)) as { default: new (issuer: string, config: unknown) => InteractionProvider };
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const jwk = { ...(await exportJWK(privateKey)), kid: 'test-key', alg: 'RS256', use: 'sig' };
  const accounts = new Map<string, TestAccount>();
  let next = '';
  const clientId = 'aurora-soc';
  const clientSecret = `secret-${randomUUID()}`;

  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: clientId,
        client_secret: clientSecret,
        redirect_uris: redirectUris,
        grant_types: ['authorization_code'],
        response_types: ['code'],
        backchannel_logout_uri: redirectUris[0].replace('/callback', '/backchannel-logout'),
        backchannel_logout_session_required: true,
      },
    ],
    jwks: { keys: [jwk] },
    cookies: { keys: [`cookie-key-${randomUUID()}`] },
    // Scope claims straight into the ID token (the relying party reads them there).
    conformIdTokenClaims: false,
    claims: { openid: ['sub', 'amr'], email: ['email', 'email_verified', 'groups'] },
    features: { devInteractions: { enabled: false }, backchannelLogout: { enabled: true } },
    interactions: { url: (_ctx: unknown, interaction: { uid: string }) => `/interaction/${interaction.uid}` },
    findAccount: (_ctx: unknown, id: string) => {
      const account = accounts.get(id);
      if (!account) return undefined;
      return { accountId: id, claims: () => ({ sub: id, email: account.email, email_verified: account.emailVerified, groups: account.groups }) };
    },
  });
  const handle = provider.callback();

  server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    if (!req.url?.startsWith('/interaction/')) return handle(req, res);
    void (async () => {
      const details = await provider.interactionDetails(req, res);
      const account = accounts.get(next);
      if (!account) {
        await provider.interactionFinished(req, res, { error: 'access_denied', error_description: 'no such account' });
        return;
      }
      const grant = new provider.Grant({ accountId: next, clientId });
      grant.addOIDCScope(typeof details.params.scope === 'string' ? details.params.scope : 'openid');
      const grantId = await grant.save();
      await provider.interactionFinished(
        req,
        res,
        { login: { accountId: next, amr: account.amr ?? ['pwd'] }, consent: { grantId } },
        { mergeWithLastSubmission: false },
      );
    })().catch((error: Error) => {
      res.statusCode = 500;
      res.end(error.message);
    });
  });

  const sign = (claims: Record<string, unknown>, key: CryptoKey) =>
    new SignJWT(Object.fromEntries(Object.entries(claims).filter(([, value]) => value !== undefined)))
      .setProtectedHeader({ alg: 'RS256', kid: 'test-key', typ: 'logout+jwt' })
      .sign(key);

  return {
    issuer,
    clientId,
    clientSecret,
    accounts,
    signInAs: (accountId) => void (next = accountId),
    logoutToken: (claims, options = {}) =>
      sign(
        {
          iss: issuer,
          aud: clientId,
          iat: Math.floor(Date.now() / 1000),
          jti: randomUUID(),
          events: { [BACKCHANNEL_LOGOUT_EVENT]: {} },
          ...claims,
        },
        options.key ?? privateKey,
      ),
    foreignKey: async () => (await generateKeyPair('RS256')).privateKey,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
