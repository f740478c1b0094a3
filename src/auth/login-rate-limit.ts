import { ExecutionContext, SetMetadata } from '@nestjs/common';

const LOGIN_RATE_LIMITED = 'aurora:login-rate-limited';

/** Marks the login route: the only one the per-IP throttler counts. */
export const LoginRateLimit = () => SetMetadata(LOGIN_RATE_LIMITED, true);

export function isLoginRateLimited(context: ExecutionContext): boolean {
  return Reflect.getMetadata(LOGIN_RATE_LIMITED, context.getHandler()) === true;
}
