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

export const REQUIRE_STEP_UP = 'aurora:step-up';
export const OPEN_DURING_MFA_ENROLMENT = 'aurora:open-during-mfa-enrolment';

/**
 * A sensitive route: a person with a second factor must have verified one in this session within
 * STEP_UP_MAX_AGE_SECONDS (else 403 step_up_required). API keys and people without a factor are
 * not asked.
 */
export const RequireStepUp = () => SetMetadata(REQUIRE_STEP_UP, true);

/**
 * A route that a person who must enrol a second factor (MFA_REQUIRED_ROLES) and has none may still
 * call: what enrolling needs, seeing and ending one's sessions, signing out.
 */
export const OpenDuringMfaEnrolment = () => SetMetadata(OPEN_DURING_MFA_ENROLMENT, true);
