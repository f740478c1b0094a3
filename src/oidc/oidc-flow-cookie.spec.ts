import { OidcFlowCookie, type OidcFlow } from './oidc-flow-cookie';

const FLOW: OidcFlow = { state: 's', nonce: 'n', codeVerifier: 'v', returnTo: '/alerts', expiresAt: Date.now() + 60_000 };

describe('OidcFlowCookie', () => {
  const cookie = new OidcFlowCookie('a-jwt-secret-of-at-least-32-characters!!');

  it('opens what it sealed', () => {
    expect(cookie.open(cookie.seal(FLOW))).toEqual(FLOW);
  });

  it('refuses a tampered body, a forged MAC, another key, an expired flow and junk', () => {
    const sealed = cookie.seal(FLOW);
    const [body, mac] = sealed.split('.');
    const tampered = Buffer.from(JSON.stringify({ ...FLOW, returnTo: '//evil' })).toString('base64url');
    expect(cookie.open(`${tampered}.${mac}`)).toBeNull();
    expect(cookie.open(`${body}.${mac.slice(0, -2)}AA`)).toBeNull();
    expect(new OidcFlowCookie('another-secret-of-at-least-32-characters').open(sealed)).toBeNull();
    expect(cookie.open(cookie.seal({ ...FLOW, expiresAt: Date.now() - 1 }))).toBeNull();
    expect(cookie.open(undefined)).toBeNull();
    expect(cookie.open('nodot')).toBeNull();
  });
});
