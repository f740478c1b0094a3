import { loadConfig } from './app-config';

const BASE = { NODE_ENV: 'test', JWT_SECRET_KEY: 'x'.repeat(40), DATA_DIR: '/tmp/aurora-oidc-config-spec', ALLOWED_ORIGINS: 'https://soc.example.com' };
const SSO = { OIDC_ISSUER: 'https://idp.example.com/realms/soc', OIDC_CLIENT_ID: 'aurora', OIDC_CLIENT_SECRET: 's3cret', OIDC_ROLE_MAP: 'soc-admins:admin' };

describe('OIDC configuration', () => {
  it('is off (null) without OIDC_ISSUER', () => {
    expect(loadConfig(BASE).config.oidc).toBeNull();
  });

  it('reads the variables with the contract defaults', () => {
    expect(loadConfig({ ...BASE, ...SSO }).config.oidc).toEqual({
      issuer: SSO.OIDC_ISSUER,
      clientId: 'aurora',
      clientSecret: 's3cret',
      redirectUri: 'https://soc.example.com/api/v1/auth/oidc/callback',
      usernameClaim: 'email',
      rolesClaim: 'groups',
      roleMap: [{ group: 'soc-admins', role: 'admin' }],
      defaultRole: null,
    });
  });

  it.each([
    [{ OIDC_CLIENT_ID: '' }, 'OIDC_CLIENT_ID is required'],
    [{ OIDC_CLIENT_SECRET: undefined }, 'OIDC_CLIENT_SECRET is required'],
    [{ OIDC_ISSUER: 'not a url' }, 'OIDC_ISSUER must be an absolute URL'],
    [{ OIDC_ROLE_MAP: 'soc-admins:superuser' }, 'OIDC_ROLE_MAP entry "soc-admins:superuser"'],
    [{ OIDC_ROLE_MAP: undefined }, 'needs OIDC_ROLE_MAP or OIDC_DEFAULT_ROLE'],
    [{ OIDC_DEFAULT_ROLE: 'api_service' }, 'OIDC_DEFAULT_ROLE must be one of'],
    [{ OIDC_REDIRECT_URI: 'ftp://x' }, 'OIDC_REDIRECT_URI must be an http(s) URL'],
  ])('refuses to start on %j naming the problem', (change, message) => {
    expect(() => loadConfig({ ...BASE, ...SSO, ...change })).toThrow(message);
  });

  it('refuses client settings without OIDC_ISSUER, and http:// issuers in production', () => {
    expect(() => loadConfig({ ...BASE, OIDC_CLIENT_ID: 'aurora' })).toThrow('OIDC_CLIENT_ID set without OIDC_ISSUER');
    expect(() => loadConfig({ ...BASE, ...SSO, NODE_ENV: 'production', OIDC_ISSUER: 'http://idp.example.com' })).toThrow(
      'OIDC_ISSUER must be an https URL in production',
    );
  });
});
