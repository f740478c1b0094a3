import {
  API_KEY_ROLE,
  BOOTSTRAP_ADMIN_ROLE,
  hasAll,
  isPermission,
  isRole,
  KEY_GRANTABLE_PERMISSIONS,
  permissionsOf,
  rolesWith,
  type Role,
} from './permissions';

describe('the role table', () => {
  it.each([
    ['admin', ['users:manage', 'alerts:read', 'alerts:write', 'audit:read']],
    ['analyst', ['alerts:read', 'alerts:write']],
    ['operator', ['alerts:read', 'audit:read']],
    ['viewer', ['alerts:read']],
    ['api_service', ['alerts:read', 'alerts:write']],
  ] as const)('gives %s exactly the contract permissions', (role, expected) => {
    expect(permissionsOf(role).sort()).toEqual([...expected].sort());
  });

  it('knows only the contract roles and permissions', () => {
    expect(isRole('root')).toBe(false);
    expect(isRole('admin')).toBe(true);
    expect(isPermission('users:delete')).toBe(false);
    expect(isPermission('audit:read')).toBe(true);
  });

  it('requires every permission a route names', () => {
    expect(hasAll(['alerts:read'], ['alerts:read', 'alerts:write'])).toBe(false);
    expect(hasAll(['alerts:read', 'alerts:write'], ['alerts:write'])).toBe(true);
    expect(hasAll([], [])).toBe(true);
  });

  it('finds the roles that hold a permission', () => {
    expect(rolesWith('users:manage')).toEqual(['admin']);
    expect(rolesWith('audit:read').sort()).toEqual(['admin', 'operator']);
  });

  it('returns a copy that callers cannot use to change the table', () => {
    permissionsOf('viewer').push('users:manage');
    expect(permissionsOf('viewer')).toEqual(['alerts:read']);
  });

  it('gives a role that is not in the table no permissions (default deny), not an error', () => {
    expect(permissionsOf('root' as Role)).toEqual([]);
  });

  it('lets API keys act as api_service and creates the first administrator as admin', () => {
    expect(API_KEY_ROLE).toBe('api_service');
    expect(BOOTSTRAP_ADMIN_ROLE).toBe('admin');
  });

  it('lets a key be granted alerts:read, alerts:write and audit:read, never users:manage', () => {
    expect([...KEY_GRANTABLE_PERMISSIONS].sort()).toEqual(['alerts:read', 'alerts:write', 'audit:read']);
  });

  it('accepts only strings as roles and permissions', () => {
    for (const value of [undefined, null, 1, ['admin'], { admin: true }]) {
      expect(isRole(value)).toBe(false);
      expect(isPermission(value)).toBe(false);
    }
  });
});
