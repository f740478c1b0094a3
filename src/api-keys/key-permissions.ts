import { BadRequestException, ForbiddenException } from '@nestjs/common';
import { API_KEY_ROLE, hasAll, KEY_GRANTABLE_PERMISSIONS, permissionsOf, type Permission } from '../access/permissions';

/**
 * The permissions a key gets: when none are asked for, api_service's that its creator holds; else
 * those asked for, which must be grantable to keys (400 beyond: never users:manage) and held by
 * the creator (403 beyond). The same rule on creation and on change.
 */
export function grantablePermissions(requested: readonly Permission[] | undefined, creatorPermissions: readonly Permission[]): Permission[] {
  if (requested === undefined) return permissionsOf(API_KEY_ROLE).filter((p) => creatorPermissions.includes(p));
  const unique = [...new Set(requested)];
  const notGrantable = unique.filter((p) => !KEY_GRANTABLE_PERMISSIONS.includes(p));
  if (notGrantable.length > 0) {
    throw new BadRequestException(`a key's permissions must be among ${KEY_GRANTABLE_PERMISSIONS.join(', ')} (not ${notGrantable.join(', ')})`);
  }
  if (!hasAll(creatorPermissions, unique)) throw new ForbiddenException('a key cannot be given a permission its creator does not hold');
  return unique;
}
