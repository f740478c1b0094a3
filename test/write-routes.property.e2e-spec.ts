import fc from 'fast-check';
import { isTimestamp } from '../src/common/is-timestamp';
import { apiKey, bearer, call, createUser, login, Reply } from './support/http';
import { ADMIN, databaseForFile, startTestApp, TestApp } from './support/test-app';

/**
 * Issue 12 item 5: whatever a client puts into the fields of a write route (null, arrays, numbers,
 * objects with `__proto__` keys, huge or odd Unicode strings, unknown fields) the answer is a 4xx
 * with the JSON error body, never a 5xx, and nothing changes. fast-check prints the seed of a
 * failing run; FC_SEED=<seed> replays it.
 */

/** JSON built as text, so that `__proto__` can be a real key and numbers like 1e400 can be sent. */
class Obj {
  constructor(readonly entries: Array<[string, Json]>) {}
}
class Raw {
  constructor(readonly text: string) {}
}
type Json = null | boolean | number | string | Json[] | Obj | Raw;

function toJson(value: Json): string {
  if (value instanceof Raw) return value.text;
  if (value instanceof Obj) return `{${value.entries.map(([key, child]) => `${JSON.stringify(key)}:${toJson(child)}`).join(',')}}`;
  if (Array.isArray(value)) return `[${value.map(toJson).join(',')}]`;
  // JSON.stringify escapes a lone surrogate as \ud800, which JSON.parse turns back into one.
  return JSON.stringify(value);
}

// The values the API names.
const ROLES = ['admin', 'analyst', 'operator', 'viewer', 'api_service'];
const KEY_PERMISSIONS = ['alerts:read', 'alerts:write', 'audit:read'];
const SEVERITIES = ['low', 'medium', 'high', 'critical'];
const ALERT_STATUSES = ['open', 'acknowledged', 'resolved'];
const BODY_LIMIT_BYTES = 100 * 1024;
const RUNS = 50;
// No shrinking: a body that slipped through has changed the state every later run sees, so a
// "smaller" failing body found afterwards would not be the one that did it.
const fcOptions = { numRuns: RUNS, endOnFailure: true, ...(process.env.FC_SEED ? { seed: Number(process.env.FC_SEED) } : {}) };

// ---- values of the wrong kind ----------------------------------------------------------------

/** Each one or two characters as class-validator counts them (a surrogate pair is one). */
const oddUnit = fc.constantFrom('\ud800', '\udfff', '\u202e', '\u2066', '\u0000', '😀', '\u200b', '\ufeff', 'e\u0301', 'İ', '\u0085', 'a', ' ');
const oddString = fc.array(fc.oneof(oddUnit, fc.string({ maxLength: 2 })), { minLength: 1, maxLength: 8 }).map((parts) => parts.join(''));
/** Over the limit (at least 5,000 characters) whichever way the characters are counted. */
const hugeString = (max: number) => fc.tuple(oddUnit, fc.integer({ min: 1, max: 200 })).map(([unit, extra]) => unit.repeat(Math.max(5000, max) + extra));
const finiteNumber = fc.oneof(fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }));
const objectKey = fc.oneof(
  fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf', '$ne', ''),
  fc.string({ maxLength: 8 }),
);
const { nested } = fc.letrec<{ nested: Json; array: Json[]; object: Obj }>((tie) => ({
  nested: fc.oneof({ depthSize: 'small' }, fc.constant(null), fc.boolean(), finiteNumber, fc.string({ maxLength: 8 }), oddString, tie('array'), tie('object')),
  array: fc.array(tie('nested'), { maxLength: 3 }),
  object: fc.array(fc.tuple(objectKey, tie('nested')), { maxLength: 3 }).map((entries) => new Obj(entries)),
}));
const protoObject = fc.tuple(fc.constantFrom('__proto__', 'constructor', 'prototype'), nested).map(([key, value]) => new Obj([[key, value]]));
const infinite = fc.constantFrom(new Raw('1e400'), new Raw('-1e400'));
const anArray = fc.array(nested, { maxLength: 4 });
const anObject = fc.array(fc.tuple(objectKey, nested), { maxLength: 3 }).map((entries) => new Obj(entries));
const notAString = fc.oneof({ arbitrary: fc.constant(null), weight: 3 }, fc.boolean(), finiteNumber, anArray, anObject, protoObject, infinite);

