import { ExecutionContext, SetMetadata } from '@nestjs/common';

const GUESS_LIMITED = 'aurora:guess-limited';

/**
 * Marks a route that checks a secret someone could guess (a login, the current password): it
 * counts toward the per-IP limit of logins (LOGIN_MAX_PER_IP), one count shared by every such
 * route, and its refusals are audited under `auditType`. The per-username failure limit is applied
 * by PasswordGuessLimiter in the service that checks the secret.
 */
export const GuessLimited = (auditType: string) => SetMetadata(GUESS_LIMITED, auditType);

/** The audit type a guess-limited route records its refusals under; undefined for other routes. */
export function guessLimitOf(context: ExecutionContext): string | undefined {
  const auditType: unknown = Reflect.getMetadata(GUESS_LIMITED, context.getHandler());
  return typeof auditType === 'string' ? auditType : undefined;
}
