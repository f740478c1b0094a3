import { BadRequestException } from '@nestjs/common';
import { isTimestamp } from '../common/is-timestamp';
import { UUID_PATTERN } from '../common/uuid-param.pipe';
import { usernameKey } from '../common/username-key';
import { ALERT_STATUSES, type AlertStatus, SEVERITIES, type Severity } from './alert.entity';
import { ALERT_COLUMNS, ALERT_FROM, type AlertSort, type AlertSummaryView, type ListAlertsQuery } from './alerts.dto';

/** At most this many words in `q`: each is one more index lookup. */
export const MAX_SEARCH_WORDS = 8;
export const DEFAULT_PAGE_SIZE = 50;
/** A prefix search (`word*`) collects every indexed word it starts: at least this long, at most this many. */
export const MIN_PREFIX_LENGTH = 3;
export const MAX_PREFIX_WORDS = 2;

/** A word of `q` (letters, digits, combining marks), and a `*` right after it. */
const SEARCH_WORD = /([\p{L}\p{N}\p{M}]+)(\*)?/gu;

/**
 * The tsquery of `q`: every word (a run of letters, digits and combining marks; anything else
 * separates words, as punctuation does in the stored document) must be a word of the alert; a word
 * written with a `*` after it (`phish*`) may also be the start of one. Whole words are the default
 * because the index finds them by skipping through its lists, while a prefix collects every row of
 * every word it starts first (`host*` is every alert in the bench: ≈ 50 ms more on 1,000,000 alerts,
 * bench/RESULTS.md). Each word is quoted, so nothing else the client sends is read as tsquery syntax. Null
 * when q has no word.
 */
export function searchQueryText(q: string): string | null {
  const words = [...q.normalize('NFC').matchAll(SEARCH_WORD)];
  if (words.length === 0) return null;
  if (words.length > MAX_SEARCH_WORDS) throw new BadRequestException(`q may hold at most ${MAX_SEARCH_WORDS} words`);
  const prefixes = words.filter(([, , star]) => star);
  // A short prefix (a*) starts nearly every word in the index: each one walks most of it.
  if (prefixes.some(([, word]) => [...word].length < MIN_PREFIX_LENGTH)) {
    throw new BadRequestException(`a word ending in * needs at least ${MIN_PREFIX_LENGTH} characters before the *`);
  }
  if (prefixes.length > MAX_PREFIX_WORDS) throw new BadRequestException(`q may hold at most ${MAX_PREFIX_WORDS} words ending in *`);
  return words.map(([, word, star]) => (star ? `'${word}':*` : `'${word}'`)).join(' & ');
}

interface SortSpec {
  /** The row value compared with the cursor's and ordered by. */
  key: string;
  direction: 'ASC' | 'DESC';
}

const SORTS: Record<AlertSort, SortSpec> = {
  newest: { key: 'created_at, id', direction: 'DESC' },
  oldest: { key: 'created_at, id', direction: 'ASC' },
  severity: { key: 'severity_rank, created_at, id', direction: 'DESC' },
};

/** The ORDER BY of a sort, and the keyset condition "after the anchor row in that order". */
export function sortClauses(sort: AlertSort, anchorParam?: string): { orderBy: string; after?: string } {
  const { key, direction } = SORTS[sort];
  const columns = key.split(', ');
  const orderBy = columns.map((column) => `a."${column}" ${direction}`).join(', ');
  if (!anchorParam) return { orderBy };
  const own = columns.map((column) => `a."${column}"`).join(', ');
  const anchor = columns.map((column) => `anchor."${column}"`).join(', ');
  // Row comparison against the anchor's values read in SQL (created_at keeps its microseconds).
  const after = `(${own}) ${direction === 'DESC' ? '<' : '>'} (SELECT ${anchor} FROM "alerts" anchor WHERE anchor."id" = ${anchorParam})`;
  return { orderBy, after };
}

/** Collects positional parameters ($1, $2, ...) for one statement. */
export class SqlParams {
  readonly values: unknown[] = [];
  add(value: unknown): string {
    this.values.push(value);
    return `$${this.values.length}`;
  }
}

/** Refuses a window that ends before it starts (400). */
export function checkWindow(since: string | undefined, until: string | undefined): void {
  if (since !== undefined && until !== undefined && Date.parse(since) > Date.parse(until)) {
    throw new BadRequestException('since must not be after until');
  }
}

/** The conditions of a time window on created_at: since inclusive, until exclusive. */
function windowConditions(params: SqlParams, since: string | undefined, until: string | undefined): string[] {
  checkWindow(since, until);
  const where: string[] = [];
  if (since !== undefined) where.push(`a."created_at" >= ${params.add(new Date(since))}`);
  if (until !== undefined) where.push(`a."created_at" < ${params.add(new Date(until))}`);
  return where;
}

/**
 * How one page of GET /alerts is read: `sql`, and with a search also `fallback`. A search first
 * looks among the newest SEARCH_WINDOW rows (in the chosen order, under the other filters): a
 * full page there is the right page, found without the search index. Otherwise `fallback` finds
 * every match through the search index first and orders only those: fast when matches are rare,
 * which they are when the window held fewer than a page. (Left to itself, the planner walks the
 * order's index and checks every row when two common words rarely meet: seconds on 1,000,000.)
 */
export interface ListPlan {
  sql: string;
  fallback?: string;
  params: unknown[];
  limit: number;
}

/** How many of the newest rows a search looks through before it turns to the search index. */
export const SEARCH_WINDOW = 4000;

/**
 * The statements of one page of GET /alerts. `anchorId` is set when `before` names an alert (its
 * existence is the caller's to check, for a clear 400).
 */
