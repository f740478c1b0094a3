import { BadRequestException, UnauthorizedException } from '@nestjs/common';
import type { AuditInput, AuditRecorder } from '../audit/audit-recorder';
import type { AppConfig } from '../config/app-config';
import { RetryLaterException } from '../common/retry-later.exception';
import type { MetricsService } from '../metrics/metrics.service';
import type { MfaRepository } from './mfa.repository';
import { hashRecoveryCode } from './recovery-codes';
import { kindOf, SecondFactorCheck } from './second-factor-check';
import type { SecondFactorFailures } from './second-factor-failures';
import { SecretBox } from './secret-box';
import { totpCode, totpStep } from './totp';
import type { WebAuthnCeremonies } from './webauthn-ceremonies';

const USER = { id: '7f1d1c5e-0000-4000-8000-000000000001', username: 'ada' };
const SECRET = 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ';
const CLIENT = { ip: '203.0.113.9', userAgent: 'test', requestId: 'r-1' };

describe('SecondFactorCheck', () => {
  let box: SecretBox;
  let repository: { totpOf: jest.Mock; claimTotpStep: jest.Mock; useRecoveryCode: jest.Mock; summary: jest.Mock };
  let failures: { reserve: jest.Mock; release: jest.Mock; reset: jest.Mock };
  let webauthn: { verifyAssertion: jest.Mock };
  let audits: AuditInput[];
  let counted: Array<[string, string, string | undefined]>;
  let check: SecondFactorCheck;

  beforeEach(() => {
    box = new SecretBox({ jwtSecret: 'j'.repeat(40) } as AppConfig);
    repository = {
      totpOf: jest.fn(() => Promise.resolve({ secret: box.seal(SECRET, USER.id), confirmed: true })),
      claimTotpStep: jest.fn(() => Promise.resolve(true)),
      useRecoveryCode: jest.fn(() => Promise.resolve(true)),
      summary: jest.fn(() => Promise.resolve({ totp: true, webauthn: 0, recoveryCodes: 7 })),
    };
    failures = { reserve: jest.fn(() => Promise.resolve({ locked: false, retryAfterSeconds: 0 })), release: jest.fn(), reset: jest.fn() };
    webauthn = { verifyAssertion: jest.fn(() => Promise.resolve({ ok: true })) };
    audits = [];
    counted = [];
    check = new SecondFactorCheck(
      repository as unknown as MfaRepository,
      box,
      failures as unknown as SecondFactorFailures,
      webauthn as unknown as WebAuthnCeremonies,
      { record: (input: AuditInput) => audits.push(input) } as unknown as AuditRecorder,
      {
        countAuthentication: (m: string, o: string, r?: string) => counted.push([m, o, r]),
        rateLimited: { inc: jest.fn() },
      } as unknown as MetricsService,
    );
  });

  const verify = (proof: Parameters<SecondFactorCheck['verify']>[1]) => check.verify(USER, proof, { client: CLIENT, purpose: 'sign_in' });

  it('takes exactly one factor per request (400 otherwise)', () => {
    expect(kindOf({ code: '123456' })).toBe('totp');
    expect(kindOf({ recovery_code: 'x' })).toBe('recovery');
    expect(kindOf({ webauthn: {} })).toBe('webauthn');
    expect(() => kindOf({})).toThrow(BadRequestException);
    expect(() => kindOf({ code: '1', recovery_code: '2' })).toThrow(BadRequestException);
  });

  it('accepts the current TOTP code by claiming its time step, resets the failure count, and counts a success', async () => {
    const step = totpStep();
    await expect(verify({ code: totpCode(SECRET, step * 30_000 + 15_000) })).resolves.toBe('otp');
    expect(repository.claimTotpStep).toHaveBeenCalledWith(USER.id, step);
    expect(failures.reset).toHaveBeenCalledWith(USER.id);
    expect(counted).toEqual([['totp', 'success', undefined]]);
  });

  it('refuses a code whose step was already taken (replay) with 401, audited as code_reused without the code', async () => {
    repository.claimTotpStep.mockResolvedValue(false);
    const code = totpCode(SECRET);
    await expect(verify({ code })).rejects.toBeInstanceOf(UnauthorizedException);
    expect(audits).toEqual([expect.objectContaining({ type: 'mfa.failed', outcome: 'failure', actor: 'ada', reason: 'totp sign_in: code_reused' })]);
    expect(JSON.stringify(audits)).not.toContain(code);
    expect(failures.reset).not.toHaveBeenCalled();
  });

  it('counts the attempt before checking it: a locked account is refused with 429 and nothing is checked', async () => {
    failures.reserve.mockResolvedValue({ locked: true, retryAfterSeconds: 42 });
    const refusal = await verify({ recovery_code: 'abcd-efgh' }).catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(RetryLaterException);
    expect((refusal as RetryLaterException).retryAfterSeconds).toBe(42);
    expect(repository.useRecoveryCode).not.toHaveBeenCalled();
    expect(audits[0]).toMatchObject({ type: 'mfa.failed', reason: 'recovery sign_in: too_many_failures' });
  });

  it('takes back the counted attempt when the check itself fails (the database, not the person)', async () => {
    repository.totpOf.mockRejectedValue(new Error('connection lost'));
    await expect(verify({ code: '123456' })).rejects.toThrow('connection lost');
    expect(failures.release).toHaveBeenCalledWith(USER.id);
  });

  it('uses up a recovery code by its hash, and audits the use with how many are left, never the code', async () => {
    await expect(verify({ recovery_code: 'ABCD-efgh-1234-5678' })).resolves.toBe('recovery');
    expect(repository.useRecoveryCode).toHaveBeenCalledWith(USER.id, hashRecoveryCode('abcdefgh12345678'));
    expect(audits).toEqual([expect.objectContaining({ type: 'mfa.recovery_code_used', reason: 'sign_in; 7 recovery codes left' })]);
    expect(JSON.stringify(audits).toLowerCase()).not.toContain('abcd');
  });

  it('refuses a TOTP code when TOTP is only pending, or its secret does not open under the configured keys', async () => {
    repository.totpOf.mockResolvedValueOnce({ secret: box.seal(SECRET, USER.id), confirmed: false });
    await expect(verify({ code: totpCode(SECRET) })).rejects.toBeInstanceOf(UnauthorizedException);
    repository.totpOf.mockResolvedValueOnce({ secret: new SecretBox({ jwtSecret: 'x'.repeat(40) } as AppConfig).seal(SECRET, USER.id), confirmed: true });
    await expect(verify({ code: totpCode(SECRET) })).rejects.toBeInstanceOf(UnauthorizedException);
    expect(audits.map((a) => a.reason)).toEqual(['totp sign_in: totp_not_enrolled', 'totp sign_in: secret_unreadable']);
    expect(repository.claimTotpStep).not.toHaveBeenCalled();
  });

  it('hands a WebAuthn assertion to the ceremonies with the challenge owner given, and refuses what they refuse', async () => {
    webauthn.verifyAssertion.mockResolvedValueOnce({ ok: false, reason: 'counter_not_increased' });
    await expect(check.verify(USER, { webauthn: { id: 'c' } }, { client: CLIENT, purpose: 'step_up', challengeOwner: 'owner-1' })).rejects.toBeInstanceOf(
      UnauthorizedException,
    );
    expect(webauthn.verifyAssertion).toHaveBeenCalledWith(USER.id, { id: 'c' }, 'owner-1');
    expect(counted).toEqual([['webauthn', 'failure', 'counter_not_increased']]);
  });
});
