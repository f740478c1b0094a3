import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { Test } from '@nestjs/testing';
import { generateApiKey } from '../src/api-keys/api-key-format';
import { AppModule } from '../src/app.module';
import { configureApp } from '../src/app.setup';
import { AuditRecorder } from '../src/audit/audit-recorder';
import { FailureFloodLimiter } from '../src/audit/failure-flood-limiter';
import { loadConfig } from '../src/config/app-config';
import { ADMIN, ALLOWED_ORIGIN, databaseForFile, startTestApp, TEST_SECRET, TestApp } from './support/test-app';
import { apiKey, bearer, call, createUser, login, waitFor } from './support/http';
import { claimsFor, forgeToken } from './support/jwt';
import { LiveClient, openLive } from './support/ws';

interface AuditEventView {
  id: string;
  type: string;
  outcome: 'success' | 'failure';
  actor: string | null;
  ip: string | null;
  user_agent: string | null;
  reason: string | null;
}

const ENV = { LOGIN_MAX_PER_IP: '100000', LOG_LEVEL: 'info' };
const HERE = '127.0.0.1';
const SUMMARY = 'audit.failures_suppressed';
const RLO = '\u202E';
const badToken = () => forgeToken(claimsFor(ADMIN.username, 'admin'), { secret: 'attacker-secret-0123456789-abcdefghijkl' });