type Field =
  | { kind: 'string'; min: number; max: number; printable?: boolean; nonBlank?: boolean }
  | { kind: 'enum'; values: readonly string[] }
  | { kind: 'int'; min: number; max: number }
  | { kind: 'boolean' }
  | { kind: 'permissions' };

/** Values that the contract refuses for this field: never a valid one. */
function invalidFor(field: Field): fc.Arbitrary<Json> {
  switch (field.kind) {
    case 'string': {
      const strings: fc.Arbitrary<string>[] = [hugeString(field.max), fc.tuple(fc.string(), fc.string()).map(([a, b]) => `${a}\u0000${b}`)];
      if (field.min >= 1) strings.push(fc.constant(''));
      if (field.min > 2) strings.push(fc.array(oddUnit, { maxLength: Math.floor((field.min - 1) / 2) }).map((units) => units.join('')));
      if (field.printable)
        strings.push(
          fc.oneof(
            fc.string().map((s) => ` ${s}`),
            fc.string().map((s) => `${s}\t`),
            fc.constantFrom('a\u0085b', 'a\u001bb', 'line\r\nbreak'),
          ),
        );
      if (field.nonBlank) strings.push(fc.array(fc.constantFrom(' ', '\t', '\n', '\u00a0', '\u2003'), { minLength: 1, maxLength: 6 }).map((s) => s.join('')));
      return fc.oneof(notAString, ...strings);
    }
    case 'enum': {
      const variants = fc.constantFrom(...field.values).chain((v) => fc.constantFrom(v.toUpperCase(), ` ${v}`, `${v}\u202e`, `${v}\u0000`, `${v}s`));
      const strings = fc.oneof(variants, fc.string(), oddString, hugeString(100)).filter((s) => !field.values.includes(s));
      return fc.oneof(
        notAString,
        strings,
        fc.constantFrom(...field.values).map((v) => [v]),
      );
    }
    case 'int': {
      const { min, max } = field;
      const numbers = fc.oneof(
        fc.integer({ max: min - 1 }),
        fc.integer({ min: max + 1 }),
        fc.constantFrom(1e300, -1e300, Number.MAX_SAFE_INTEGER + 2),
        fc.double({ min, max, noNaN: true }).filter((n) => !Number.isInteger(n)),
      );
      const strings = fc.oneof(fc.integer({ min, max }).map(String), fc.string(), oddString);
      return fc.oneof(fc.constant(null), fc.boolean(), numbers, strings, anArray, anObject, protoObject, infinite);
    }
    case 'boolean':
      return fc.oneof(fc.constant(null), finiteNumber, fc.constantFrom('true', 'false', '1', ''), oddString, anArray, anObject, protoObject);
    case 'permissions': {
      const permission = fc.constantFrom(...KEY_PERMISSIONS);
      // users:manage is a permission, but never one a key may carry (400).
      const badItem = fc.oneof(
        fc.constant<Json>('users:manage'),
        fc.constant(null),
        finiteNumber,
        fc.boolean(),
        anArray,
        anObject,
        fc.string().filter((s) => !KEY_PERMISSIONS.includes(s)),
      );
      const withBadItem = fc.tuple(fc.array(permission, { maxLength: 2 }), badItem, fc.nat(3)).map(([good, bad, at]) => {
        const list: Json[] = [...good];
        list.splice(at % (good.length + 1), 0, bad);
        return list;
      });
      // More items than the four permissions there are: repeats at the least.
      const tooMany = fc.array(permission, { minLength: 5, maxLength: 8 });
      return fc.oneof(fc.constant(null), fc.boolean(), finiteNumber, fc.constantFrom('alerts:read', ''), anObject, protoObject, withBadItem, tooMany);
    }
  }
}

