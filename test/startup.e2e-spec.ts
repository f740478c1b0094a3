import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { call } from './support/http';
import { ensureBuilt, freePort, spawnServer, waitForReady } from './support/server-process';

const PASSWORD_LINE = /created admin "admin@aurora\.local" with password: (\S+)/;

describe('start-up of the real process on the embedded database', () => {
  let dataDir: string;

  beforeAll(() => {
    ensureBuilt();
    dataDir = mkdtempSync(path.join(tmpdir(), 'aurora-startup-'));
  });
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('refuses to start in production without JWT_SECRET_KEY, naming it on one line', async () => {
    const server = spawnServer({ NODE_ENV: 'production', DATA_DIR: dataDir, PORT: '0' });
    expect(await server.exited).not.toBe(0);
    const lines = server.output().trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('JWT_SECRET_KEY');
  });

  it('refuses a JWT_SECRET_KEY shorter than 32 characters outside production too', async () => {
    const server = spawnServer({ NODE_ENV: 'development', JWT_SECRET_KEY: 'too-short', DATA_DIR: dataDir, PORT: '0' });
    expect(await server.exited).not.toBe(0);
    expect(server.output().trim().split('\n')).toEqual([expect.stringContaining('JWT_SECRET_KEY')]);
  });

  it('bootstraps an admin once, locks its data directory, shuts down cleanly and keeps its data', async () => {
    const port = await freePort();
    const baseUrl = `http://127.0.0.1:${port}`;
    const env = { DATA_DIR: dataDir, PORT: String(port), HOST: '127.0.0.1' };

    const first = spawnServer(env);
    await waitForReady(baseUrl);
    const password = PASSWORD_LINE.exec(first.output())?.[1];
    expect(password).toBeDefined();
    expect(statSync(path.join(dataDir, 'jwt-secret')).mode & 0o777).toBe(0o600);

    const intruder = spawnServer({ ...env, PORT: String(await freePort()) });
    expect(await intruder.exited).not.toBe(0);
    expect(intruder.output()).toMatch(/in use by another AuroraSOC process/);

    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);

    const second = spawnServer(env);
    await waitForReady(baseUrl);
    expect(second.output()).not.toMatch(PASSWORD_LINE);
    const login = await call(baseUrl, 'POST', '/api/v1/auth/token', { body: { username: 'admin@aurora.local', password } });
    expect(login.status).toBe(200);
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
  }, 120_000);
});
