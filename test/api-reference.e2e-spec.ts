import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { call } from './support/http';
import { ensureBuilt, ROOT } from './support/server-process';
import { databaseForFile, startTestApp, TestApp } from './support/test-app';

const SCRIPT = path.join(ROOT, 'scripts', 'write-api-reference.js');
const REFERENCE = path.join(ROOT, 'docs', 'api.md');
const HTTP_METHODS = ['get', 'put', 'post', 'patch', 'delete', 'head', 'options', 'trace'];

/** Routes the reference must always describe, whatever the document says: a floor, not the list. */
const REQUIRED_ROUTES = [
  'POST /api/v1/auth/token',
  'POST /api/v1/auth/logout',
  'GET /api/v1/auth/me',
  'GET /api/v1/users',
  'POST /api/v1/users',
  'POST /api/v1/users/me/password',
  'POST /api/v1/auth/api-keys',
  'POST /api/v1/auth/api-keys/{id}/rotate',
  'DELETE /api/v1/auth/api-keys/{id}',
  'POST /api/v1/alerts',
  'GET /api/v1/alerts',
  'GET /api/v1/audit/events',
  'GET /api/v1/audit/events/export',
];

function runScript(args: string[]): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [SCRIPT, ...args], { cwd: ROOT, timeout: 170_000, maxBuffer: 1 << 20 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
      resolve({ code, output: `${stdout}${stderr}` });
    });
  });
}

/** The text of one route's section of docs/api.md, from its heading to the next heading. */
function sectionOf(reference: string, route: string): string | undefined {
  const start = reference.indexOf(`\n### ${route}\n`);
  if (start < 0) return undefined;
  const end = reference.indexOf('\n#', start + 1);
  return reference.slice(start, end < 0 ? undefined : end);
}

describe('docs/api.md, the API reference generated from the OpenAPI document', () => {
  let reference: string;

  beforeAll(() => {
    ensureBuilt();
    reference = readFileSync(REFERENCE, 'utf8');
  }, 300_000);

  it('is what scripts/write-api-reference.js writes for the current code', async () => {
    const { code, output } = await runScript(['--check']);
    if (code !== 0) {
      throw new Error(`docs/api.md is out of date (or the script failed, exit ${code}). Run \`npm run docs:api\` and commit docs/api.md.\n${output}`);
    }
    expect(code).toBe(0);
  }, 180_000);

  describe('against the running application', () => {
    let db: Awaited<ReturnType<typeof databaseForFile>>;
    let t: TestApp;
    let document: { paths: Record<string, Record<string, unknown>> };

    beforeAll(async () => {
      db = await databaseForFile();
      t = await startTestApp({}, db);
      const reply = await call(t.baseUrl, 'GET', '/api/docs-json');
      expect(reply.status).toBe(200);
      document = reply.body as typeof document;
    }, 120_000);
    afterAll(async () => {
      await t?.close();
      await db?.drop();
    });

    it('has a section for every route in the OpenAPI document, and only those', () => {
      const served = Object.entries(document.paths)
        .flatMap(([route, item]) =>
          Object.keys(item)
            .filter((method) => HTTP_METHODS.includes(method))
            .map((method) => `${method.toUpperCase()} ${route}`),
        )
        .sort();
      const described = [...reference.matchAll(/^### ([A-Z]+ \S+)$/gm)].map((match) => match[1]).sort();
      expect(described).toEqual(served);
      for (const route of REQUIRED_ROUTES) {
        expect({ route, served: served.includes(route) }).toEqual({ route, served: true });
        expect({ route, described: sectionOf(reference, route) !== undefined }).toEqual({ route, described: true });
      }
    });
  });

  it('gives each route the permission its code requires, and its body fields with their constraints', () => {
    const permissionOf = (route: string) => /- Permission: (.*)/.exec(sectionOf(reference, route) ?? '')?.[1];
    expect(permissionOf('GET /api/v1/users')).toBe('`users:manage`');
    expect(permissionOf('POST /api/v1/auth/api-keys/{id}/rotate')).toBe('`users:manage`');
    expect(permissionOf('GET /api/v1/audit/events/export')).toBe('`audit:read`');
    expect(permissionOf('POST /api/v1/alerts')).toBe('`alerts:write`');
    expect(permissionOf('POST /api/v1/users/me/password')).toBe('any authenticated caller');
    expect(permissionOf('POST /api/v1/auth/token')).toBe('none (public)');

    expect(sectionOf(reference, 'POST /api/v1/auth/token')).toMatch(/\| `username` \| string \| yes \|/);
    expect(sectionOf(reference, 'POST /api/v1/auth/token')).toMatch(/\| `password` \| string \| yes \|/);
    expect(sectionOf(reference, 'POST /api/v1/auth/api-keys/{id}/rotate')).toMatch(/\| `grace_period_seconds` \| \w+ \| no \| 0\.\.86400; default `0` \|/);
    expect(sectionOf(reference, 'POST /api/v1/users/me/password')).toMatch(/\| `new_password` \| string \| yes \| length 12\.\.1024 \|/);
    expect(sectionOf(reference, 'GET /api/v1/alerts')).toMatch(/\| `limit` \| query \| \w+ \| no \| 1\.\.200; default `50` \|/);
  });

  it('describes what OpenAPI cannot: authentication, errors, WebSockets and the operational routes', () => {
    for (const text of ['/api/v1', 'Authorization: Bearer', 'X-API-Key', '`access_token` cookie', '?token=', '"request_id"']) {
      expect({ text, present: reference.includes(text) }).toEqual({ text, present: true });
    }
    const sockets = reference.slice(reference.indexOf('## WebSocket endpoints'));
    expect(sockets).toMatch(/\| `\/api\/v1\/ws\/alerts` \| `alerts:read` \|/);
    expect(sockets).toMatch(/\| `\/api\/v1\/ws\/audit` \| `audit:read` \|/);
    for (const closeCode of ['4401', '1001', '1009']) expect(sockets).toContain(`| \`${closeCode}\` |`);
    for (const route of ['GET /healthz', 'GET /readyz', 'GET /api/docs', 'GET /api/docs-json']) expect(sockets).toContain(`| \`${route}\` |`);
  });
});