/** Tried on every field of every route before the random bodies: null first, the finding of issue 12. */
const PLAIN_WRONG_KINDS: Json[] = [null, [], new Obj([]), true, 0, new Obj([['__proto__', new Obj([['admin', true]])]])];
/** Not wrong everywhere: true is a flag, 0 may be a valid number, [] a valid (empty) permission list. */
const ownKind = (field: Field, value: Json) =>
  (field.kind === 'boolean' && typeof value === 'boolean') ||
  (field.kind === 'int' && typeof value === 'number') ||
  (field.kind === 'permissions' && Array.isArray(value));

// ---- bodies ---------------------------------------------------------------------------------

interface BodyRoute {
  name: string;
  method: 'POST' | 'PATCH';
  path: () => string;
  token: () => string | undefined;
  /** A body that would succeed; every generated body spoils it. */
  valid: () => Record<string, Json>;
  fields: Record<string, Field>;
  /** A check beyond the snapshot, for changes the listed resources do not show. */
  unchanged?: () => Promise<void>;
}

const UNKNOWN_KEYS = [
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'hasOwnProperty',
  'valueOf',
  '__defineGetter__',
  'is_admin',
  'password_hash',
  'id',
  'created_by',
  'Role',
];

function bodies(route: BodyRoute): fc.Arbitrary<Json> {
  const names = Object.keys(route.fields);
  const unknownKey = fc.oneof(fc.constantFrom(...UNKNOWN_KEYS), fc.string({ maxLength: 12 })).filter((key) => !names.includes(key));
  const extras = (minLength: number) => fc.array(fc.tuple(unknownKey, nested), { minLength, maxLength: 3 });
  const withValid = (replace: Record<string, Json | undefined>, extra: Array<[string, Json]> = []) => {
    const entries = Object.entries({ ...route.valid(), ...replace }).filter((entry): entry is [string, Json] => entry[1] !== undefined);
    return new Obj([...entries, ...extra]);
  };
  const oneField = fc.constantFrom(...names).chain((name) => invalidFor(route.fields[name]).map((value) => withValid({ [name]: value })));
  type Choice = { keep: true } | { drop: true } | { value: Json };
  const choices = names.map((name) =>
    fc.oneof(
      fc.constant<Choice>({ keep: true }),
      fc.constant<Choice>({ drop: true }),
      invalidFor(route.fields[name]).map((value): Choice => ({ value })),
    ),
  );
  const combination = fc
    .tuple(fc.tuple(...choices), extras(0))
    .filter(([picked, extra]) => picked.some((choice) => 'value' in choice) || extra.length > 0)
    .map(([picked, extra]) => {
      const replace: Record<string, Json | undefined> = {};
      picked.forEach((choice, i) => {
        if ('drop' in choice) replace[names[i]] = undefined;
        if ('value' in choice) replace[names[i]] = choice.value;
      });
      return withValid(replace, extra);
    });
  const unknownFields = extras(1).map((extra) => withValid({}, extra));
  const notAnObject = fc.oneof(
    fc.constantFrom<Json>(new Raw('null'), new Raw('[]'), new Raw('0'), new Raw('"text"'), new Raw('true')),
    fc.constant(null).map(() => [withValid({})]),
  );
  return fc.oneof(
    { arbitrary: oneField, weight: 4 },
    { arbitrary: combination, weight: 3 },
    { arbitrary: unknownFields, weight: 2 },
    { arbitrary: notAnObject, weight: 1 },
  );
}

