import { applyDecorators, createParamDecorator, ExecutionContext, SetMetadata } from '@nestjs/common';
import { ApiBearerAuth, ApiCookieAuth, ApiSecurity } from '@nestjs/swagger';
import type { Permission } from './permissions';
import type { Principal } from './principal';

export const IS_PUBLIC = 'aurora:public';
export const REQUIRED_PERMISSIONS = 'aurora:permissions';

/** Opts a route out of the global default-deny guard. */
export const Public = () => SetMetadata(IS_PUBLIC, true);

/** The permissions a route needs; an empty list means "any authenticated caller". */
export const RequirePermissions = (...permissions: Permission[]) =>
  applyDecorators(SetMetadata(REQUIRED_PERMISSIONS, permissions), ApiBearerAuth(), ApiSecurity('api_key'), ApiCookieAuth('access_token'));

/** The caller the guard authenticated. */
export const CurrentPrincipal = createParamDecorator((_data: unknown, context: ExecutionContext): Principal => {
  return context.switchToHttp().getRequest<{ principal: Principal }>().principal;
});
