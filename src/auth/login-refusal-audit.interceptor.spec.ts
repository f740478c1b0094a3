import { BadRequestException, UnauthorizedException, type CallHandler, type ExecutionContext } from '@nestjs/common';
import { firstValueFrom, of, throwError } from 'rxjs';
import type { AuditInput, AuditRecorder } from '../audit/audit-recorder';
import type { MetricsService } from '../metrics/metrics.service';
import { LoginRefusalAudit } from './login-refusal-audit.interceptor';

function contextFor(body: unknown): ExecutionContext {
  const request = { body, headers: { 'user-agent': 'curl/8' }, ip: '198.51.100.4', id: 'req-7', socket: {} };
  return { switchToHttp: () => ({ getRequest: () => request }) } as unknown as ExecutionContext;
}

describe('LoginRefusalAudit: a login refused for its body is a failed login too', () => {
  let audits: AuditInput[];
  let counted: Array<[string, string, string | undefined]>;
  let interceptor: LoginRefusalAudit;

  beforeEach(() => {
    audits = [];
    counted = [];
    interceptor = new LoginRefusalAudit(
      { record: (input: AuditInput) => audits.push(input) } as unknown as AuditRecorder,
      { countAuthentication: (m: string, o: string, r?: string) => counted.push([m, o, r]) } as unknown as MetricsService,
    );
  });

  const handlerFailingWith = (error: unknown): CallHandler => ({ handle: () => throwError(() => error) });

  it('records a 400 as a failed login with the username the body named, and counts it, then passes the 400 on', async () => {
    const error = new BadRequestException('password must be a string');
    await expect(firstValueFrom(interceptor.intercept(contextFor({ username: 'alice', password: 7 }), handlerFailingWith(error)))).rejects.toBe(error);
    expect(audits).toEqual([
      {
        type: 'auth.login',
        outcome: 'failure',
        actor: 'alice',
        reason: 'invalid_request',
        client: { ip: '198.51.100.4', userAgent: 'curl/8', requestId: 'req-7' },
      },
    ]);
    expect(counted).toEqual([['login', 'failure', 'invalid_request']]);
  });

  it('records no actor when the body named none as a string', async () => {
    await firstValueFrom(interceptor.intercept(contextFor({ username: ['alice'] }), handlerFailingWith(new BadRequestException()))).catch(() => undefined);
    expect(audits[0].actor).toBeNull();
  });

  it('leaves other refusals to whoever raised them (the login itself audits a 401)', async () => {
    const error = new UnauthorizedException('invalid username or password');
    await expect(firstValueFrom(interceptor.intercept(contextFor({ username: 'alice' }), handlerFailingWith(error)))).rejects.toBe(error);
    expect(audits).toEqual([]);
    expect(counted).toEqual([]);
  });

  it('lets a successful login through untouched', async () => {
    const answer = { access_token: 't' };
    expect(await firstValueFrom(interceptor.intercept(contextFor({ username: 'alice' }), { handle: () => of(answer) }))).toBe(answer);
    expect(audits).toEqual([]);
  });
});
