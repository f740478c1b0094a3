#!/usr/bin/env node
// Writes docs/api.md, the API reference, from the OpenAPI document the built application serves.
//
//   node scripts/write-api-reference.js          (re)writes docs/api.md
//   node scripts/write-api-reference.js --check  exits 1, with a hint, when docs/api.md is out of date
//
// It boots dist/ (run `npm run build` first; `npm run docs:api` does both) on a fresh embedded
// database in a temporary DATA_DIR, with a fixed secret and admin so that nothing random is printed,
// fetches GET /api/docs-json from a listener on 127.0.0.1:0, and renders it deterministically: routes
// sorted by path then method, no timestamps, ports or generated values. What OpenAPI cannot say
// (WebSockets, the conventions shared by every route) is written by hand below. Each route's
// permission is read from the same decorator metadata the global guard reads.
'use strict';

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');
const DIST = path.join(ROOT, 'dist', 'src');
const OUTPUT = path.join(ROOT, 'docs', 'api.md');
const OUTPUT_NAME = path.relative(ROOT, OUTPUT);
/** An error of this script that says what to do; printed without a stack. */
class ScriptError extends Error {}
const HTTP_METHODS = ['get', 'put', 'post', 'patch', 'delete', 'head', 'options', 'trace'];

/** A module of the build; a clear error when dist/ lacks it (not built, or the file moved). */
function fromDist(...candidates) {
  for (const candidate of candidates) {
    const file = path.join(DIST, `${candidate}.js`);
    if (fs.existsSync(file)) return require(file);
  }
  throw new ScriptError(`dist/src/${candidates[0]}.js not found: run \`npm run build\` (or update scripts/write-api-reference.js if the file moved)`);
}

/** Project dependencies resolved from the project root, wherever this script is run from. */
function fromProject(name) {
  return require(require.resolve(name, { paths: [ROOT] }));
}

// ---------------------------------------------------------------------------------------------
// Booting the application and reading what it says about itself
// ---------------------------------------------------------------------------------------------

