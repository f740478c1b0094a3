import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { DataSource } from 'typeorm';
import { bearer, call, login, type Json } from './support/http';
import { ADMIN, databaseForFile, startTestApp, TestApp } from './support/test-app';
import { postgresServerUrl } from './support/test-database';

/**
 * A GET, tried once more when the connection was reset before any answer: on a heavily loaded
 * machine a kept-alive connection the server is closing can be picked for the next request, which
 * every HTTP client retries for an idempotent request. An answer, once started, is never retried.
 */
async function getOnce(url: string, headers: Record<string, string>): Promise<Response> {
  try {
    return await fetch(url, { headers });
  } catch (error) {
    const code = (error as { cause?: { code?: string } }).cause?.code;
    if (code !== 'ECONNRESET' && code !== 'UND_ERR_SOCKET') throw error;
    return fetch(url, { headers });
  }
}

/**
 * GET /api/v1/audit/events/export: NDJSON, oldest first, since/until, and streamed — the process's
 * live memory during an export of 100,000 events stays flat (the app runs in this process, so its
 * heap is ours to measure). The embedded database (PGlite, WebAssembly) is slower: it exports
 * 100,000 events too, but if a run without DATABASE_URL ever needs to be cheaper, EVENTS is the knob.
 */
const EVENTS = 100_000;
const INSERT_CHUNK = 5_000;
const SMALL = 10_000;
const BASE = Date.parse('2020-01-01T00:00:00.000Z');
const iso = (i: number) => new Date(BASE + i * 1000).toISOString();
const MB = 1024 * 1024;

/** A real full garbage collection, so that what is measured is memory still referenced. */
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** Live memory of the process: the JS heap plus buffers held outside it (socket write queues). */
function liveBytes(): number {
  gc();
  const usage = process.memoryUsage();
  return usage.heapUsed + usage.arrayBuffers;
}

interface ExportRun {
  status: number;
  contentType: string | null;
  lines: number;
  bytes: number;
  first?: Json;
  last?: Json;
  ordered: boolean;
  /** Largest live memory above the baseline at the checkpoints, taken while the stream was open. */
  peakGrowth: number;
  rssGrowth: number;
  checkpoints: number;
}

