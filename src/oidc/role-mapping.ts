import type { Role } from '../access/permissions';
import type { OidcConfig } from '../config/oidc-config';

/** Highest first: the role a user with several mapped groups gets. */
const ROLE_RANK: readonly Role[] = ['admin', 'operator', 'analyst', 'viewer'];

/** The groups a claim holds: an array of strings, or one string (some providers send a single group so). */
export function groupsOf(claim: unknown): string[] {
  if (typeof claim === 'string') return [claim];
  if (Array.isArray(claim)) return claim.filter((group): group is string => typeof group === 'string');
  return [];
}

/**
 * The role for these groups: the highest role any of them maps to; with none mapped,
 * OIDC_DEFAULT_ROLE, or null (the sign-in is refused).
 */
export function roleForGroups(groups: readonly string[], config: Pick<OidcConfig, 'roleMap' | 'defaultRole'>): Role | null {
  const held = new Set(groups);
  const mapped = config.roleMap.filter((entry) => held.has(entry.group)).map((entry) => entry.role);
  for (const role of ROLE_RANK) if (mapped.includes(role)) return role;
  return config.defaultRole;
}