async function readApplication() {
  if (!fs.existsSync(path.join(DIST, 'main.js'))) {
    throw new ScriptError('dist/ is missing: run `npm run build` first (`npm run docs:api` builds when needed)');
  }
  fromProject('reflect-metadata');
  const { NestFactory, ModulesContainer } = fromProject('@nestjs/core');
  const { loadConfig } = fromDist('config/app-config');
  const { AppModule } = fromDist('app.module');
  const { configureApp } = fromDist('app.setup');
  const { ContractHttpAdapter } = fromDist('common/http-server');
  const decorators = fromDist('access/access.decorators', 'auth/auth.decorators');
  const permissions = fromDist('access/permissions', 'auth/permissions');

  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'aurora-api-reference-'));
  let app;
  try {
    // Only these variables: nothing from the caller's environment (DATABASE_URL, REDIS_URL, PORT …)
    // may change what the document says.
    const { config } = loadConfig({
      NODE_ENV: 'test',
      LOG_LEVEL: 'silent',
      DATA_DIR: dataDir,
      JWT_SECRET_KEY: 'api-reference-secret-0123456789-abcdefghij',
      METRICS_PORT: '0',
      AURORA_ADMIN_USERNAME: 'admin@api-reference.local',
      AURORA_ADMIN_PASSWORD: 'api-reference-password-0123',
    });
    app = await NestFactory.create(AppModule.forRoot(config), new ContractHttpAdapter(), { bodyParser: false, bufferLogs: true });
    configureApp(app);
    await app.listen(0, '127.0.0.1');
    const { port } = app.getHttpServer().address();
    const reply = await fetch(`http://127.0.0.1:${port}/api/docs-json`);
    if (reply.status !== 200) throw new Error(`GET /api/docs-json answered ${reply.status}`);
    const document = await reply.json();
    const routeRules = readRouteRules(app.get(ModulesContainer), decorators);
    checkSocketTable(fromDist('realtime/ws-routes'));
    const roles = permissions.ROLES.map((role) => ({ role, permissions: permissions.permissionsOf(role) }));
    return { document, routeRules, roles, allPermissions: [...permissions.PERMISSIONS], keyRole: permissions.API_KEY_ROLE };
  } finally {
    if (app) await app.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

/** The WebSocket section is written by hand: it must still name the paths and permissions the code has. */
const SOCKETS = [
  {
    path: '/api/v1/ws/alerts',
    permission: 'alerts:read',
    frames: '`{ "type": "alert.created" | "alert.updated", "data": <alert> }` for alerts created or changed on any instance',
  },
  {
    path: '/api/v1/ws/audit',
    permission: 'audit:read',
    frames: '`{ "type": "audit.event", "data": <audit event> }` for every audit event recorded on any instance',
  },
];

function checkSocketTable({ SOCKET_PATHS, permissionForSocketPath }) {
  const inCode = [...SOCKET_PATHS].sort().map((socketPath) => `${socketPath} ${permissionForSocketPath(socketPath)}`);
  const written = SOCKETS.map((socket) => `${socket.path} ${socket.permission}`).sort();
  if (inCode.join('\n') !== written.join('\n')) {
    throw new ScriptError(
      `the WebSocket table in scripts/write-api-reference.js (${written.join(', ')}) no longer matches the code (${inCode.join(', ')}): update SOCKETS there`,
    );
  }
}

/**
 * What the guard reads for each controller method, keyed by the OpenAPI operationId
 * (`<Controller>_<method>`): public or not, and the permissions needed. The handler's metadata
 * overrides the controller's, as Reflector.getAllAndOverride does in the guard.
 */
function readRouteRules(modulesContainer, { IS_PUBLIC, REQUIRED_PERMISSIONS }) {
  const rules = new Map();
  for (const moduleRef of modulesContainer.values()) {
    for (const wrapper of moduleRef.controllers.values()) {
      const controller = wrapper.metatype;
      if (typeof controller !== 'function') continue;
      for (const name of Object.getOwnPropertyNames(controller.prototype)) {
        const handler = Object.getOwnPropertyDescriptor(controller.prototype, name)?.value;
        if (name === 'constructor' || typeof handler !== 'function') continue;
        const read = (key) => {
          const own = Reflect.getMetadata(key, handler);
          return own !== undefined ? own : Reflect.getMetadata(key, controller);
        };
        rules.set(`${controller.name}_${name}`, { isPublic: read(IS_PUBLIC) === true, permissions: read(REQUIRED_PERMISSIONS) });
      }
    }
  }
  return rules;
}

// ---------------------------------------------------------------------------------------------
// Rendering helpers
// ---------------------------------------------------------------------------------------------

function code(value) {
  const text = String(value);
  const fence = text.includes('`') ? '``' : '`';
  return `${fence}${fence === '``' ? ' ' : ''}${text}${fence === '``' ? ' ' : ''}${fence}`;
}

/** A table cell: one line, pipes escaped. */
function cell(text, empty = '—') {
  const value = String(text ?? '')
    .replace(/\r?\n/g, ' ')
    .replace(/\|/g, '\\|')
    .trim();
  return value === '' ? empty : value;
}

/** A Markdown table; an empty cell shows `empty` (a dash: "the document says nothing"). */
function table(header, rows, empty = '—') {
  const line = (cells) => `| ${cells.join(' | ')} |`;
  return [line(header), `|${header.map(() => '---').join('|')}|`, ...rows.map((row) => line(row.map((value) => cell(value, empty))))].join('\n');
}

function literal(value) {
  return code(JSON.stringify(value));
}

function refName(ref) {
  return ref.replace(/^#\/components\/schemas\//, '');
}

function resolve(document, schema) {
  const seen = new Set();
  let current = schema;
  while (current && current.$ref) {
    if (seen.has(current.$ref)) break;
    seen.add(current.$ref);
    current = document.components?.schemas?.[refName(current.$ref)];
  }
  return current || {};
}

/** A schema's type in words: `string`, `integer (int32)`, `array of string`, `object`, `LoginDto` … */
function typeOf(document, schema) {
  if (!schema) return 'any';
  if (schema.$ref) return refName(schema.$ref);
  for (const combinator of ['oneOf', 'anyOf', 'allOf']) {
    if (Array.isArray(schema[combinator])) {
      const joiner = combinator === 'allOf' ? ' and ' : ' or ';
      return schema[combinator].map((part) => typeOf(document, part)).join(joiner);
    }
  }
  let type = Array.isArray(schema.type) ? schema.type.join(' or ') : schema.type || (schema.properties ? 'object' : 'any');
  if (type === 'array') type = `array of ${typeOf(document, schema.items)}`;
  if (schema.format) type += ` (${schema.format})`;
  if (schema.nullable) type += ' or null';
  return type;
}

/** The validation rules a schema states, in words. */
function constraintsOf(schema) {
  if (!schema) return [];
  const out = [];
  const enumValues = schema.enum || (schema.type === 'array' && schema.items && schema.items.enum ? schema.items.enum : undefined);
  if (enumValues) out.push(`${schema.enum ? 'one of' : 'each one of'} ${enumValues.map(literal).join(', ')}`);
  if (schema.minLength !== undefined && schema.maxLength !== undefined) out.push(`length ${schema.minLength}..${schema.maxLength}`);
  else if (schema.minLength !== undefined) out.push(`length ≥ ${schema.minLength}`);
  else if (schema.maxLength !== undefined) out.push(`length ≤ ${schema.maxLength}`);
  if (schema.minimum !== undefined && schema.maximum !== undefined) out.push(`${schema.minimum}..${schema.maximum}`);
  else if (schema.minimum !== undefined) out.push(`≥ ${schema.minimum}`);
  else if (schema.maximum !== undefined) out.push(`≤ ${schema.maximum}`);
  if (schema.exclusiveMinimum !== undefined && schema.exclusiveMinimum !== false)
    out.push(`> ${schema.exclusiveMinimum === true ? schema.minimum : schema.exclusiveMinimum}`);
  if (schema.exclusiveMaximum !== undefined && schema.exclusiveMaximum !== false)
    out.push(`< ${schema.exclusiveMaximum === true ? schema.maximum : schema.exclusiveMaximum}`);
  if (schema.multipleOf !== undefined) out.push(`multiple of ${schema.multipleOf}`);
  if (schema.minItems !== undefined) out.push(`at least ${schema.minItems} items`);
  if (schema.maxItems !== undefined) out.push(`at most ${schema.maxItems} items`);
  if (schema.uniqueItems) out.push('unique items');
  if (schema.pattern !== undefined) out.push(`pattern ${code(schema.pattern)}`);
  if (schema.default !== undefined) out.push(`default ${literal(schema.default)}`);
  return out;
}

function describe(schema) {
  const parts = [];
  if (schema && schema.description) parts.push(schema.description);
  if (schema && schema.example !== undefined) parts.push(`e.g. ${literal(schema.example)}`);
  return parts.join('; ');
}

/**
 * The fields of an object schema as table rows, nested objects as `parent.child` (and array items
 * as `parent[].child`), through $ref, at most a few levels deep.
 */
function fieldRows(document, schema, prefix = '', depth = 0, seen = new Set()) {
  const resolved = resolve(document, schema);
  const rows = [];
  const required = new Set(resolved.required || []);
  for (const name of Object.keys(resolved.properties || {})) {
    const property = resolved.properties[name];
    const target = resolve(document, property);
    const merged = { ...target, ...(property.$ref ? {} : property) };
    rows.push([code(prefix + name), typeOf(document, property), required.has(name) ? 'yes' : 'no', constraintsOf(merged).join('; '), describe(merged)]);
    const ref = property.$ref || (property.items && property.items.$ref);
    if (depth >= 3 || (ref && seen.has(ref))) continue;
    const nextSeen = ref ? new Set([...seen, ref]) : seen;
    if (target.properties) rows.push(...fieldRows(document, property, `${prefix}${name}.`, depth + 1, nextSeen));
    else if (target.type === 'array' && resolve(document, target.items).properties) {
      rows.push(...fieldRows(document, target.items, `${prefix}${name}[].`, depth + 1, nextSeen));
    }
  }
  return rows;
}

const FIELD_HEADER = ['field', 'type', 'required', 'constraints', 'description'];

/** A response body in one phrase: `object with status, info, error, details`, `array of X` … */
function bodySummary(document, schema) {
  const resolved = resolve(document, schema);
  const type = typeOf(document, schema);
  if (resolved.properties) {
    const fields = Object.keys(resolved.properties).map(code).join(', ');
    return `${schema.$ref ? `${type} ` : ''}object with ${fields}`;
  }
  return type;
}

// ---------------------------------------------------------------------------------------------
// The page
// ---------------------------------------------------------------------------------------------

function operationsOf(document) {
  const operations = [];
  for (const route of Object.keys(document.paths || {})) {
    const item = document.paths[route];
    for (const method of Object.keys(item)) {
      if (!HTTP_METHODS.includes(method)) continue;
      operations.push({ route, method, operation: item[method], shared: item.parameters || [] });
    }
  }
  const order = (a, b) => (a < b ? -1 : a > b ? 1 : 0);
  return operations.sort((a, b) => order(a.route, b.route) || HTTP_METHODS.indexOf(a.method) - HTTP_METHODS.indexOf(b.method));
}

function anchorOf(method, route) {
  return `${method}-${route}`
    .toLowerCase()
    .replace(/[^a-z0-9 _-]/g, '')
    .replace(/ /g, '-');
}

function permissionText(rule, operation) {
  if (!rule) return operation.security && operation.security.length > 0 ? 'not stated (authenticated)' : 'not stated';
  if (rule.isPublic) return 'none (public)';
  if (!rule.permissions || rule.permissions.length === 0) return 'any authenticated caller';
  return rule.permissions.map(code).join(' and ');
}

function securityText(document, operation) {
  const requirements = operation.security !== undefined ? operation.security : document.security || [];
  if (requirements.length === 0) return 'none (public)';
  const schemes = (document.components && document.components.securitySchemes) || {};
  const alternatives = requirements.map((requirement) =>
    Object.keys(requirement)
      .map((name) => {
        const scheme = schemes[name];
        if (!scheme) return `${code(name)} (not a scheme declared in the document)`;
        if (scheme.type === 'http') return `${code(name)} (\`Authorization: ${scheme.scheme === 'bearer' ? 'Bearer' : scheme.scheme} …\`)`;
        if (scheme.type === 'apiKey') return `${code(name)} (${scheme.in} ${code(scheme.name)})`;
        return `${code(name)} (${scheme.type})`;
      })
      .join(' + '),
  );
  return `one of ${alternatives.join(', ')}`;
}

function renderOperation(document, routeRules, { route, method, operation, shared }) {
  const lines = [];
  const rule = routeRules.get(operation.operationId);
  lines.push(`### ${method.toUpperCase()} ${route}`, '');
  if (operation.summary) lines.push(operation.summary, '');
  if (operation.description) lines.push(operation.description, '');
  if (operation.deprecated) lines.push('**Deprecated.**', '');
  lines.push(`- Permission: ${permissionText(rule, operation)}`);
  lines.push(`- Security (OpenAPI): ${securityText(document, operation)}`);
  if (operation.tags && operation.tags.length > 0) lines.push(`- Tags: ${operation.tags.map(code).join(', ')}`);
  lines.push('');

  const byKey = new Map();
  for (const parameter of [...shared, ...(operation.parameters || [])]) {
    const resolved = parameter.$ref ? resolveParameter(document, parameter.$ref) : parameter;
    byKey.set(`${resolved.in}:${resolved.name}`, resolved);
  }
  const parameters = [...byKey.values()];
  if (parameters.length > 0) {
    lines.push('Parameters:', '');
    lines.push(
      table(
        ['name', 'in', 'type', 'required', 'constraints', 'description'],
        parameters.map((parameter) => {
          const schema = parameter.schema || {};
          const merged = { ...resolve(document, schema), ...(schema.$ref ? {} : schema), description: parameter.description || schema.description };
          return [
            code(parameter.name),
            parameter.in,
            typeOf(document, schema),
            parameter.required ? 'yes' : 'no',
            constraintsOf(merged).join('; '),
            describe(merged),
          ];
        }),
      ),
      '',
    );
  }

  const body = operation.requestBody;
  if (body) {
    const content = body.content || {};
    for (const mediaType of Object.keys(content).sort()) {
      const schema = content[mediaType].schema;
      const resolved = resolve(document, schema);
      const named = schema && schema.$ref ? `, schema ${code(refName(schema.$ref))}` : '';
      lines.push(`Request body (${code(mediaType)}, ${body.required ? 'required' : 'optional'}${named}):`, '');
      if (body.description) lines.push(body.description, '');
      const rows = fieldRows(document, schema);
      if (rows.length > 0) lines.push(table(FIELD_HEADER, rows), '');
      else lines.push(`${typeOf(document, resolved)} (the document lists no fields)`, '');
    }
  }

  const responses = operation.responses || {};
  const statuses = Object.keys(responses).sort();
  if (statuses.length > 0) {
    lines.push('Responses:', '');
    lines.push(
      table(
        ['status', 'description', 'body'],
        statuses.map((status) => {
          const response = responses[status];
          const content = response.content || {};
          const bodies = Object.keys(content)
            .sort()
            .map((mediaType) => (content[mediaType].schema ? `${code(mediaType)}: ${bodySummary(document, content[mediaType].schema)}` : code(mediaType)));
          return [code(status), response.description, bodies.join('; ')];
        }),
      ),
      '',
    );
  }
  return lines;
}

function resolveParameter(document, ref) {
  const name = ref.replace(/^#\/components\/parameters\//, '');
  return (document.components && document.components.parameters && document.components.parameters[name]) || { name, in: '?' };
}

function render({ document, routeRules, roles, allPermissions, keyRole }) {
  const operations = operationsOf(document);
  const info = document.info || {};
  const out = [];
  out.push(
    `# ${info.title || 'API'} reference`,
    '',
    '<!-- Generated by scripts/write-api-reference.js from the OpenAPI document the application serves',
    '     (GET /api/docs-json). Do not edit by hand: change the code, then run `npm run docs:api`.',
    '     test/api-reference.e2e-spec.ts fails when this file is out of date. -->',
    '',
  );
  if (info.description) out.push(`${info.description}.`.replace(/\.\.$/, '.'), '');
  out.push(
    'The AuroraSOC API server decides who is calling (people with JWTs, services with API keys) and',
    'what they may do, stores alerts and an audit trail, and pushes alerts and audit events',
    'to clients over WebSockets. This page lists every HTTP route the application registers, with what',
    'its OpenAPI document says about it, then the WebSocket endpoints and the operational routes,',
    'which OpenAPI does not describe.',
    '',
    `OpenAPI document version ${code(info.version || '?')} (OpenAPI ${document.openapi || document.swagger || '?'}). The live`,
    'document is at `GET /api/docs-json`, the interactive UI at `GET /api/docs`.',
    '',
    '## Conventions',
    '',
    '**Base path.** Every API route is under `/api/v1`. `/healthz` and `/readyz` are outside it.',
    '',
    '**Authentication.** Every route under `/api/v1` needs a credential unless it is marked public',
    'below. The server reads the first of these that the request carries:',
    '',
    '1. `Authorization: Bearer <jwt>` — a token from `POST /api/v1/auth/token` (HS256 only);',
    '2. `X-API-Key: <key>` — an API key from `POST /api/v1/auth/api-keys` (keys start with `aurora_`);',
    '3. the `access_token` cookie that `POST /api/v1/auth/token` sets (browsers). A cookie-authenticated',
    '   request that changes state (`POST`, `PUT`, `PATCH`, `DELETE`) is refused with `403` when its',
    '   `Origin` (or, lacking it, `Referer`) is not in `ALLOWED_ORIGINS`;',
    '4. `?token=<jwt>` in the URL — **on WebSocket handshakes only**; a REST route never accepts it.',
    '',
    'No valid credential: `401` with `WWW-Authenticate: Bearer`. A valid credential without the',
    'permission the route needs: `403`. Authenticated responses carry `Cache-Control: no-store`.',
    '',
    '**Requests.** Bodies are JSON (`application/json` or `application/*+json`; another content type',
    'is `415`), at most 100 kB (`413`). Unknown fields are refused, and `null` where a field expects a',
    'value is a validation failure like any other wrong type (`400`). A path id that is not a UUID',
    'names nothing (`404`).',
    '',
    '**Errors.** Every error, whoever produces it, has this JSON body (never a stack trace):',
    '',
    '```json',
    '{ "statusCode": 400, "error": "Bad Request", "message": "…", "request_id": "…" }',
    '```',
    '',
    "Every response carries `X-Request-Id` (the client's own if it sent a sane one, else a new one);",
    '`request_id` repeats it. A route that needs the database answers `503` while the database is',
    'unreachable. The tables below list the statuses the OpenAPI document states; these common ones',
    '(`400`, `401`, `403`, `404`, `413`, `415`, `503`) apply as described here.',
    '',
    '## Roles and permissions',
    '',
    'A route needs at most the permissions listed for it; a role holds these:',
    '',
    table(
      ['role', ...allPermissions.map(code)],
      roles.map(({ role, permissions }) => [code(role), ...allPermissions.map((p) => (permissions.includes(p) ? '✓' : ''))]),
      ' ',
    ),
    '',
    `API keys act as role ${code(keyRole)}; a key may be created with a narrower \`permissions\` list,`,
    'never with a permission its creator does not hold.',
    '',
    '## HTTP routes',
    '',
    'Sorted by path, then method. "Permission" is what the route\'s code requires (read from the same',
    'metadata the authorization guard reads); "Security (OpenAPI)" is what the document declares.',
    'A dash means the OpenAPI document says nothing there (no summary, no response description or',
    'body yet); the conventions above still apply.',
    '',
    table(
      ['method', 'path', 'permission', 'summary'],
      operations.map(({ route, method, operation }) => [
        code(method.toUpperCase()),
        `[${code(route)}](#${anchorOf(method, route)})`,
        permissionText(routeRules.get(operation.operationId), operation),
        operation.summary || '',
      ]),
    ),
    '',
  );
  for (const entry of operations) out.push(...renderOperation(document, routeRules, entry));

  out.push(
    '## WebSocket endpoints',
    '',
    'OpenAPI does not describe WebSockets; these are written by hand in scripts/write-api-reference.js.',
    '',
    table(
      ['path', 'permission', 'frames the server sends'],
      SOCKETS.map((socket) => [code(socket.path), code(socket.permission), socket.frames]),
    ),
    '',
    '- **Handshake.** Credentials as for REST routes (Bearer header, `X-API-Key`, the `access_token`',
    '  cookie), plus `?token=<jwt>` in the URL for clients that cannot set headers. A refused handshake',
    '  gets an HTTP status and the JSON error body, never a socket: `401` without a valid credential,',
    '  `403` without the permission or for a cookie from an `Origin` not in `ALLOWED_ORIGINS`. A handshake',
    '  to any other path gets `404`.',
    '- **Frames.** JSON text frames `{ "type", "data" }`, server to client. Clients send nothing but',
    '  pings; a client frame over 4 kB closes the socket.',
    '- **Close codes.**',
    '',
    table(
      ['code', 'meaning'],
      [
        [
          code(4401),
          'the credential is no longer valid: the token expired or was revoked (logout, password change), the key was revoked, the user was disabled, deleted or changed role',
        ],
        [code(1001), 'the server is shutting down: reconnect'],
        [code(1009), 'the client sent a frame over 4 kB'],
      ],
    ),
    '',
    '## Operational routes',
    '',
    'Public: no credential needed.',
    '',
    table(
      ['route', 'what it answers'],
      [
        [code('GET /healthz'), '`200` while the process is alive'],
        [code('GET /readyz'), '`200` when the database answers; `503` when it does not, or once shutdown has begun'],
        [code('GET /api/docs'), 'the OpenAPI UI (HTML)'],
        [code('GET /api/docs-json'), 'the OpenAPI document this page is generated from'],
      ],
    ),
    '',
    'Prometheus metrics are not on the API port: `GET /metrics` on `METRICS_PORT` (default `9464`,',
    'bound to `METRICS_HOST`, default `127.0.0.1`; `METRICS_PORT=0` turns them off).',
    '',
  );
  return out.join('\n').replace(/\n{3,}/g, '\n\n');
}

// ---------------------------------------------------------------------------------------------

function firstDifference(expected, actual) {
  const want = expected.split('\n');
  const have = actual.split('\n');
  for (let i = 0; i < Math.max(want.length, have.length); i++) {
    if (want[i] !== have[i]) return { line: i + 1, want: want[i], have: have[i] };
  }
  return null;
}

async function main() {
  const args = process.argv.slice(2);
  const unknown = args.filter((arg) => arg !== '--check');
  if (unknown.length > 0) {
    process.stderr.write(`usage: node scripts/write-api-reference.js [--check]\n(unknown: ${unknown.join(' ')})\n`);
    return 2;
  }
  const check = args.includes('--check');
  const application = await readApplication();
  if (application.routeRules.size === 0) throw new ScriptError('no controller found in the application: the route permissions cannot be read');
  const markdown = render(application);

  if (!check) {
    fs.mkdirSync(path.dirname(OUTPUT), { recursive: true });
    fs.writeFileSync(OUTPUT, markdown);
    process.stdout.write(`wrote ${OUTPUT_NAME} (${operationsOf(application.document).length} HTTP routes)\n`);
    return 0;
  }
  const current = fs.existsSync(OUTPUT) ? fs.readFileSync(OUTPUT, 'utf8') : null;
  if (current === markdown) {
    process.stdout.write(`${OUTPUT_NAME} is up to date\n`);
    return 0;
  }
  const hint =
    current === null
      ? `${OUTPUT_NAME} does not exist.`
      : (() => {
          const diff = firstDifference(markdown, current);
          return [
            `${OUTPUT_NAME} differs from what the OpenAPI document gives, first at line ${diff.line}:`,
            `  expected: ${diff.want === undefined ? '(end of file)' : diff.want}`,
            `  found:    ${diff.have === undefined ? '(end of file)' : diff.have}`,
          ].join('\n');
        })();
  process.stdout.write(`${hint}\nIt is generated from the code: run \`npm run docs:api\` and commit ${OUTPUT_NAME} (never edit it by hand).\n`);
  return 1;
}

main().then(
  (status) => process.exit(status),
  (error) => {
    // Our own errors say what to do; anything else (the application failed to boot) needs its stack.
    const text = error instanceof ScriptError ? error.message : error && error.stack ? error.stack : String(error);
    process.stderr.write(`write-api-reference: ${text}\n`);
    process.exit(2);
  },
);