describe(`GET /api/v1/audit/events/export (${EVENTS.toLocaleString('en')} events, ${postgresServerUrl() ? 'PostgreSQL' : 'embedded PGlite'})`, () => {
  let db: Awaited<ReturnType<typeof databaseForFile>>;
  let t: TestApp;
  let admin: string;

  beforeAll(async () => {
    db = await databaseForFile();
    t = await startTestApp({}, db);
    admin = await login(t.baseUrl, ADMIN.username, ADMIN.password);
    const dataSource = t.app.get(DataSource);
    // Event i at 2020-01-01 + i seconds, so time windows select known ranges. In statements of
    // INSERT_CHUNK events: each event is hashed into the audit chain by the database's trigger, and
    // one statement for all of them can outlast the app's 4 s query timeout on a busy machine.
    for (let from = 0; from < EVENTS; from += INSERT_CHUNK) {
      await dataSource.query(
        `INSERT INTO "audit_events" ("type", "outcome", "actor", "ip", "user_agent", "reason", "request_id", "created_at")
       SELECT 'export.synthetic',
              CASE WHEN i % 2 = 0 THEN 'success' ELSE 'failure' END,
              'actor-' || i || '@export.test',
              '10.0.' || ((i / 256) % 256) || '.' || (i % 256),
              'export-spec/1.0 (synthetic event ' || i || '; a user agent of realistic length)',
              'synthetic_reason_' || (i % 7),
              'req-' || i,
              $1::timestamptz + i * interval '1 second'
         FROM generate_series($2::int, $3::int - 1) AS i`,
        [iso(0), from, Math.min(from + INSERT_CHUNK, EVENTS)],
      );
    }
  }, 300_000);
  afterAll(async () => {
    await t?.close();
    await db?.drop();
  });

  /** Reads the export chunk by chunk (never the whole body), checking order and sampling memory. */
  async function exportWindow(query: string, checkpointEvery = 0, slowStartMs = 0): Promise<ExportRun> {
    const baseline = liveBytes();
    const rssBaseline = process.memoryUsage().rss;
    let peakGrowth = 0;
    let rssGrowth = 0;
    let checkpoints = 0;
    const response = await getOnce(`${t.baseUrl}/api/v1/audit/events/export${query}`, bearer(admin));
    const run: ExportRun = {
      status: response.status,
      contentType: response.headers.get('content-type'),
      lines: 0,
      bytes: 0,
      ordered: true,
      peakGrowth: 0,
      rssGrowth: 0,
      checkpoints: 0,
    };
    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    let pending = '';
    let previousId = -1;
    let previousAt = -Infinity;
    const checkpoint = () => {
      peakGrowth = Math.max(peakGrowth, liveBytes() - baseline);
      rssGrowth = Math.max(rssGrowth, process.memoryUsage().rss - rssBaseline);
      checkpoints++;
    };
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (run.bytes === 0 && slowStartMs > 0) {
        // A slow collector: it stops reading for a while. A server that ignored backpressure would
        // keep fetching and queueing lines in its memory meanwhile.
        await new Promise((resolve) => setTimeout(resolve, slowStartMs));
        checkpoint();
      }
      run.bytes += value.byteLength;
      pending += decoder.decode(value, { stream: true });
      let newline: number;
      while ((newline = pending.indexOf('\n')) >= 0) {
        const event = JSON.parse(pending.slice(0, newline));
        pending = pending.slice(newline + 1);
        run.lines++;
        run.first ??= event;
        run.last = event;
        const id = Number(event.id);
        const at = Date.parse(event.created_at);
        if (!(id > previousId && at >= previousAt)) run.ordered = false;
        previousId = id;
        previousAt = at;
        // Mid-stream: the server holds whatever it has not yet sent. Unreferenced garbage is collected first.
        if (checkpointEvery > 0 && run.lines % checkpointEvery === 0) checkpoint();
      }
    }
    expect(pending).toBe('');
    return { ...run, peakGrowth, rssGrowth, checkpoints };
  }

  it('answers application/x-ndjson, one event per line, oldest first, in the contract shape', async () => {
    const run = await exportWindow(`?since=${iso(0)}&until=${iso(50)}`);
    expect(run.status).toBe(200);
    expect(run.contentType).toMatch(/^application\/x-ndjson\b/);
    expect(run.lines).toBe(50);
    expect(run.ordered).toBe(true);
    expect(run.first).toMatchObject({
      type: 'export.synthetic',
      outcome: 'success',
      actor: 'actor-0@export.test',
      reason: 'synthetic_reason_0',
      request_id: 'req-0',
      created_at: iso(0),
    });
    expect(run.last).toMatchObject({ actor: 'actor-49@export.test', outcome: 'failure', created_at: iso(49) });
    expect(Object.keys(run.first)).toEqual(expect.arrayContaining(['id', 'type', 'outcome', 'actor', 'ip', 'user_agent', 'reason', 'created_at']));
  });

  it('respects since (inclusive) and until (exclusive), also across batch boundaries', async () => {
    const inner = await exportWindow(`?since=${iso(1234)}&until=${iso(3456)}`);
    expect(inner.lines).toBe(3456 - 1234);
    expect(inner.ordered).toBe(true);
    expect(inner.first.created_at).toBe(iso(1234));
    expect(inner.last.created_at).toBe(iso(3455));

    const tail = await exportWindow(`?since=${iso(EVENTS - 10)}&until=2020-12-31T00:00:00Z`);
    expect(tail.lines).toBe(10);
    expect(tail.first.actor).toBe(`actor-${EVENTS - 10}@export.test`);

    const head = await exportWindow(`?until=${iso(5)}`);
    expect(head.lines).toBe(5);
    expect(head.first.actor).toBe('actor-0@export.test');

    // Events recorded now (the admin's login) lie after every synthetic one.
    const recent = await exportWindow(`?since=${iso(EVENTS)}`);
    expect(recent.lines).toBeGreaterThan(0);
    expect(recent.first.type).not.toBe('export.synthetic');

    expect((await exportWindow(`?since=${iso(10)}&until=${iso(10)}`)).lines).toBe(0);
    expect((await call(t.baseUrl, 'GET', '/api/v1/audit/events/export?since=yesterday', { headers: bearer(admin) })).status).toBe(400);
  });

  it(`streams ${EVENTS.toLocaleString('en')} events with flat memory: the growth does not follow the count`, async () => {
    const window = (count: number) => `?since=${iso(0)}&until=${iso(count)}`;
    const small = await exportWindow(window(SMALL), SMALL / 10, 2500);
    const large = await exportWindow(window(EVENTS), EVENTS / 20, 2500);

    expect(small.lines).toBe(SMALL);
    expect(large.lines).toBe(EVENTS);
    expect(large.ordered).toBe(true);
    expect(large.first.actor).toBe('actor-0@export.test');
    expect(large.last.actor).toBe(`actor-${EVENTS - 1}@export.test`);
    expect(large.checkpoints).toBe(21);

    const report =
      `10k: +${(small.peakGrowth / MB).toFixed(1)} MB live (rss +${(small.rssGrowth / MB).toFixed(1)} MB) for ${(small.bytes / MB).toFixed(1)} MB of NDJSON; ` +
      `100k: +${(large.peakGrowth / MB).toFixed(1)} MB live (rss +${(large.rssGrowth / MB).toFixed(1)} MB) for ${(large.bytes / MB).toFixed(1)} MB of NDJSON`;
    console.log(report);

    // Buffering the export (all rows, or all lines) would hold at least the NDJSON itself: tens of MB.
    expect(large.bytes).toBeGreaterThan(20 * MB);
    const BOUND = 8 * MB;
    expect(large.peakGrowth).toBeLessThan(BOUND);
    expect(large.peakGrowth).toBeLessThan(large.bytes / 4);
    // Ten times the events may not cost meaningfully more live memory than the small export did.
    expect(large.peakGrowth).toBeLessThan(Math.max(2 * small.peakGrowth, small.peakGrowth + 6 * MB));
  }, 120_000);
});
