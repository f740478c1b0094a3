#!/usr/bin/env node
// node bench/auth-cost.js: what the authentication step itself costs per request, in CPU µs, with
// the HTTP stack taken away. Boots the built app in-process, then calls each way of authenticating
// a request many times: the CredentialResolver alone, the whole Authenticator decision (credential,
// validity, origin, permissions, metric), a Passport strategy (an adapter over the Authenticator) on
// a per-attempt object, the same strategy through passport's own middleware (passport.authenticate(),
// what @nestjs/passport's AuthGuard does per request), and the whole global guard (canActivate). CPU time, not wall time, so other processes on the
// machine hardly move the numbers.
const path = require('node:path');
const { DIST } = require('./lib');
const { startInProcess } = require('./query-count');

const ITERATIONS = Number(process.env.AUTH_COST_ITERATIONS || 20000);

async function measure(fn) {
  for (let i = 0; i < 2000; i++) await fn();
  const best = [];
  for (let round = 0; round < 5; round++) {
    const start = process.cpuUsage();
    for (let i = 0; i < ITERATIONS; i++) await fn();
    const used = process.cpuUsage(start);
    best.push((used.user + used.system) / ITERATIONS);
  }
  best.sort((a, b) => a - b);
  return best[Math.floor(best.length / 2)];
}

async function main() {
  const passport = require('passport');
  const { ExecutionContextHost } = require('@nestjs/core/helpers/execution-context-host');
  const { CredentialResolver } = require(path.join(DIST, 'src/auth/credential-resolver'));
  const { Authenticator, httpCarrier } = require(path.join(DIST, 'src/auth/authenticator'));
  const { JwtStrategy } = require(path.join(DIST, 'src/auth/jwt.strategy'));
  const { ApiKeyStrategy } = require(path.join(DIST, 'src/auth/api-key.strategy'));
  const { AuthGuard } = require(path.join(DIST, 'src/auth/auth.guard'));
  const { AuthController } = require(path.join(DIST, 'src/auth/auth.controller'));
  const server = await startInProcess({});
  try {
    const { credentials } = require('./lib');
    const { token, key } = await credentials(server.url);
    const app = server.app;
    const resolver = app.get(CredentialResolver);
    const authenticator = app.get(Authenticator);
    const strategies = { jwt: app.get(JwtStrategy), 'api-key': app.get(ApiKeyStrategy) };
    // The guard is an APP_GUARD provider, not reachable by its class: make one from the same dependencies.
    const guard = new AuthGuard(...Reflect.getMetadata('design:paramtypes', AuthGuard).map((type) => app.get(type, { strict: false })));
    const requests = {
      'Bearer JWT': { strategy: 'jwt', req: () => ({ method: 'GET', headers: { authorization: `Bearer ${token}` }, cookies: {} }) },
      cookie: { strategy: 'jwt', req: () => ({ method: 'GET', headers: { cookie: `access_token=${token}` }, cookies: { access_token: token } }) },
      'API key (warm cache)': { strategy: 'api-key', req: () => ({ method: 'GET', headers: { 'x-api-key': key }, cookies: {} }) },
    };
    const attempt = (strategy, req) =>
      new Promise((resolve, reject) => {
        const run = Object.create(strategy);
        run.success = resolve;
        run.fail = reject;
        run.error = reject;
        run.authenticate(req, { session: false });
      });
    const viaPassport = (name, req) =>
      new Promise((resolve, reject) =>
        passport.authenticate(name, { session: false }, (error, user, challenge) => (user ? resolve(user) : reject(error ?? challenge)))(req, {}, reject),
      );
    const handler = AuthController.prototype.me;
    const viaGuard = async (req) => {
      // The guard marks an authenticated answer Cache-Control: no-store on the response.
      const context = new ExecutionContextHost([req, { setHeader: () => undefined }, () => undefined], AuthController, handler);
      context.setType('http');
      if (!(await guard.canActivate(context))) throw new Error('refused');
    };
    const rows = {};
    for (const [name, { strategy, req }] of Object.entries(requests)) {
      const r = req();
      rows[name] = {
        'resolver.resolve µs': await measure(() => resolver.resolve({ headers: r.headers, cookies: r.cookies })),
        'authenticator µs': await measure(() => authenticator.authenticate(httpCarrier(r), { permissions: [] })),
        'strategy.authenticate µs': await measure(() => attempt(strategies[strategy], req())),
        'passport.authenticate µs': await measure(() => viaPassport(strategy, req())),
        'global guard µs': await measure(() => viaGuard(req())),
      };
      for (const column of Object.keys(rows[name])) rows[name][column] = Number(rows[name][column].toFixed(1));
      process.stderr.write(`${name}: ${JSON.stringify(rows[name])}\n`);
    }
    const { MetricsService } = require(path.join(DIST, 'src/metrics/metrics.service'));
    const metrics = app.get(MetricsService);
    const countOnly = Number((await measure(() => metrics.countAuthentication('jwt', 'success'))).toFixed(1));
    process.stderr.write(`of which the success counter (metrics.countAuthentication) alone: ${countOnly} µs\n`);
    console.table(rows);
    return rows;
  } finally {
    await server.close();
  }
}

module.exports = { main };

if (require.main === module) {
  main().catch((error) => {
    console.error(error);
    process.exit(1);
  });
}
