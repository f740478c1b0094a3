// Database queries per request for scenarios (b)-(e) and (l): boots the built app in this process (twice:
// key cache on, and API_KEY_CACHE_TTL_SECONDS=0; a third time with REDIS_URL for (l) when Redis answers), watches every statement TypeORM sends (as
// test/support/query-counter.ts does), and divides by the number of requests made.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { DIST, ADMIN, credentials, rateLimitedKey, reachableRedisUrl } = require('./lib');

const REQUESTS = 200;

/**
 * Boots the built app in this process as test/support/test-app.ts does (AppModule.forRoot,
 * ContractHttpAdapter, configureApp), on a fresh embedded database unless env has a DATABASE_URL.
 */
async function startInProcess(env, { logLevel = 'silent' } = {}) {
  require('reflect-metadata');
  const { NestFactory } = require('@nestjs/core');
  const { AppModule } = require(path.join(DIST, 'src/app.module'));
  const { configureApp } = require(path.join(DIST, 'src/app.setup'));
  const { ContractHttpAdapter } = require(path.join(DIST, 'src/common/http-server'));
  const { loadConfig } = require(path.join(DIST, 'src/config/app-config'));
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'aurora-bench-queries-'));
  const { config } = loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: logLevel,
    METRICS_PORT: '0',
    DATA_DIR: dataDir,
    JWT_SECRET_KEY: 'bench-secret-0123456789-abcdefghijklmnop',
    AURORA_ADMIN_USERNAME: ADMIN.username,
    AURORA_ADMIN_PASSWORD: ADMIN.password,
    LOGIN_MAX_PER_IP: '1000000',
    ...env,
  });
  const app = await NestFactory.create(AppModule.forRoot(config), new ContractHttpAdapter(), { bodyParser: false, bufferLogs: true });
  configureApp(app);
  await app.listen(0, '127.0.0.1');
  const url = `http://127.0.0.1:${app.getHttpServer().address().port}`;
  return {
    app,
    url,
    async close() {
      await app.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

async function watchQueries(app) {
  const { DataSource } = require('typeorm');
  const dataSource = app.get(DataSource);
  const runner = dataSource.createQueryRunner();
  const prototype = Object.getPrototypeOf(runner);
  await runner.release();
  const original = prototype.query;
  const statements = [];
  prototype.query = function (...args) {
    statements.push(String(args[0]));
    return original.apply(this, args);
  };
  return { statements, stop: () => (prototype.query = original) };
}

async function perRequest(app, url, headers) {
  const { AuditRecorder } = require(path.join(DIST, 'src/audit/audit-recorder'));
  const me = async () => {
    const reply = await fetch(`${url}/api/v1/auth/me`, { headers });
    if (reply.status !== 200) throw new Error(`GET /auth/me answered ${reply.status}`);
    await reply.arrayBuffer();
  };
  await me();
  await app.get(AuditRecorder).flush();
  const watch = await watchQueries(app);
  try {
    for (let i = 0; i < REQUESTS; i++) await me();
  } finally {
    watch.stop();
  }
  const distinct = [...new Set(watch.statements.map((sql) => sql.replace(/\s+/g, ' ').slice(0, 120)))];
  return { requests: REQUESTS, queries: watch.statements.length, queriesPerRequest: watch.statements.length / REQUESTS, statements: distinct };
}

async function countQueriesPerRequest() {
  const counts = {};
  const cached = await startInProcess({});
  try {
    const { token, key } = await credentials(cached.url);
    counts.b = await perRequest(cached.app, cached.url, { authorization: `Bearer ${token}` });
    counts.c = await perRequest(cached.app, cached.url, { cookie: `access_token=${token}` });
    counts.d = await perRequest(cached.app, cached.url, { 'x-api-key': key });
  } finally {
    await cached.close();
  }
  const uncached = await startInProcess({ API_KEY_CACHE_TTL_SECONDS: '0' });
  try {
    const { key } = await credentials(uncached.url);
    counts.e = await perRequest(uncached.app, uncached.url, { 'x-api-key': key });
  } finally {
    await uncached.close();
  }
  const redisUrl = await reachableRedisUrl();
  if (redisUrl) {
    const limited = await startInProcess({ REDIS_URL: redisUrl });
    try {
      const { token } = await credentials(limited.url);
      counts.l = await perRequest(limited.app, limited.url, { 'x-api-key': await rateLimitedKey(limited.url, token) });
    } finally {
      await limited.close();
    }
  }
  return counts;
}

module.exports = { countQueriesPerRequest, startInProcess, watchQueries };

if (require.main === module) {
  countQueriesPerRequest().then(
    (counts) => console.log(JSON.stringify(counts, null, 2)),
    (error) => {
      console.error(error);
      process.exit(1);
    },
  );
}