function expectErrorBody(reply: Reply, statuses: number[]): void {
  if (!statuses.includes(reply.status)) throw new Error(`expected ${statuses.join(' or ')}, got ${reply.status} ${JSON.stringify(reply.body)}`);
  expect(reply.body).toEqual({ statusCode: reply.status, error: expect.any(String), message: expect.any(String), request_id: expect.any(String) });
}

// ---- query strings --------------------------------------------------------------------------

type QueryField =
  { kind: 'enum'; values: readonly string[] } | { kind: 'int'; min: number; max: number } | { kind: 'timestamp' } | { kind: 'cursor' } | { kind: 'eventType' };

const encodable = (s: string) => {
  try {
    encodeURIComponent(s);
    return true;
  } catch {
    return false;
  }
};
/** Percent-encodings whose decoded text no field accepts: invalid UTF-8, a lone surrogate, NUL, RTL override, emoji, bad escapes. */
const oddEncoding = fc.constantFrom('%ED%A0%80', '%FF', '%C0%AF', '%', '%zz', '%E2%80%AE', '%00', '%F0%9F%98%80');

function validQueryValue(field: QueryField): string {
  if (field.kind === 'enum') return field.values[0];
  if (field.kind === 'int') return String(field.min);
  return field.kind === 'eventType' ? 'auth.login' : '2026-01-01T00:00:00Z';
}

/** Raw (already encoded) values the contract refuses; two values are the key repeated. */
function invalidQuery(field: QueryField): fc.Arbitrary<string[]> {
  // Long, but far below the 16 kB header limit (431) that a URL counts against.
  const anyText = fc.oneof(fc.string(), oddString, fc.string({ minLength: 65, maxLength: 400 }));
  let refused: fc.Arbitrary<string>;
  switch (field.kind) {
    case 'enum':
      refused = fc
        .oneof(
          anyText,
          fc.constantFrom(...field.values).map((v) => v.toUpperCase()),
          fc.constantFrom(...field.values).map((v) => ` ${v}`),
        )
        .filter((s) => !field.values.includes(s));
      break;
    case 'int': {
      const { min, max } = field;
      const numeric = (s: string) => Number.isInteger(Number(s)) && Number(s) >= min && Number(s) <= max;
      const near = fc.constantFrom('', ' ', 'abc', '1.5', '-1', '0', 'NaN', 'Infinity', 'null', 'true', '[]', '{}', String(max + 1));
      refused = fc.oneof(near, fc.integer({ min: max + 1 }).map(String), fc.integer({ max: min - 1 }).map(String), anyText).filter((s) => !numeric(s));
      break;
    }
    case 'timestamp':
      refused = fc
        .oneof(fc.constantFrom('', 'yesterday', 'now', '0', '2026-13-01', '2026-02-30', '2026-W48', '2026-333'), anyText)
        .filter((s) => !isTimestamp(s));
      break;
    case 'cursor':
      // A UUID that names no alert is refused too; so is the empty cursor.
      refused = fc.oneof(fc.constantFrom('', 'yesterday', '2026-W48'), fc.uuid(), anyText).filter((s) => !isTimestamp(s));
      break;
    case 'eventType':
      refused = fc.oneof(
        fc.constant(''),
        fc.constant('auth.login'.repeat(7)),
        anyText.filter((s) => /[^A-Za-z0-9_.:-]/.test(s)),
      );
      break;
  }
  return fc.oneof(
    { arbitrary: refused.filter(encodable).map((s) => [encodeURIComponent(s)]), weight: 3 },
    { arbitrary: oddEncoding.map((s): string[] => [s]), weight: 1 },
    { arbitrary: fc.constant(encodeURIComponent(validQueryValue(field))).map((value) => [value, value]), weight: 1 },
  );
}

interface QueryRoute {
  path: string;
  fields: Record<string, QueryField>;
  /** Parameters the contract lists for a later change: not "unknown", so never sent as such. */
  reserved: string[];
}

