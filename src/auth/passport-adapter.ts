import type { Request } from 'express';
import type { Principal } from '../access/principal';
import type { AuthRefusal } from './auth-refusal';
import { ANY_CALLER, Authenticator, httpCarrier } from './authenticator';

/** The part of a passport strategy's per-attempt object that reports the outcome. */
interface PassportAttempt {
  success(user: Principal): void;
  fail(challenge?: AuthRefusal, status?: number): void;
  error(error: Error): void;
}

/**
 * How both passport strategies authenticate: they hand the request to the Authenticator, which
 * reads the credential in the contract's order, and accept the caller only when it is of their
 * kind. They decide nothing themselves; the refusal becomes the passport challenge.
 */
export function authenticateThrough(attempt: PassportAttempt, authenticator: Authenticator, request: Request, kind: Principal['kind']): void {
  authenticator.authenticate(httpCarrier(request), ANY_CALLER).then(
    (decision) => {
      if (decision.ok && decision.principal.kind === kind) attempt.success(decision.principal);
      else if (decision.ok) attempt.fail(undefined, 401);
      else attempt.fail(decision.refusal, decision.refusal.statusCode);
    },
    (error: Error) => attempt.error(error),
  );
}
