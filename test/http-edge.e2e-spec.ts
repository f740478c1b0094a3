import * as http from 'node:http';
import * as net from 'node:net';
import { bearer, call, login, waitFor, type Json } from './support/http';
import { claimsLike, forgeToken, nowSeconds } from './support/jwt';
import { ADMIN, databaseForFile, startTestApp, TestApp } from './support/test-app';
import { closedWithin, openLive, tryHandshake } from './support/ws';

interface RawReply {
  status: number;
  headers: Record<string, string>;
  body: Json;
  /** Whether the server closed the connection (it always does after a parser error or a timeout). */
  closed: boolean;
}

const portOf = (baseUrl: string) => Number(new URL(baseUrl).port);

/** Parses the first response on a raw connection: status line, headers, JSON body. */
function parseRaw(data: string, closed: boolean): RawReply {
  const end = data.indexOf('\r\n\r\n');
  if (end < 0) throw new Error(`no complete response; got ${JSON.stringify(data.slice(0, 300))}`);
  const [statusLine, ...lines] = data.slice(0, end).split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  const text = data.slice(end + 4);
  return { status: Number(statusLine.split(' ')[1]), headers, body: text ? JSON.parse(text) : undefined, closed };
}

/**
 * Talks HTTP/1.1 by hand on a fresh connection (what fetch cannot send: broken framing, huge or
 * never-ending headers, a body that trickles), and collects what the server answers until it
 * closes. `talk` writes; it may keep writing until the socket closes.
 */
function rawExchange(port: number, talk: (socket: net.Socket) => void, giveUpMs = 30_000): Promise<RawReply> {
  return new Promise<string>((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let data = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`the server kept the connection open for ${giveUpMs} ms; got ${JSON.stringify(data.slice(0, 300))}`));
    }, giveUpMs);
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => (data += chunk));
    // Writing after the server closed resets the connection: what it answered before still counts.
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(data);
    });
    socket.on('connect', () => talk(socket));
  }).then((data) => parseRaw(data, true));
}

/** Writes `line` every `everyMs` until the connection closes. */
function trickle(socket: net.Socket, line: () => string, everyMs = 200): void {
  const timer = setInterval(() => {
    if (!socket.destroyed) socket.write(line());
  }, everyMs);
  socket.on('close', () => clearInterval(timer));
}

function expectJsonError(reply: { status: number; headers: Record<string, string>; body: Json }, status: number): void {
  expect(reply.status).toBe(status);
  expect(reply.headers['content-type']).toMatch(/^application\/json/);
  expect(reply.body).toEqual({ statusCode: status, error: expect.any(String), message: expect.any(String), request_id: expect.any(String) });
  expect(reply.headers['x-request-id']).toBe(reply.body.request_id);
}

