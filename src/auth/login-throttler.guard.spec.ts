import type { ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ThrottlerException, type ThrottlerLimitDetail, type ThrottlerStorage } from '@nestjs/throttler';
import { GuessLimited } from '../access/guess-limit';
import type { AuditInput, AuditRecorder } from '../audit/audit-recorder';
import type { MetricsService } from '../metrics/metrics.service';
import { LoginThrottlerGuard } from './login-throttler.guard';

class Routes {
  @GuessLimited('user.password_changed')
  changePassword(): void {}
  unmarked(): void {}
}

function contextFor(handler: keyof Routes, request: Record<string, unknown>): ExecutionContext {
  return {
    getHandler: () => Object.getOwnPropertyDescriptor(Routes.prototype, handler)?.value as object,
    getClass: () => Routes,
    switchToHttp: () => ({
      getRequest: () => ({ headers: {}, socket: {}, ip: '198.51.100.4', id: 'req-3', ...request }),
      getResponse: () => ({ header: () => undefined }),
    }),
  } as unknown as ExecutionContext;
}

/** Lets the guard's refusal hook be called the way ThrottlerGuard calls it. */
class ExposedGuard extends LoginThrottlerGuard {
  refuse(context: ExecutionContext): Promise<void> {
    return this.throwThrottlingException(context, {} as ThrottlerLimitDetail);
  }
}

describe('LoginThrottlerGuard: a refusal of the per-IP login limit is a failed attempt too', () => {
  let audits: AuditInput[];
  let counted: Array<[string, string, string | undefined]>;
  let limited: Array<Record<string, string>>;
  let guard: ExposedGuard;

  beforeEach(() => {
    audits = [];
    counted = [];
    limited = [];
    const metrics = {
      rateLimited: { inc: (labels: Record<string, string>) => limited.push(labels) },
      countAuthentication: (m: string, o: string, r?: string) => counted.push([m, o, r]),
    } as unknown as MetricsService;
    guard = new ExposedGuard({ throttlers: [] }, {} as unknown as ThrottlerStorage, new Reflector(), metrics, {
      record: (input: AuditInput) => audits.push(input),
    } as unknown as AuditRecorder);
  });

  it('audits a refused login under auth.login with the username of the body, counts it, and answers 429', async () => {
    const error = await guard.refuse(contextFor('unmarked', { body: { username: 'alice', password: 'x' } })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ThrottlerException);
    expect(audits).toEqual([
      {
        type: 'auth.login',
        outcome: 'failure',
        actor: 'alice',
        reason: 'too_many_attempts_from_ip',
        client: { ip: '198.51.100.4', userAgent: null, requestId: 'req-3' },
      },
    ]);
    expect(counted).toEqual([['login', 'failure', 'too_many_attempts_from_ip']]);
    expect(limited).toEqual([{ rule: 'login_per_ip' }]);
  });

  it("audits a guess-limited route under its own type, naming the signed-in caller rather than the body's username", async () => {
    await guard.refuse(contextFor('changePassword', { principal: { sub: 'bob' }, body: { username: 'alice' } })).catch(() => undefined);
    expect(audits[0]).toMatchObject({ type: 'user.password_changed', actor: 'bob' });
  });

  it('names no actor when neither a caller nor a string username is known', async () => {
    await guard.refuse(contextFor('unmarked', { body: { username: 42 } })).catch(() => undefined);
    expect(audits[0].actor).toBeNull();
  });
});