export function listStatement(query: ListAlertsQuery, anchorId?: string): ListPlan {
  const params = new SqlParams();
  const sort = query.sort ?? 'newest';
  const where: string[] = [];
  if (query.status) where.push(`a."status" = ${params.add(query.status)}`);
  if (query.severity) where.push(`a."severity" = ${params.add(query.severity)}`);
  if (query.assignee !== undefined) {
    where.push(
      query.assignee === 'none'
        ? `a."assignee_id" IS NULL`
        : `a."assignee_id" = (SELECT "id" FROM "users" WHERE "username_key" = ${params.add(usernameKey(query.assignee))})`,
    );
  }
  let search: string | undefined;
  if (query.q !== undefined) {
    const text = searchQueryText(query.q);
    if (text) search = `a."search_document" @@ to_tsquery('simple', ${params.add(text)})`;
  }
  where.push(...windowConditions(params, query.since, query.until));
  let anchorParam: string | undefined;
  if (query.before !== undefined) {
    if (anchorId) {
      anchorParam = params.add(anchorId);
    } else if (UUID_PATTERN.test(query.before) || !isTimestamp(query.before)) {
      throw new BadRequestException('before must name an existing alert id or be an ISO 8601 time');
    } else if (sort !== 'newest') {
      throw new BadRequestException('before as a time goes with sort=newest only; with another sort, send the id of the last alert seen');
    } else {
      where.push(`a."created_at" < ${params.add(new Date(query.before))}`);
    }
  }
  const { orderBy, after } = sortClauses(sort, anchorParam);
  if (after) where.push(after);
  const limit = query.limit ?? DEFAULT_PAGE_SIZE;
  const limitParam = params.add(limit);
  const whereSql = (conditions: string[]) => (conditions.length ? ` WHERE ${conditions.join(' AND ')}` : '');
  if (!search) {
    return { sql: `SELECT ${ALERT_COLUMNS} FROM ${ALERT_FROM}${whereSql(where)} ORDER BY ${orderBy} LIMIT ${limitParam}`, params: params.values, limit };
  }
  const sql =
    `SELECT ${ALERT_COLUMNS} FROM (SELECT a.* FROM "alerts" a${whereSql(where)} ORDER BY ${orderBy} LIMIT ${SEARCH_WINDOW}) a` +
    ` LEFT JOIN "users" u ON u."id" = a."assignee_id" WHERE ${search} ORDER BY ${orderBy} LIMIT ${limitParam}`;
  const fallback =
    `WITH hits AS MATERIALIZED (SELECT a."id" FROM "alerts" a${whereSql([search, ...where])})` +
    ` SELECT ${ALERT_COLUMNS} FROM hits JOIN "alerts" a ON a."id" = hits."id" LEFT JOIN "users" u ON u."id" = a."assignee_id"` +
    ` ORDER BY ${orderBy} LIMIT ${limitParam}`;
  return { sql, fallback, params: params.values, limit };
}

/**
 * The statement of GET /alerts/summary: whole hours of the window from alert_counts, the partial
 * hours at its edges counted in alerts (through the created_at index). Hours are whole hours since
 * 1970 UTC, as the migration AlertCounts keys them.
 */
export function summaryStatement(since: string | undefined, until: string | undefined): { sql: string; params: unknown[] } {
  checkWindow(since, until);
  const HOUR_MS = 3_600_000;
  const params = new SqlParams();
  const from = since === undefined ? undefined : new Date(since);
  const to = until === undefined ? undefined : new Date(until);
  const firstHour = from && Math.ceil(from.getTime() / HOUR_MS);
  const endHour = to && Math.floor(to.getTime() / HOUR_MS);
  const exact = (start: Date | undefined, end: Date | undefined) => {
    const where = [...(start ? [`"created_at" >= ${params.add(start)}`] : []), ...(end ? [`"created_at" < ${params.add(end)}`] : [])];
    return `SELECT "severity", "status", count(*) AS n FROM "alerts"${where.length ? ` WHERE ${where.join(' AND ')}` : ''} GROUP BY 1, 2`;
  };
  const parts: string[] = [];
  if (firstHour !== undefined && endHour !== undefined && firstHour >= endHour) {
    // No whole hour inside the window: count it all in alerts.
    parts.push(exact(from, to));
  } else {
    const hours = [
      ...(firstHour !== undefined ? [`"hour" >= ${params.add(firstHour)}`] : []),
      ...(endHour !== undefined ? [`"hour" < ${params.add(endHour)}`] : []),
    ];
    parts.push(`SELECT "severity", "status", "n" FROM "alert_counts"${hours.length ? ` WHERE ${hours.join(' AND ')}` : ''}`);
    if (from && firstHour !== undefined) parts.push(exact(from, new Date(firstHour * HOUR_MS)));
    if (to && endHour !== undefined) parts.push(exact(new Date(endHour * HOUR_MS), to));
  }
  return { sql: `SELECT "severity", "status", sum("n") AS n FROM (${parts.join(' UNION ALL ')}) parts GROUP BY 1, 2`, params: params.values };
}

/** Every severity × status, zero where no row was counted. */
export function summaryOf(rows: ReadonlyArray<{ severity: string; status: string; n: number | string }>): AlertSummaryView {
  const bySeverity = Object.fromEntries(SEVERITIES.map((severity) => [severity, Object.fromEntries(ALERT_STATUSES.map((status) => [status, 0]))])) as Record<
    Severity,
    Record<AlertStatus, number>
  >;
  let total = 0;
  for (const row of rows) {
    const n = Number(row.n);
    total += n;
    const counts = bySeverity[row.severity as Severity];
    if (counts && Object.hasOwn(counts, row.status)) counts[row.status as AlertStatus] += n;
  }
  return { total, by_severity: bySeverity };
}
