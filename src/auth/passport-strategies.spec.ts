import passport from 'passport';
import type { Principal } from '../access/principal';
import { ApiKeyStrategy } from './api-key.strategy';
import { AuthRefusal } from './auth-refusal';
import type { AuthCarrier, AuthDecision, AuthRoute, Authenticator } from './authenticator';
import { JwtStrategy } from './jwt.strategy';

const alice: Principal = { kind: 'user', sub: 'alice', role: 'analyst', permissions: ['alerts:read'], source: 'bearer' };
const siem: Principal = { kind: 'api_key', sub: 'siem', role: 'api_service', permissions: ['alerts:read'], source: 'api_key' };

/** Records what the strategies hand over, and answers what the test sets. */
class FakeAuthenticator {
  readonly seen: Array<{ carrier: AuthCarrier; route: AuthRoute }> = [];
  answer: AuthDecision = { ok: true, principal: alice };

  authenticate(carrier: AuthCarrier, route: AuthRoute): Promise<AuthDecision> {
    this.seen.push({ carrier, route });
    return Promise.resolve(this.answer);
  }
}

type Outcome = { user: Principal | false; challenge: unknown; status?: unknown };

/** Runs a strategy through passport's own middleware, as @nestjs/passport's AuthGuard would. */
function authenticate(name: string, req: { method?: string; headers: Record<string, string>; cookies?: Record<string, string> }): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    // @types/passport types the middleware as any.
    const middleware = passport.authenticate(name, { session: false }, (error: Error | null, user: Principal | false, challenge: unknown, status: unknown) =>
      error ? reject(error) : resolve({ user, challenge, status }),
    ) as (req: unknown, res: unknown, next: (error?: unknown) => void) => void;
    middleware({ method: 'GET', cookies: {}, socket: {}, ...req }, {}, reject);
  });
}

describe('passport strategies: adapters over the Authenticator', () => {
  let authenticator: FakeAuthenticator;

  beforeEach(() => {
    authenticator = new FakeAuthenticator();
    // Each construction registers the strategy with passport under its name, replacing the previous one.
    new JwtStrategy(authenticator as unknown as Authenticator);
    new ApiKeyStrategy(authenticator as unknown as Authenticator);
  });

  it('hands the whole HTTP request to the Authenticator as any-caller, credential order and all', async () => {
    const outcome = await authenticate('jwt', { headers: { authorization: 'Bearer t', 'x-api-key': 'k' }, cookies: { access_token: 'c' } });
    expect(outcome.user).toEqual(alice);
    expect(authenticator.seen).toHaveLength(1);
    expect(authenticator.seen[0].route).toEqual({ permissions: [] });
    expect(authenticator.seen[0].carrier).toMatchObject({
      channel: 'http',
      headers: { authorization: 'Bearer t', 'x-api-key': 'k' },
      cookies: { access_token: 'c' },
    });
  });

  it('jwt accepts only a person, api-key only a key', async () => {
    authenticator.answer = { ok: true, principal: siem };
    expect((await authenticate('jwt', { headers: { 'x-api-key': 'k' } })).user).toBe(false);
    expect((await authenticate('api-key', { headers: { 'x-api-key': 'k' } })).user).toEqual(siem);
    authenticator.answer = { ok: true, principal: alice };
    expect((await authenticate('api-key', { headers: { authorization: 'Bearer t' } })).user).toBe(false);
  });

  it("passes the Authenticator's refusal on as the passport challenge, with its status", async () => {
    const refusal = new AuthRefusal(403, 'missing permission: users:manage');
    authenticator.answer = { ok: false, refusal };
    for (const name of ['jwt', 'api-key']) {
      const outcome = await authenticate(name, { headers: { authorization: 'Bearer t' } });
      expect(outcome).toEqual({ user: false, challenge: refusal, status: 403 });
    }
  });
});
