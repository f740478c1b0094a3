import { execFileSync } from 'node:child_process';
import { request } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { bearer, call, waitFor } from './support/http';
import { ensureBuilt, freePort, spawnServer, waitForReady, type ServerProcess } from './support/server-process';
import { createTestDatabase, type TestDatabase } from './support/test-database';

const REDIS_URL = process.env.TEST_REDIS_URL || 'redis://127.0.0.1:6379';
const SECRET = 'web-concurrency-secret-0123456789abcdef';
const ADMIN = { username: 'cluster-admin@aurora.local', password: 'Cluster-Admin-Password-1' };

/** The pids of a process's children (its workers). */
function childrenOf(pid: number): number[] {
  try {
    return execFileSync('ps', ['-o', 'pid=', '--ppid', String(pid)])
      .toString()
      .split('\n')
      .map((line) => Number(line.trim()))
      .filter((n) => n > 0);
  } catch {
    return [];
  }
}

/**
 * One request on a connection of its own (fetch keeps connections alive, and one connection stays
 * with one worker): the primary hands new connections to the workers in turn, so a series of these
 * reaches every worker.
 */
function freshRequest(baseUrl: string, method: string, pathName: string, headers: Record<string, string> = {}, body?: unknown): Promise<number> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = request(
      `${baseUrl}${pathName}`,
      {
        method,
        agent: false,
        headers: { ...headers, ...(payload ? { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(payload)) } : {}) },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

async function metricValue(metricsUrl: string, line: RegExp): Promise<number | null> {
  const text = await (await fetch(metricsUrl)).text();
  const match = text.split('\n').find((l) => line.test(l));
  return match ? Number(match.split(' ').pop()) : null;
}

describe('WEB_CONCURRENCY: several worker processes behind one port (PostgreSQL, Redis)', () => {
  let dataDir: string;
  let db: TestDatabase;

  beforeAll(async () => {
    ensureBuilt();
    dataDir = mkdtempSync(path.join(tmpdir(), 'aurora-cluster-'));
    db = await createTestDatabase();
  });
  afterAll(async () => {
    rmSync(dataDir, { recursive: true, force: true });
    await db.drop();
  });

  const baseEnv = () => ({ DATA_DIR: dataDir, JWT_SECRET_KEY: SECRET, HOST: '127.0.0.1', PORT: '0' });

  it.each([
    ['2 without DATABASE_URL', { WEB_CONCURRENCY: '2' }, /WEB_CONCURRENCY=2 needs DATABASE_URL/],
    ['auto without DATABASE_URL', { WEB_CONCURRENCY: 'auto' }, /WEB_CONCURRENCY=auto needs DATABASE_URL/],
    ['0', { WEB_CONCURRENCY: '0' }, /WEB_CONCURRENCY must be "auto" or an integer between 1 and 64/],
    ['two', { WEB_CONCURRENCY: 'two' }, /WEB_CONCURRENCY must be "auto" or an integer between 1 and 64/],
    ['65', { WEB_CONCURRENCY: '65' }, /WEB_CONCURRENCY must be "auto" or an integer between 1 and 64/],
  ])('refuses WEB_CONCURRENCY=%s with one line naming what is missing, exit code 78', async (_name, env, message) => {
    const server = spawnServer({ ...baseEnv(), ...env });
    expect(await server.exited).toBe(78);
    expect(server.output().trim().split('\n')).toEqual([expect.stringMatching(message)]);
  });

  it('refuses several workers on PostgreSQL without REDIS_URL: each worker would count the limits on its own', async () => {
    const server = spawnServer({ ...baseEnv(), WEB_CONCURRENCY: '2', DATABASE_URL: db.url });
    expect(await server.exited).toBe(78);
    expect(server.output().trim().split('\n')).toEqual([expect.stringMatching(/WEB_CONCURRENCY=2 needs REDIS_URL/)]);
  });

  describe('with 2 workers', () => {
    let server: ServerProcess;
    let baseUrl: string;
    let metricsUrl: string;

    beforeAll(async () => {
      const port = await freePort();
      const metricsPort = await freePort();
      baseUrl = `http://127.0.0.1:${port}`;
      metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
      server = spawnServer({
        ...baseEnv(),
        PORT: String(port),
        METRICS_PORT: String(metricsPort),
        WEB_CONCURRENCY: '2',
        DATABASE_URL: db.url,
        REDIS_URL: REDIS_URL,
        AURORA_ADMIN_USERNAME: ADMIN.username,
        AURORA_ADMIN_PASSWORD: ADMIN.password,
      });
      await waitForReady(baseUrl);
      expect(await waitFor(() => childrenOf(server.child.pid!).length === 2, 30_000)).toBe(true);
    }, 90_000);

    afterAll(async () => {
      if (server.child.exitCode === null) {
        server.child.kill('SIGKILL');
        await server.exited;
      }
    });

    it('runs two worker processes under one primary, and a logout on one is a refusal on every worker at once', async () => {
      expect(childrenOf(server.child.pid!)).toHaveLength(2);
      const login = await call(baseUrl, 'POST', '/api/v1/auth/token', { body: ADMIN });
      expect(login.status).toBe(200);
      const token = login.body.access_token as string;
      for (let i = 0; i < 10; i++) expect(await freshRequest(baseUrl, 'GET', '/api/v1/auth/me', bearer(token))).toBe(200);
      expect(await freshRequest(baseUrl, 'POST', '/api/v1/auth/logout', bearer(token))).toBe(204);
      // Ten new connections reach both workers: the worker that did not serve the logout refuses too.
      const after: number[] = [];
      for (let i = 0; i < 10; i++) after.push(await freshRequest(baseUrl, 'GET', '/api/v1/auth/me', bearer(token)));
      expect(after).toEqual(Array(10).fill(401));
    });

    it("serves every worker's metrics summed on the primary's METRICS_PORT", async () => {
      const line = /^aurora_auth_attempts_total\{.*method="login".*outcome="success"/;
      const before = (await metricValue(metricsUrl, line)) ?? 0;
      // Six new connections, three to each worker: one worker's own count would be 3.
      for (let i = 0; i < 6; i++) expect(await freshRequest(baseUrl, 'POST', '/api/v1/auth/token', {}, ADMIN)).toBe(200);
      expect(await metricValue(metricsUrl, line)).toBe(before + 6);
    });

    it('starts a new worker when one dies, and keeps answering', async () => {
      const [victim] = childrenOf(server.child.pid!);
      process.kill(victim, 'SIGKILL');
      expect(await waitFor(() => childrenOf(server.child.pid!).length === 2 && !childrenOf(server.child.pid!).includes(victim), 30_000)).toBe(true);
      await waitForReady(baseUrl);
      expect((await call(baseUrl, 'GET', '/healthz')).status).toBe(200);
    }, 60_000);

    it('on SIGTERM drains every worker and exits 0', async () => {
      const workers = childrenOf(server.child.pid!);
      server.child.kill('SIGTERM');
      expect(await server.exited).toBe(0);
      for (const pid of workers) expect(() => process.kill(pid, 0)).toThrow();
    }, 60_000);
  });
});