/** The API's rules: errors, 413/415/431/408, timeouts, no-store, exp cap; the alerts socket's 1009. */
describe('cheap refusals at the HTTP edge', () => {
  let db: Awaited<ReturnType<typeof databaseForFile>>;
  let t: TestApp;
  let admin: string;

  beforeAll(async () => {
    db = await databaseForFile();
    t = await startTestApp({ TRUST_PROXY: 'loopback' }, db);
    admin = await login(t.baseUrl, ADMIN.username, ADMIN.password);
  });
  afterAll(async () => {
    await t?.close();
    await db?.drop();
  });

  describe('logins refused before the controller', () => {
    it('audits a malformed-JSON login and a 415 login as auth.login failures', async () => {
      const client = { 'x-forwarded-for': '198.51.100.12', 'user-agent': 'http-edge/refused-login' };
      const malformed = await call(t.baseUrl, 'POST', '/api/v1/auth/token', {
        raw: '{"username":',
        headers: { ...client, 'content-type': 'application/json' },
      });
      expect(malformed.status).toBe(400);
      const form = await call(t.baseUrl, 'POST', '/api/v1/auth/token', {
        raw: 'username=a&password=b',
        headers: { ...client, 'content-type': 'application/x-www-form-urlencoded' },
      });
      expect(form.status).toBe(415);
      let events: Json[] = [];
      // Audit rows are written just after the answer: poll briefly.
      await waitFor(async () => {
        events = (await call(t.baseUrl, 'GET', '/api/v1/audit/events?type=auth.login&outcome=failure&limit=1000', { headers: bearer(admin) })).body;
        return events.filter((event) => event.user_agent === client['user-agent']).length >= 2;
      }, 5000);
      const mine = events.filter((event) => event.user_agent === client['user-agent']);
      expect(mine).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ actor: null, reason: 'malformed_request', ip: '198.51.100.12', request_id: malformed.body.request_id }),
          expect.objectContaining({ actor: null, reason: 'unsupported_content_type', ip: '198.51.100.12', request_id: form.body.request_id }),
        ]),
      );
    });
    it('does not audit a refused body on another route as a login', async () => {
      const elsewhere = { 'x-forwarded-for': '198.51.100.13', 'user-agent': 'http-edge/refused-elsewhere' };
      const login = { 'x-forwarded-for': '198.51.100.13', 'user-agent': 'http-edge/refused-login-after' };
      const other = await call(t.baseUrl, 'POST', '/api/v1/alerts', {
        raw: '{"title":',
        headers: { ...elsewhere, ...bearer(admin), 'content-type': 'application/json' },
      });
      expect(other.status).toBe(400);
      const refused = await call(t.baseUrl, 'POST', '/api/v1/auth/token', { raw: '{"username":', headers: { ...login, 'content-type': 'application/json' } });
      expect(refused.status).toBe(400);
      let events: Json[] = [];
      // Audit rows are written in order just after the answer: once the later login's row is there, the earlier one would be.
      await waitFor(async () => {
        events = (await call(t.baseUrl, 'GET', '/api/v1/audit/events?type=auth.login&outcome=failure&limit=1000', { headers: bearer(admin) })).body;
        return events.some((event) => event.user_agent === login['user-agent']);
      }, 5000);
      expect(events.filter((event) => event.user_agent === elsewhere['user-agent'])).toEqual([]);
    });
  });

  describe("Node's HTTP parser errors", () => {
    it('answers a header block over 16 kB with 431 and the JSON error body', async () => {
      const reply = await rawExchange(portOf(t.baseUrl), (socket) =>
        socket.write(`GET /api/v1/auth/me HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: ${'a'.repeat(17 * 1024)}\r\n\r\n`),
      );
      expectJsonError(reply, 431);
      expect(reply.headers.connection).toBe('close');
      expect(reply.closed).toBe(true);
    });

    it.each([
      ['a request line that is not HTTP', 'HELLO THERE\r\n\r\n'],
      [
        'Content-Length together with Transfer-Encoding',
        'POST /api/v1/auth/token HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
      ],
      [
        'a chunk size that is not hexadecimal',
        'POST /api/v1/auth/token HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n',
      ],
    ])('answers %s with 400 and the JSON error body', async (_name, request) => {
      const reply = await rawExchange(portOf(t.baseUrl), (socket) => socket.write(request));
      expectJsonError(reply, 400);
      expect(reply.closed).toBe(true);
    });
  });

  describe('timeouts', () => {
    it('gives the server the contract’s limits: headers within 10 s, the whole request within 30 s', () => {
      const server = t.app.getHttpServer();
      expect(server.headersTimeout).toBe(10_000);
      expect(server.requestTimeout).toBe(30_000);
    });

    describe('enforced (shorter limits, so the test need not wait 30 s)', () => {
      let quick: TestApp;
      beforeAll(async () => {
        quick = await startTestApp({}, db, { timeouts: { headersMs: 1000, requestMs: 2000, checkIntervalMs: 250 } });
      });
      afterAll(async () => {
        await quick?.close();
      });

      it('closes the connection of a client that sends its headers and then trickles the body, with 408', async () => {
        const reply = await rawExchange(portOf(quick.baseUrl), (socket) => {
          socket.write('POST /api/v1/auth/token HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{');
          trickle(socket, () => ' ');
        });
        expectJsonError(reply, 408);
        expect(reply.closed).toBe(true);
      });

      it('closes the connection of a client that never finishes its headers, with 408', async () => {
        let header = 0;
        const reply = await rawExchange(portOf(quick.baseUrl), (socket) => {
          socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n');
          trickle(socket, () => `X-Slow-${header++}: 1\r\n`);
        });
        expectJsonError(reply, 408);
        expect(reply.closed).toBe(true);
      });

      it('still answers a prompt request', async () => {
        expect((await call(quick.baseUrl, 'GET', '/healthz')).status).toBe(200);
      });
    });
  });

  describe('bodies', () => {
    const big = 'x'.repeat(150 * 1024);

    it.each([
      ['text/plain', '/api/v1/auth/token'],
      ['application/octet-stream', '/api/v1/alerts'],
      ['application/json', '/api/v1/alerts'],
      ['text/plain', '/healthz'],
      ['text/plain', '/index.html'],
    ])('answers a %s body over 100 kB on %s with 413', async (type, path) => {
      const reply = await call(t.baseUrl, 'POST', path, { raw: big, headers: { 'content-type': type } });
      expect(reply.status).toBe(413);
      expect(reply.body).toMatchObject({ statusCode: 413, error: 'Payload Too Large', request_id: expect.any(String) });
    });

    it('answers a chunked JSON body over 100 kB with 413', async () => {
      const reply = await new Promise<{ status: number; body: Json }>((resolve, reject) => {
        const req = http.request(
          `${t.baseUrl}/api/v1/auth/token`,
          { method: 'POST', headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' } },
          (res) => {
            let text = '';
            res.on('data', (chunk) => (text += chunk));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
          },
        );
        req.on('error', reject);
        req.end(JSON.stringify({ username: 'a', password: big }));
      });
      expect(reply.status).toBe(413);
      expect(reply.body).toMatchObject({ statusCode: 413, request_id: expect.any(String) });
    });

    it.each([
      ['text/plain', JSON.stringify({ title: 't', severity: 'low', source: 's' })],
      ['application/x-www-form-urlencoded', 'title=t&severity=low&source=s'],
      ['multipart/form-data; boundary=b', '--b\r\nContent-Disposition: form-data; name="title"\r\n\r\nt\r\n--b--\r\n'],
    ])('answers a %s body on an API route with 415', async (type, raw) => {
      const reply = await call(t.baseUrl, 'POST', '/api/v1/alerts', { raw, headers: { ...bearer(admin), 'content-type': type } });
      expect(reply.status).toBe(415);
      expect(reply.body).toMatchObject({ statusCode: 415, error: 'Unsupported Media Type', request_id: expect.any(String) });
    });

    it('answers a body without a Content-Type on an API route with 415', async () => {
      const reply = await new Promise<number>((resolve, reject) => {
        const req = http.request(`${t.baseUrl}/api/v1/alerts`, { method: 'POST', headers: { ...bearer(admin), 'content-length': '2' } }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', reject);
        req.end('{}');
      });
      expect(reply).toBe(415);
    });

    it('reads application/*+json bodies as JSON', async () => {
      const reply = await call(t.baseUrl, 'POST', '/api/v1/auth/token', {
        raw: JSON.stringify(ADMIN),
        headers: { 'content-type': 'application/vnd.api+json; charset=utf-8' },
      });
      expect(reply.status).toBe(200);
    });

    it('leaves requests without a body alone', async () => {
      const token = await login(t.baseUrl, ADMIN.username, ADMIN.password);
      const logout = await call(t.baseUrl, 'POST', '/api/v1/auth/logout', { headers: { ...bearer(token), 'content-length': '0' } });
      expect(logout.status).toBe(204);
      const typedButEmpty = await call(t.baseUrl, 'GET', '/api/v1/auth/me', { headers: { ...bearer(admin), 'content-type': 'text/plain' } });
      expect(typedButEmpty.status).toBe(200);
    });
  });

  describe('validation', () => {
    it('refuses a login body of 9,000 unknown fields with 400 and a small answer', async () => {
      const body: Record<string, unknown> = { username: 'someone', password: 'whatever-password' };
      for (let i = 0; i < 9000; i++) body[`k${i}`] = 1;
      const response = await fetch(`${t.baseUrl}/api/v1/auth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      const text = await response.text();
      expect(response.status).toBe(400);
      expect(Buffer.byteLength(text)).toBeLessThan(2048);
      // Refused by counting the fields, before validation would look at each of them.
      expect(JSON.parse(text)).toMatchObject({ statusCode: 400, message: expect.stringMatching(/has 9002 fields/) });
    });

    it('names at most 10 problems, and says how many more there were', async () => {
      const body: Record<string, unknown> = { title: 't', severity: 'low', source: 's' };
      for (let i = 0; i < 30; i++) body[`unknown_${'u'.repeat(500)}_${i}`] = 1;
      const reply = await call(t.baseUrl, 'POST', '/api/v1/alerts', { headers: bearer(admin), body });
      expect(reply.status).toBe(400);
      const problems = (reply.body.message as string).split('; ');
      expect(problems).toHaveLength(11);
      // Each names an unknown property, cut short: the client chose those 500-character names.
      for (const problem of problems.slice(0, 10)) {
        expect(problem).toMatch(/^property unknown_u+/);
        expect(problem.length).toBeLessThanOrEqual(200);
      }
      expect(problems[10]).toBe('and 20 more problems');
    });
  });

  describe('WebSockets', () => {
    it('closes the alerts socket with 1009 when a client frame is over 4 kB', async () => {
      const client = await openLive(`${t.wsUrl}/api/v1/ws/alerts`, bearer(admin));
      client.socket.send('x'.repeat(4097));
      const closed = await closedWithin(client, 10_000);
      expect(closed.code).toBe(1009);
    });

    it('answers a handshake to an unknown path with 404, the JSON error body and the request id', async () => {
      const outcome = await tryHandshake(`${t.wsUrl}/api/v1/ws/nope`, { ...bearer(admin), 'x-request-id': 'ws-nope-1' });
      expect(outcome.opened).toBe(false);
      if (outcome.opened) return;
      expect(outcome.status).toBe(404);
      expect(outcome.headers['content-type']).toMatch(/^application\/json/);
      expect(outcome.headers['x-request-id']).toBe('ws-nope-1');
      expect(JSON.parse(outcome.body)).toEqual({
        statusCode: 404,
        error: 'Not Found',
        message: expect.stringMatching(/\/api\/v1\/ws\/alerts/),
        request_id: 'ws-nope-1',
      });
    });

    it('still opens the known sockets', async () => {
      expect(await tryHandshake(`${t.wsUrl}/api/v1/ws/alerts`, bearer(admin))).toEqual({ opened: true, status: 101 });
      expect(await tryHandshake(`${t.wsUrl}/api/v1/ws/audit?x=1`, bearer(admin))).toEqual({ opened: true, status: 101 });
    });
  });

  describe('odd paths', () => {
    it.each(['/api/docs//x', '/api/docs/nothing-here', '/api/docs/%', '/api/nothing', '/api//v1'])(
      'answers GET %s with the JSON error body, never HTML',
      async (path) => {
        const reply = await call(t.baseUrl, 'GET', path);
        expect(reply.status).toBeGreaterThanOrEqual(400);
        expect(reply.status).toBeLessThan(500);
        expect(reply.headers.get('content-type')).toMatch(/^application\/json/);
        expect(reply.body).toMatchObject({ statusCode: reply.status, request_id: expect.any(String) });
      },
    );

    it('still serves the OpenAPI page and document', async () => {
      const page = await call(t.baseUrl, 'GET', '/api/docs');
      expect(page.status).toBe(200);
      expect(page.headers.get('content-type')).toMatch(/text\/html/);
      expect((await call(t.baseUrl, 'GET', '/api/docs-json')).status).toBe(200);
    });
  });

  describe('authenticated responses', () => {
    it.each(['/api/v1/auth/me', '/api/v1/alerts'])('GET %s carries Cache-Control: no-store', async (path) => {
      const reply = await call(t.baseUrl, 'GET', path, { headers: bearer(admin) });
      expect(reply.status).toBe(200);
      expect(reply.headers.get('cache-control')).toBe('no-store');
    });

    it('refuses a token whose exp − iat exceeds JWT_EXPIRY_HOURS, and accepts one within it', async () => {
      const issued = await login(t.baseUrl, ADMIN.username, ADMIN.password);
      const tenYears = forgeToken(claimsLike(issued, { exp: nowSeconds() + 10 * 365 * 24 * 3600 }));
      const refused = await call(t.baseUrl, 'GET', '/api/v1/auth/me', { headers: bearer(tenYears) });
      expect(refused.status).toBe(401);
      expect(refused.headers.get('www-authenticate')).toBe('Bearer');
      const withinLimit = forgeToken(claimsLike(issued));
      expect((await call(t.baseUrl, 'GET', '/api/v1/auth/me', { headers: bearer(withinLimit) })).status).toBe(200);
    });
  });
});