/** Sends `count` requests, `concurrency` at a time; resolves with every status. */
async function inParallel(count: number, concurrency: number, send: () => Promise<number>): Promise<number[]> {
  const statuses: number[] = [];
  let started = 0;
  const worker = async () => {
    while (started < count) {
      started++;
      statuses.push(await send());
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return statuses;
}

/**
 * A flood of failures from one address cannot fill the audit table (docs/api.md, audit): beyond
 * 60 per minute its further failures become one summary event; and no field can hold a raw
 * bidirectional override.
 */
describe('audit flood limit', () => {
  let db: Awaited<ReturnType<typeof databaseForFile>>;
  const logChunks: string[] = [];
  let stdoutSpy: jest.SpyInstance;
  beforeAll(async () => {
    // Installed before any app exists, so that its logger writes through process.stdout.write.
    stdoutSpy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      logChunks.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
      return true;
    });
    db = await databaseForFile();
  });
  afterAll(async () => {
    await db?.drop();
    stdoutSpy?.mockRestore();
  });

  const me = (baseUrl: string, headers: Record<string, string>) => call(baseUrl, 'GET', '/api/v1/auth/me', { headers }).then((reply) => reply.status);
  /** Failure events from this address newer than `afterId`, oldest first. */
  const failuresSince = async (baseUrl: string, token: string, afterId: string): Promise<AuditEventView[]> => {
    const reply = await call<AuditEventView[]>(baseUrl, 'GET', '/api/v1/audit/events?outcome=failure&limit=1000', { headers: bearer(token) });
    expect(reply.status).toBe(200);
    return reply.body.filter((event) => event.ip === HERE && BigInt(event.id) > BigInt(afterId)).reverse();
  };
  const newestId = async (baseUrl: string, token: string): Promise<string> =>
    (await call<AuditEventView[]>(baseUrl, 'GET', '/api/v1/audit/events?limit=1', { headers: bearer(token) })).body[0]?.id ?? '0';

  describe('with the one-minute window', () => {
    let t: TestApp;
    let adminToken: string;
    let floodStartId: string;
    let auditSocket: LiveClient;

    beforeAll(async () => {
      t = await startTestApp(ENV, db);
      adminToken = await login(t.baseUrl, ADMIN.username, ADMIN.password);
    });
    afterAll(async () => {
      auditSocket?.close();
      await t?.close();
    });

    it('escapes a right-to-left override in a username wherever the audit list shows it', async () => {
      const username = `admin${RLO}gnp.exe@test.local`;
      await createUser(t.baseUrl, adminToken, username, 'viewer', 'bidi-password-123');
      await login(t.baseUrl, username, 'bidi-password-123');
      await t.app.get(AuditRecorder).flush();
      const listed = (await call<AuditEventView[]>(t.baseUrl, 'GET', '/api/v1/audit/events?limit=1000', { headers: bearer(adminToken) })).body;
      const signIn = listed.find((event) => event.type === 'auth.login' && event.outcome === 'success' && event.actor?.startsWith('admin\\u'));
      expect(signIn?.actor).toBe('admin\\u202egnp.exe@test.local');
      const created = listed.find((event) => event.type === 'user.created' && event.reason?.includes('gnp.exe'));
      expect(created?.reason).toBe('admin\\u202egnp.exe@test.local as viewer');
      expect(JSON.stringify(listed)).not.toContain(RLO);
    });

    it('records, logs and broadcasts only the first 60 failures of a flood from one address', async () => {
      auditSocket = await openLive(`${t.wsUrl}/api/v1/ws/audit`, bearer(adminToken));
      floodStartId = await newestId(t.baseUrl, adminToken);
      const token = badToken();
      expect(new Set(await inParallel(300, 20, () => me(t.baseUrl, bearer(token))))).toEqual(new Set([401]));
      expect(new Set(await inParallel(40, 10, () => me(t.baseUrl, apiKey(generateApiKey()))))).toEqual(new Set([401]));
      // A success is never held back, and as it is written after the flood its frame fences the socket's.
      await login(t.baseUrl, ADMIN.username, ADMIN.password);
      await t.app.get(AuditRecorder).flush();
      await auditSocket.nextMessage((message) => message.data?.type === 'auth.login' && BigInt(message.data.id) > BigInt(floodStartId));

      const recorded = await failuresSince(t.baseUrl, adminToken, floodStartId);
      expect(recorded).toHaveLength(60);
      expect(recorded.every((event) => event.type === 'auth.jwt' && event.reason === 'bad_signature')).toBe(true);
      const broadcast = auditSocket.messages.filter((message) => message.data?.outcome === 'failure' && BigInt(message.data.id) > BigInt(floodStartId));
      expect(broadcast).toHaveLength(60);
      const loggedFailures = () =>
        logChunks
          .join('')
          .split('\n')
          .filter((line) => line.trim() !== '')
          .map((line) => JSON.parse(line).audit)
          .filter((event) => event?.outcome === 'failure' && ['auth.jwt', 'auth.api_key'].includes(event.type)).length;
      // The logger may write a little after the event: wait for the 60, then make sure there are no more.
      expect(await waitFor(() => loggedFailures() >= 60)).toBe(true);
      expect(loggedFailures()).toBe(60);
    });

    it('keeps counting within the minute: a further failure adds no row', async () => {
      expect(await me(t.baseUrl, bearer(badToken()))).toBe(401);
      await t.app.get(AuditRecorder).flush();
      expect(await failuresSince(t.baseUrl, adminToken, floodStartId)).toHaveLength(60);
    });

    it('writes one summary naming the counts per kind when the instance shuts down before the minute ends', async () => {
      await t.close();
      t = await startTestApp(ENV, db);
      adminToken = await login(t.baseUrl, ADMIN.username, ADMIN.password);
      const recorded = await failuresSince(t.baseUrl, adminToken, floodStartId);
      expect(recorded.filter((event) => event.type !== SUMMARY)).toHaveLength(60);
      expect(recorded.filter((event) => event.type === SUMMARY)).toEqual([
        expect.objectContaining({
          outcome: 'failure',
          actor: null,
          ip: HERE,
          user_agent: null,
          reason: '281 more failures from this address in one minute: auth.jwt/bad_signature ×241, auth.api_key/unknown_api_key ×40',
        }),
      ]);
    });
  });

  describe('when the window ends (on a clock the test moves)', () => {
    const clock = { now: 0 };
    let app: NestExpressApplication;
    let baseUrl: string;
    let adminToken: string;
    let dataDir: string;

    beforeAll(async () => {
      // The real application, with only the limiter's clock replaced.
      dataDir = db.dataDir ?? mkdtempSync(path.join(tmpdir(), 'aurora-flood-'));
      const { config } = loadConfig({
        NODE_ENV: 'test',
        JWT_SECRET_KEY: TEST_SECRET,
        DATA_DIR: dataDir,
        METRICS_PORT: '0',
        ALLOWED_ORIGINS: ALLOWED_ORIGIN,
        ...(db.url ? { DATABASE_URL: db.url } : {}),
        ...ENV,
      });
      const moduleRef = await Test.createTestingModule({ imports: [AppModule.forRoot(config)] })
        .overrideProvider(FailureFloodLimiter)
        .useValue(new FailureFloodLimiter({ clock: () => clock.now }))
        .compile();
      app = moduleRef.createNestApplication<NestExpressApplication>({ bodyParser: false, bufferLogs: true });
      configureApp(app);
      await app.listen(0, '127.0.0.1');
      baseUrl = `http://127.0.0.1:${(app.getHttpServer().address() as { port: number }).port}`;
      adminToken = await login(baseUrl, ADMIN.username, ADMIN.password);
    });
    afterAll(async () => {
      await app?.close();
      if (dataDir && !db?.dataDir) rmSync(dataDir, { recursive: true, force: true });
    });

    it('records the summary of an address that went quiet, without waiting for its next request', async () => {
      const startId = await newestId(baseUrl, adminToken);
      const token = badToken();
      await inParallel(100, 20, () => me(baseUrl, bearer(token)));
      clock.now += 59_999;
      await new Promise((resolve) => setTimeout(resolve, 1500));
      await app.get(AuditRecorder).flush();
      expect((await failuresSince(baseUrl, adminToken, startId)).filter((event) => event.type === SUMMARY)).toEqual([]);

      clock.now += 1;
      let summaries: AuditEventView[] = [];
      const deadline = Date.now() + 5000;
      while (summaries.length === 0 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        summaries = (await failuresSince(baseUrl, adminToken, startId)).filter((event) => event.type === SUMMARY);
      }
      expect(summaries).toEqual([
        expect.objectContaining({ ip: HERE, actor: null, reason: '40 more failures from this address in one minute: auth.jwt/bad_signature ×40' }),
      ]);
      expect((await failuresSince(baseUrl, adminToken, startId)).filter((event) => event.type === 'auth.jwt')).toHaveLength(60);
    });

    it('records failures one by one again in the next window, with a bidirectional override escaped', async () => {
      const startId = await newestId(baseUrl, adminToken);
      const reply = await call(baseUrl, 'POST', '/api/v1/auth/token', { body: { username: `${RLO}moc.evil@x`, password: 'not-the-password-1' } });
      expect(reply.status).toBe(401);
      await app.get(AuditRecorder).flush();
      expect(await failuresSince(baseUrl, adminToken, startId)).toEqual([
        expect.objectContaining({ type: 'auth.login', actor: '\\u202emoc.evil@x', reason: 'unknown_user' }),
      ]);
    });
  });
});
