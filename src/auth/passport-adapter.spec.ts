import type { Request } from 'express';
import type { Principal } from '../access/principal';
import { AuthRefusal } from './auth-refusal';
import type { Authenticator } from './authenticator';
import { authenticateThrough } from './passport-adapter';

const alice: Principal = { kind: 'user', sub: 'alice', role: 'analyst', permissions: ['alerts:read'], source: 'bearer' };
const request = { method: 'GET', headers: {}, cookies: {}, socket: {} } as unknown as Request;

/** Collects what a passport strategy reports, and resolves once it has reported. */
function attempt() {
  const outcome: { success?: Principal; fail?: [unknown, unknown]; error?: Error } = {};
  let done!: () => void;
  const reported = new Promise<void>((resolve) => (done = resolve));
  return {
    outcome,
    reported,
    success: (user: Principal) => ((outcome.success = user), done()),
    fail: (challenge?: unknown, status?: unknown) => ((outcome.fail = [challenge, status]), done()),
    error: (error: Error) => ((outcome.error = error), done()),
  };
}

const answering = (result: Promise<unknown>) => ({ authenticate: () => result }) as unknown as Authenticator;

describe('authenticateThrough: a passport strategy as an adapter over the Authenticator', () => {
  it('reports success with a caller of its kind', async () => {
    const a = attempt();
    authenticateThrough(a, answering(Promise.resolve({ ok: true, principal: alice })), request, 'user');
    await a.reported;
    expect(a.outcome).toEqual({ success: alice });
  });

  it('fails with a bare 401 for a caller of the other kind', async () => {
    const a = attempt();
    authenticateThrough(a, answering(Promise.resolve({ ok: true, principal: alice })), request, 'api_key');
    await a.reported;
    expect(a.outcome).toEqual({ fail: [undefined, 401] });
  });

  it("fails with the Authenticator's refusal and its status", async () => {
    const refusal = new AuthRefusal(503, 'down');
    const a = attempt();
    authenticateThrough(a, answering(Promise.resolve({ ok: false, refusal })), request, 'user');
    await a.reported;
    expect(a.outcome).toEqual({ fail: [refusal, 503] });
  });

  it('reports an error when the Authenticator itself fails, rather than leaving the request hanging', async () => {
    const broken = new Error('unexpected');
    const a = attempt();
    authenticateThrough(a, answering(Promise.reject(broken)), request, 'user');
    await a.reported;
    expect(a.outcome).toEqual({ error: broken });
  });
});