function queries(route: QueryRoute): fc.Arbitrary<string> {
  const names = Object.keys(route.fields);
  const unknownKey = fc
    .oneof(
      fc.constantFrom('__proto__', 'prototype', 'constructor', 'toString', 'hasOwnProperty', 'valueOf', 'limit[]', 'status[0]', 'LIMIT'),
      fc.string({ maxLength: 10 }),
    )
    .filter((key) => key !== '' && encodable(key) && !names.includes(key) && !route.reserved.includes(key));
  const extras = (minLength: number) =>
    fc.array(
      fc.tuple(
        unknownKey.map(encodeURIComponent),
        oddString.filter(encodable).map((v) => [encodeURIComponent(v)]),
      ),
      { minLength, maxLength: 2 },
    );
  type Choice = { keep: true } | { drop: true } | { values: string[] };
  const choices = names.map((name) =>
    fc.oneof(
      fc.constant<Choice>({ keep: true }),
      fc.constant<Choice>({ drop: true }),
      invalidQuery(route.fields[name]).map((values): Choice => ({ values })),
    ),
  );
  const oneField = fc.constantFrom(...names).chain((name) => invalidQuery(route.fields[name]).map((values) => [[name, values]] as Array<[string, string[]]>));
  const combination = fc
    .tuple(fc.tuple(...choices), extras(0))
    .filter(([picked, extra]) => picked.some((choice) => 'values' in choice) || extra.length > 0)
    .map(([picked, extra]) => {
      const pairs: Array<[string, string[]]> = [];
      picked.forEach((choice, i) => {
        if ('keep' in choice) pairs.push([names[i], [encodeURIComponent(validQueryValue(route.fields[names[i]]))]]);
        if ('values' in choice) pairs.push([names[i], choice.values]);
      });
      return [...pairs, ...extra];
    });
  return fc
    .oneof(oneField, combination, extras(1))
    .map((pairs) => `${route.path}?${pairs.flatMap(([key, values]) => values.map((value) => `${key}=${value}`)).join('&')}`);
}

// ---- the routes -----------------------------------------------------------------------------

