/** The role table (docs/api.md). Nothing else in the code base compares role names. */
export const PERMISSIONS = ['users:manage', 'alerts:read', 'alerts:write', 'audit:read'] as const;
export type Permission = (typeof PERMISSIONS)[number];

export const ROLES = ['admin', 'analyst', 'operator', 'viewer', 'api_service'] as const;
export type Role = (typeof ROLES)[number];

const ROLE_PERMISSIONS: Readonly<Record<Role, readonly Permission[]>> = {
  admin: ['users:manage', 'alerts:read', 'alerts:write', 'audit:read'],
  analyst: ['alerts:read', 'alerts:write'],
  operator: ['alerts:read', 'audit:read'],
  viewer: ['alerts:read'],
  api_service: ['alerts:read', 'alerts:write'],
};

/** The role every API key acts as. */
export const API_KEY_ROLE: Role = 'api_service';
/** What a key may be granted (within its creator's own): api_service's, plus reading the audit trail. Never users:manage. */
export const KEY_GRANTABLE_PERMISSIONS: readonly Permission[] = ['alerts:read', 'alerts:write', 'audit:read'];
/** The role of the administrator created at first start. */
export const BOOTSTRAP_ADMIN_ROLE: Role = 'admin';

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}

export function isPermission(value: unknown): value is Permission {
  return typeof value === 'string' && (PERMISSIONS as readonly string[]).includes(value);
}

export function permissionsOf(role: Role): Permission[] {
  return [...(ROLE_PERMISSIONS[role] ?? [])];
}

export function hasAll(granted: readonly Permission[], required: readonly Permission[]): boolean {
  return required.every((permission) => granted.includes(permission));
}

export function rolesWith(permission: Permission): Role[] {
  return ROLES.filter((role) => ROLE_PERMISSIONS[role].includes(permission));
}
