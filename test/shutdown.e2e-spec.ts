import * as http from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { bearer, createUser, login } from './support/http';
import { ensureBuilt, freePort, ServerProcess, spawnServer, waitForReady } from './support/server-process';
import { LiveClient, openLive, sleep } from './support/ws';

const ADMIN = { username: 'shutdown-admin@test.local', password: 'shutdown-password-123' };
const SECRET = 'shutdown-secret-0123456789-abcdefghijklmn';
const EXIT_BOUND_MS = 10_000;

interface Outcome {
  status: number | null;
  error?: string;
  at: number;
}

/** A request over its own connection; resolves with its status, or the error that cut it. */
function request(
  port: number,
  method: string,
  pathName: string,
  options: { headers?: Record<string, string>; body?: string; sendBody?: (req: http.ClientRequest, body: string) => void } = {},
): { connected: Promise<void>; sent: Promise<void>; done: Promise<Outcome> } {
  let markSent!: () => void;
  let markConnected!: () => void;
  const sent = new Promise<void>((resolve) => (markSent = resolve));
  const connected = new Promise<void>((resolve) => (markConnected = resolve));
  const done = new Promise<Outcome>((resolve) => {
    const body = options.body ?? '';
    const req = http.request({
      host: '127.0.0.1',
      port,
      method,
      path: pathName,
      agent: false,
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...options.headers },
    });
    req.on('response', (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? null, at: Date.now() }));
      res.on('error', (error) => resolve({ status: null, error: error.message, at: Date.now() }));
    });
    req.on('error', (error) => resolve({ status: null, error: (error as NodeJS.ErrnoException).code ?? error.message, at: Date.now() }));
    // Sent = connected (the kernel has queued it for the server) and the request written.
    let isConnected = false;
    let written = false;
    const check = () => isConnected && written && markSent();
    req.on('socket', (socket) => socket.once('connect', () => ((isConnected = true), markConnected(), check())));
    req.on('finish', () => ((written = true), check()));
    req.flushHeaders();
    if (options.sendBody) options.sendBody(req, body);
    else req.end(body);
  });
  return { connected, sent, done };
}

/** /readyz over a fresh connection: its status, or null when nothing listens any more. */
async function readyz(baseUrl: string): Promise<number | null> {
  try {
    return (await fetch(`${baseUrl}/readyz`)).status;
  } catch {
    return null;
  }
}

/** The real process (dist/src/main.js) on the embedded database: what SIGTERM does to it. */
describe('graceful shutdown of the real server process (SIGTERM)', () => {
  let dataDir: string;
  let server: ServerProcess;
  let port: number;
  let baseUrl: string;

  beforeAll(async () => {
    ensureBuilt();
    dataDir = mkdtempSync(path.join(tmpdir(), 'aurora-shutdown-'));
    port = await freePort();
    baseUrl = `http://127.0.0.1:${port}`;
    server = spawnServer({
      PORT: String(port),
      HOST: '127.0.0.1',
      DATA_DIR: dataDir,
      JWT_SECRET_KEY: SECRET,
      AURORA_ADMIN_USERNAME: ADMIN.username,
      AURORA_ADMIN_PASSWORD: ADMIN.password,
      LOGIN_MAX_PER_IP: '100000',
      LOGIN_MAX_FAILURES_PER_USER: '100000',
    });
    await waitForReady(baseUrl);
  }, 120_000);
  afterAll(async () => {
    if (server && server.child.exitCode === null && server.child.signalCode === null) {
      server.child.kill('SIGKILL');
      await server.exited;
    }
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('turns /readyz away, lets requests in flight finish, closes sockets with 1001 and exits 0 within 10 s', async () => {
    const token = await login(baseUrl, ADMIN.username, ADMIN.password);
    // Six accounts, one right login each (one account's checks in flight are bounded), and six wrong ones.
    const accounts = await Promise.all([0, 1, 2, 3, 4, 5].map((n) => createUser(baseUrl, token, `shutdown-user-${n}@test.local`, 'viewer')));
    const socket: LiveClient = await openLive(`ws://127.0.0.1:${port}/api/v1/ws/alerts`, bearer(token));

    // A request whose body is still arriving when the signal comes: headers and half the body now,
    // the rest 300 ms after SIGTERM.
    const alertBody = JSON.stringify({ title: 'Posted across a shutdown', severity: 'medium', source: 'ids', description: 'x'.repeat(2000) });
    let finishUpload!: () => void;
    const uploadGate = new Promise<void>((resolve) => (finishUpload = resolve));
    const slowUpload = request(port, 'POST', '/api/v1/alerts', {
      headers: bearer(token),
      body: alertBody,
      sendBody: (req, body) => {
        req.write(body.slice(0, 1000));
        void uploadGate.then(() => req.end(body.slice(1000)));
      },
    });
    // Logins are argon2 work (~50 ms each, one per core at a time): a dozen keeps the server busy
    // for a while after the signal.
    const logins = Array.from({ length: 12 }, (_, i) =>
      request(port, 'POST', '/api/v1/auth/token', {
        body: JSON.stringify(
          i % 2 === 0
            ? { username: accounts[i / 2].username, password: accounts[i / 2].password }
            : { username: `nobody-${i}@test.local`, password: 'wrong-password-123' },
        ),
      }),
    );
    await Promise.all([slowUpload.connected, ...logins.map((l) => l.sent)]);
    await sleep(20);

    const signalledAt = Date.now();
    server.child.kill('SIGTERM');

    // Until the signal is handled /readyz may still answer 200; after that, never again.
    const readiness: Array<number | null> = [];
    const turned = await (async () => {
      while (Date.now() - signalledAt < 2000) {
        const status = await readyz(baseUrl);
        readiness.push(status);
        if (status !== 200) return true;
        await sleep(10);
      }
      return false;
    })();
    expect(turned).toBe(true);
    for (let i = 0; i < 5; i++) {
      readiness.push(await readyz(baseUrl));
      await sleep(20);
    }
    const firstAway = readiness.findIndex((status) => status !== 200);
    expect(readiness.slice(firstAway).every((status) => status === 503 || status === null)).toBe(true);

    const closed = await Promise.race([socket.closed, sleep(5000).then(() => null)]);
    expect(closed?.code).toBe(1001);

    await sleep(300);
    finishUpload();

    const loginOutcomes = await Promise.all(logins.map((l) => l.done));
    for (const outcome of loginOutcomes) expect([200, 401]).toContain(outcome.status);
    expect(loginOutcomes.filter((o) => o.status === 200)).toHaveLength(6);
    expect(loginOutcomes.filter((o) => o.status === 401)).toHaveLength(6);
    // At least some were still being served when the signal arrived: they were not cut.
    expect(loginOutcomes.some((outcome) => outcome.at > signalledAt)).toBe(true);

    const upload = await slowUpload.done;
    expect(upload).toMatchObject({ status: 201 });
    expect(upload.at).toBeGreaterThan(signalledAt + 300);

    const exitCode = await Promise.race([server.exited, sleep(EXIT_BOUND_MS).then(() => 'still running')]);
    expect(exitCode).toBe(0);
    expect(Date.now() - signalledAt).toBeLessThanOrEqual(EXIT_BOUND_MS);
  }, 60_000);
});