describe('write routes refuse values of the wrong kind with 4xx and change nothing', () => {
  let db: Awaited<ReturnType<typeof databaseForFile>>;
  let t: TestApp;
  let admin: string;
  let passwordUser: { username: string; password: string; token: string };
  let target: { id: string };
  let key: { id: string; api_key: string };
  let alert: { id: string };

  beforeAll(async () => {
    db = await databaseForFile();
    // Every refused login and password change must be answered by validation, not by a limit.
    t = await startTestApp({ LOGIN_MAX_PER_IP: '100000', LOGIN_MAX_FAILURES_PER_USER: '100000' }, db);
    admin = await login(t.baseUrl, ADMIN.username, ADMIN.password);
    target = await createUser(t.baseUrl, admin, 'target@property.test', 'viewer');
    const changer = await createUser(t.baseUrl, admin, 'changer@property.test', 'analyst', 'changer-password-1');
    passwordUser = { ...changer, token: await login(t.baseUrl, changer.username, changer.password) };
    key = (await call(t.baseUrl, 'POST', '/api/v1/auth/api-keys', { headers: bearer(admin), body: { service_name: 'property-key' } })).body;
    alert = (await call(t.baseUrl, 'POST', '/api/v1/alerts', { headers: bearer(admin), body: { title: 'Fixture', severity: 'low', source: 'property' } })).body;
    expect([key.id, alert.id]).toEqual([expect.any(String), expect.any(String)]);
  });
  afterAll(async () => {
    await t?.close();
    await db?.drop();
  });

  /** Users, keys (but for last_used_at, which the key check below moves) and alerts, as the API lists them. */
  async function snapshot(): Promise<unknown> {
    const get = async (path: string) => {
      const reply = await call(t.baseUrl, 'GET', path, { headers: bearer(admin) });
      expect(reply.status).toBe(200);
      return reply.body as Array<Record<string, unknown>>;
    };
    const [users, keys, alerts] = await Promise.all([get('/api/v1/users'), get('/api/v1/auth/api-keys'), get('/api/v1/alerts?limit=200')]);
    const byId = (a: Record<string, unknown>, b: Record<string, unknown>) => String(a.id).localeCompare(String(b.id));
    return { users: users.sort(byId), keys: keys.map(({ last_used_at: _, ...rest }) => rest).sort(byId), alerts };
  }

  const send = (method: string, path: string, token: string | undefined, raw?: string) =>
    call(t.baseUrl, method, path, { headers: { ...(token ? bearer(token) : {}), ...(raw === undefined ? {} : { 'content-type': 'application/json' }) }, raw });

  const string = (min: number, max: number, extra: { printable?: boolean; nonBlank?: boolean } = {}): Field => ({ kind: 'string', min, max, ...extra });
  const ROUTES: BodyRoute[] = [
    {
      name: 'POST /api/v1/auth/token',
      method: 'POST',
      path: () => '/api/v1/auth/token',
      token: () => undefined,
      valid: () => ({ username: ADMIN.username, password: ADMIN.password }),
      fields: { username: string(1, 100), password: string(1, 1024) },
    },
    {
      name: 'POST /api/v1/users',
      method: 'POST',
      path: () => '/api/v1/users',
      token: () => admin,
      valid: () => ({ username: 'never-created@property.test', password: 'never-password-1', role: 'viewer' }),
      fields: { username: string(1, 100, { printable: true }), password: string(12, 1024), role: { kind: 'enum', values: ROLES } },
    },
    {
      name: 'PATCH /api/v1/users/{id}',
      method: 'PATCH',
      path: () => `/api/v1/users/${target.id}`,
      token: () => admin,
      valid: () => ({}),
      fields: { role: { kind: 'enum', values: ROLES }, disabled: { kind: 'boolean' }, password: string(12, 1024) },
    },
    {
      name: 'POST /api/v1/users/me/password',
      method: 'POST',
      path: () => '/api/v1/users/me/password',
      token: () => passwordUser.token,
      // The right current password: a body that slipped through would change it, never count a failure.
      valid: () => ({ current_password: passwordUser.password, new_password: 'changed-password-2' }),
      fields: { current_password: string(1, 1024), new_password: string(12, 1024) },
      unchanged: async () =>
        expect(
          (await call(t.baseUrl, 'POST', '/api/v1/auth/token', { body: { username: passwordUser.username, password: passwordUser.password } })).status,
        ).toBe(200),
    },
    {
      name: 'POST /api/v1/auth/api-keys',
      method: 'POST',
      path: () => '/api/v1/auth/api-keys',
      token: () => admin,
      valid: () => ({ service_name: 'never-created' }),
      fields: { service_name: string(1, 100, { printable: true }), expires_in_days: { kind: 'int', min: 1, max: 3650 }, permissions: { kind: 'permissions' } },
    },
    {
      name: 'POST /api/v1/auth/api-keys/{id}/rotate',
      method: 'POST',
      path: () => `/api/v1/auth/api-keys/${key.id}/rotate`,
      token: () => admin,
      valid: () => ({}),
      fields: { grace_period_seconds: { kind: 'int', min: 0, max: 86400 } },
      // A rotation shows in no listed field, but it ends the old secret (no grace by default).
      unchanged: async () => expect((await call(t.baseUrl, 'GET', '/api/v1/auth/me', { headers: apiKey(key.api_key) })).status).toBe(200),
    },
    {
      name: 'POST /api/v1/alerts',
      method: 'POST',
      path: () => '/api/v1/alerts',
      token: () => admin,
      valid: () => ({ title: 'Never created', severity: 'low', source: 'property' }),
      fields: {
        title: string(1, 200, { nonBlank: true }),
        severity: { kind: 'enum', values: SEVERITIES },
        source: string(1, 100, { nonBlank: true }),
        description: string(0, 10_000),
      },
    },
    {
      name: 'PATCH /api/v1/alerts/{id}',
      method: 'PATCH',
      path: () => `/api/v1/alerts/${alert.id}`,
      token: () => admin,
      valid: () => ({ status: 'acknowledged' }),
      fields: { status: { kind: 'enum', values: ALERT_STATUSES } },
    },
  ];

  it.each(ROUTES.map((route) => [route.name, route] as const))('%s', async (_name, route) => {
    const before = await snapshot();
    const examples = Object.keys(route.fields).flatMap((name) =>
      PLAIN_WRONG_KINDS.filter((value) => !ownKind(route.fields[name], value)).map((value): [Json] => [
        new Obj(Object.entries({ ...route.valid(), [name]: value })),
      ]),
    );
    await fc.assert(
      fc.asyncProperty(bodies(route), async (body) => {
        const raw = toJson(body);
        const reply = await send(route.method, route.path(), route.token(), raw);
        // Over 100 kB the body is refused unread (413) before any validation.
        expectErrorBody(reply, [Buffer.byteLength(raw) > BODY_LIMIT_BYTES ? 413 : 400]);
        expect(await snapshot()).toEqual(before);
        await route.unchanged?.();
      }),
      { ...fcOptions, examples },
    );
  });

  const QUERY_ROUTES: QueryRoute[] = [
    {
      path: '/api/v1/alerts',
      fields: {
        status: { kind: 'enum', values: ALERT_STATUSES },
        severity: { kind: 'enum', values: SEVERITIES },
        limit: { kind: 'int', min: 1, max: 200 },
        before: { kind: 'cursor' },
      },
      reserved: ['q', 'assignee', 'since', 'until'],
    },
    {
      path: '/api/v1/audit/events',
      fields: {
        type: { kind: 'eventType' },
        outcome: { kind: 'enum', values: ['success', 'failure'] },
        since: { kind: 'timestamp' },
        limit: { kind: 'int', min: 1, max: 1000 },
      },
      reserved: [],
    },
  ];

  it.each(QUERY_ROUTES.map((route) => [`GET ${route.path}`, route] as const))('%s query strings', async (_name, route) => {
    await fc.assert(
      fc.asyncProperty(queries(route), async (path) => expectErrorBody(await send('GET', path, admin), [400])),
      fcOptions,
    );
  });

  const ID_ROUTES = [
    { method: 'PATCH', path: (id: string) => `/api/v1/users/${id}`, body: { disabled: true } },
    { method: 'POST', path: (id: string) => `/api/v1/auth/api-keys/${id}/rotate`, body: {} },
    { method: 'PATCH', path: (id: string) => `/api/v1/alerts/${id}`, body: { status: 'resolved' } },
  ];
  const wellFormed = fc.oneof(
    fc
      .string({ minLength: 1 })
      .filter((s) => encodable(s) && s !== '.' && s !== '..')
      .map(encodeURIComponent),
    fc.uuid(),
    fc.uuid().map((id) => `${id}%00`),
    fc.constantFrom('%E2%80%AE', '%00', '%2F', '%F0%9F%98%80'),
  );
  // Percent-escapes that are not UTF-8 (a lone surrogate among them) cannot even be read: 400, not 404.
  const malformed = fc.constantFrom('%ED%A0%80', '%FF', '%C0%AF', '%', '%zz', 'ab%E2%80');

  it('answers 404 to a path id that names no resource and 400 to one that is not UTF-8, and changes nothing', async () => {
    const before = await snapshot();
    const ids = fc.oneof(
      wellFormed.map((id) => ({ id, status: 404 })),
      malformed.map((id) => ({ id, status: 400 })),
    );
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...ID_ROUTES), ids, async (route, { id, status }) => {
        expectErrorBody(await send(route.method, route.path(id), admin, JSON.stringify(route.body)), [status]);
        expect(await snapshot()).toEqual(before);
      }),
      fcOptions,
    );
  });
});
