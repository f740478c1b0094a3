import { parseRoleMap } from '../config/oidc-config';
import { groupsOf, roleForGroups } from './role-mapping';

const map = parseRoleMap('soc-viewers:viewer,soc-analysts:analyst,soc-operators:operator,soc-admins:admin', []);

describe('roleForGroups', () => {
  it('gives the mapped role of a single group', () => {
    expect(roleForGroups(['soc-analysts'], { roleMap: map, defaultRole: null })).toBe('analyst');
  });

  it('gives the highest mapped role (admin > operator > analyst > viewer), whatever the order of groups or map', () => {
    expect(roleForGroups(['soc-viewers', 'soc-admins', 'soc-analysts'], { roleMap: map, defaultRole: null })).toBe('admin');
    expect(roleForGroups(['soc-analysts', 'soc-operators'], { roleMap: map, defaultRole: null })).toBe('operator');
    expect(roleForGroups(['soc-viewers', 'soc-analysts'], { roleMap: [...map].reverse(), defaultRole: null })).toBe('analyst');
  });

  it('refuses (null) a user with no mapped group unless there is a default role', () => {
    expect(roleForGroups(['marketing'], { roleMap: map, defaultRole: null })).toBeNull();
    expect(roleForGroups([], { roleMap: map, defaultRole: null })).toBeNull();
    expect(roleForGroups(['marketing'], { roleMap: map, defaultRole: 'viewer' })).toBe('viewer');
  });

  it('prefers a mapped group over the default role, even a lower one', () => {
    expect(roleForGroups(['soc-viewers'], { roleMap: map, defaultRole: 'analyst' })).toBe('viewer');
  });

  it('matches group names exactly (no case folding, no prefix)', () => {
    expect(roleForGroups(['SOC-ADMINS', 'soc-admins-old'], { roleMap: map, defaultRole: null })).toBeNull();
  });
});

describe('groupsOf', () => {
  it('reads an array of strings, a single string, and nothing else', () => {
    expect(groupsOf(['a', 1, 'b', null])).toEqual(['a', 'b']);
    expect(groupsOf('a')).toEqual(['a']);
    expect(groupsOf(undefined)).toEqual([]);
    expect(groupsOf({ a: 1 })).toEqual([]);
  });
});

describe('parseRoleMap', () => {
  it('keeps colons inside group names (the role is after the last one)', () => {
    expect(parseRoleMap('urn:corp:soc:admin:admin', [])).toEqual([{ group: 'urn:corp:soc:admin', role: 'admin' }]);
  });

  it('names each bad entry: unknown roles, api_service, a missing group or role', () => {
    const errors: string[] = [];
    expect(parseRoleMap('a:root,b:api_service,:admin,c,d:viewer', errors)).toEqual([{ group: 'd', role: 'viewer' }]);
    expect(errors).toHaveLength(4);
    expect(errors[0]).toContain('"a:root"');
  });
});
