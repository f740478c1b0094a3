import { isRole, type Role } from '../access/permissions';

/** Single sign-on settings (README "Single sign-on"); null on AppConfig when OIDC_ISSUER is unset. */
export interface OidcConfig {
  issuer: string;
  clientId: string;
  clientSecret: string;
  redirectUri: string;
  usernameClaim: string;
  rolesClaim: string;
  /** Provider group → role, in the order given. */
  roleMap: Array<{ group: string; role: Role }>;
  defaultRole: Role | null;
}

type Env = Record<string, string | undefined>;

/** The roles a provider's group may map to (never api_service, which is for API keys). */
const SSO_ROLES: readonly Role[] = ['admin', 'operator', 'analyst', 'viewer'];

/** `group:role,group:role`; the group is everything before the last colon (group names may hold colons). */
export function parseRoleMap(raw: string | undefined, errors: string[]): Array<{ group: string; role: Role }> {
  if (raw === undefined) return [];
  const map: Array<{ group: string; role: Role }> = [];
  for (const entry of raw
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean)) {
    const colon = entry.lastIndexOf(':');
    const group = colon > 0 ? entry.slice(0, colon).trim() : '';
    const role = colon > 0 ? entry.slice(colon + 1).trim() : '';
    if (!group || !isRole(role) || !SSO_ROLES.includes(role)) {
      errors.push(`OIDC_ROLE_MAP entry "${entry}" must be group:role with a role among ${SSO_ROLES.join(', ')}`);
      continue;
    }
    map.push({ group, role });
  }
  return map;
}

function urlError(name: string, raw: string, production: boolean): string | null {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return `${name} must be an absolute URL`;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return `${name} must be an http(s) URL`;
  if (production && url.protocol !== 'https:') return `${name} must be an https URL in production`;
  return null;
}

/**
 * Reads the OIDC_* variables; problems are pushed onto `errors` (the start-up refuses with them).
 * Nothing is fetched here: the provider is discovered at first use, so a provider that is down
 * cannot stop the server from starting.
 */
export function readOidcConfig(env: Env, allowedOrigins: string[], production: boolean, errors: string[]): OidcConfig | null {
  const get = (name: string) => (env[name] === undefined || env[name] === '' ? undefined : env[name]);
  const issuer = get('OIDC_ISSUER');
  const others = ['OIDC_CLIENT_ID', 'OIDC_CLIENT_SECRET', 'OIDC_ROLE_MAP', 'OIDC_DEFAULT_ROLE', 'OIDC_REDIRECT_URI'].filter((name) => get(name) !== undefined);
  if (issuer === undefined) {
    if (others.length > 0) errors.push(`${others.join(', ')} set without OIDC_ISSUER (single sign-on needs OIDC_ISSUER)`);
    return null;
  }
  const issuerProblem = urlError('OIDC_ISSUER', issuer, production);
  if (issuerProblem) errors.push(issuerProblem);
  const clientId = get('OIDC_CLIENT_ID');
  if (clientId === undefined) errors.push('OIDC_CLIENT_ID is required when OIDC_ISSUER is set');
  const clientSecret = get('OIDC_CLIENT_SECRET');
  if (clientSecret === undefined) errors.push('OIDC_CLIENT_SECRET is required when OIDC_ISSUER is set');
  const redirectUri = get('OIDC_REDIRECT_URI') ?? `${allowedOrigins[0] ?? ''}/api/v1/auth/oidc/callback`;
  const redirectProblem = urlError('OIDC_REDIRECT_URI', redirectUri, production);
  if (redirectProblem) errors.push(redirectProblem);
  const roleMap = parseRoleMap(get('OIDC_ROLE_MAP'), errors);
  const defaultRaw = get('OIDC_DEFAULT_ROLE');
  let defaultRole: Role | null = null;
  if (defaultRaw !== undefined) {
    if (isRole(defaultRaw) && SSO_ROLES.includes(defaultRaw)) defaultRole = defaultRaw;
    else errors.push(`OIDC_DEFAULT_ROLE must be one of ${SSO_ROLES.join(', ')}`);
  }
  if (roleMap.length === 0 && defaultRole === null) errors.push('single sign-on needs OIDC_ROLE_MAP or OIDC_DEFAULT_ROLE (else nobody could sign in)');
  return {
    issuer,
    clientId: clientId ?? '',
    clientSecret: clientSecret ?? '',
    redirectUri,
    usernameClaim: get('OIDC_USERNAME_CLAIM') ?? 'email',
    rolesClaim: get('OIDC_ROLES_CLAIM') ?? 'groups',
    roleMap,
    defaultRole,
  };
}
