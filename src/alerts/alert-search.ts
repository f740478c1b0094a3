import { BadRequestException } from '@nestjs/common';
import { isTimestamp } from '../common/is-timestamp';
import { UUID_PATTERN } from '../common/uuid-param.pipe';
import { usernameKey } from '../common/username-key';
import { ALERT_STATUSES, type AlertStatus, SEVERITIES, type Severity } from './alert.entity';
import { ALERT_COLUMNS, ALERT_FROM, type AlertSort, type AlertSummaryView, type ListAlertsQuery } from './alerts.dto';

/** At most this many words in `q`: each is one more index lookup. */
export const MAX_SEARCH_WORDS = 8;
export const DEFAULT_PAGE_SIZE = 50;

/**
 * The tsquery of `q`: every word (a run of letters, digits and combining marks; anything else
 * separates words, as punctuation does in the stored document) must start a word of the alert.
 * Each word is quoted, so nothing the client sends is read as tsquery syntax. Null when q has no word.
 */
export function searchQueryText(q: string): string | null {
  const words = q
    .normalize('NFC')
    .split(/[^\p{L}\p{N}\p{M}]+/u)
    .filter((word) => word.length > 0);
  if (words.length === 0) return null;
  if (words.length > MAX_SEARCH_WORDS) throw new BadRequestException(`q may hold at most ${MAX_SEARCH_WORDS} words`);
  return words.map((word) => `'${word}':*`).join(' & ');
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

/** The conditions of a time window on created_at: since inclusive, until exclusive. */
export function windowConditions(params: SqlParams, since: string | undefined, until: string | undefined, column = 'a."created_at"'): string[] {
  if (since !== undefined && until !== undefined && Date.parse(since) > Date.parse(until)) {
    throw new BadRequestException('since must not be after until');
  }
  const where: string[] = [];
  if (since !== undefined) where.push(`${column} >= ${params.add(new Date(since))}`);
  if (until !== undefined) where.push(`${column} < ${params.add(new Date(until))}`);
  return where;
}

/**
 * The statement of one page of GET /alerts. `anchorId` is set when `before` names an alert (its
 * existence is the caller's to check, for a clear 400).
 */
export function listStatement(query: ListAlertsQuery, anchorId?: string): { sql: string; params: unknown[] } {
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
  if (query.q !== undefined) {
    const text = searchQueryText(query.q);
    if (text) where.push(`a."search_document" @@ to_tsquery('simple', ${params.add(text)})`);
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
  const limit = params.add(query.limit ?? DEFAULT_PAGE_SIZE);
  const sql = `SELECT ${ALERT_COLUMNS} FROM ${ALERT_FROM}${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY ${orderBy} LIMIT ${limit}`;
  return { sql, params: params.values };
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
