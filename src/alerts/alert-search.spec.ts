import { BadRequestException } from '@nestjs/common';
import {
  listStatement,
  MAX_PREFIX_WORDS,
  MAX_SEARCH_WORDS,
  MIN_PREFIX_LENGTH,
  SEARCH_WINDOW,
  searchQueryText,
  sortClauses,
  summaryOf,
  summaryStatement,
} from './alert-search';

describe('searchQueryText', () => {
  it('requires every word, whole, and a word with * after it also as the start of a word', () => {
    expect(searchQueryText('Phishing finance')).toBe("'Phishing' & 'finance'");
    expect(searchQueryText('phish* fin*')).toBe("'phish':* & 'fin':*");
    expect(searchQueryText('phish *')).toBe("'phish'");
  });

  it('splits on punctuation as the stored document does, so host names and addresses become words', () => {
    expect(searchQueryText('host-17.example.com')).toBe("'host' & '17' & 'example' & 'com'");
    expect(searchQueryText('ana@corp')).toBe("'ana' & 'corp'");
  });

  it('never passes tsquery syntax through', () => {
    expect(searchQueryText("a & !b | c:* <-> 'd' (e)")).toBe("'a' & 'b' & 'c' & 'd' & 'e'");
    expect(searchQueryText("o'brien\\")).toBe("'o' & 'brien'");
    expect(searchQueryText("x'*")).toBe("'x'");
  });

  it('keeps letters of any script and their combining marks', () => {
    expect(searchQueryText('Zürich café')).toBe("'Zürich' & 'café'");
    expect(searchQueryText('cafe\u0301')).toBe("'café'");
  });

  it('has no query for text without a word', () => {
    expect(searchQueryText(' -- !! ')).toBeNull();
  });

  it(`refuses a prefix shorter than ${MIN_PREFIX_LENGTH} characters and more than ${MAX_PREFIX_WORDS} prefixes (each walks the index)`, () => {
    expect(searchQueryText('abc*')).toBe("'abc':*");
    expect(searchQueryText('ab')).toBe("'ab'");
    expect(() => searchQueryText('ab*')).toThrow(/at least 3 characters before the \*/);
    expect(() => searchQueryText('host* é*')).toThrow(BadRequestException);
    expect(searchQueryText('éàü*')).toBe("'éàü':*");
    expect(searchQueryText('one* two* three')).toBe("'one':* & 'two':* & 'three'");
    expect(() => searchQueryText('one* two* three*')).toThrow(/at most 2 words ending in \*/);
  });

  it(`refuses more than ${MAX_SEARCH_WORDS} words with 400`, () => {
    expect(searchQueryText(Array.from({ length: MAX_SEARCH_WORDS }, (_, i) => `w${i}`).join(' '))).not.toBeNull();
    expect(() => searchQueryText(Array.from({ length: MAX_SEARCH_WORDS + 1 }, (_, i) => `w${i}`).join(' '))).toThrow(BadRequestException);
  });
});

describe('sortClauses', () => {
  it('orders newest first by created_at then id, and reads "before" as smaller', () => {
    expect(sortClauses('newest', '$1')).toEqual({
      orderBy: 'a."created_at" DESC, a."id" DESC',
      after: '(a."created_at", a."id") < (SELECT anchor."created_at", anchor."id" FROM "alerts" anchor WHERE anchor."id" = $1)',
    });
  });

  it('orders oldest first and reads "before" as greater', () => {
    expect(sortClauses('oldest', '$2')).toEqual({
      orderBy: 'a."created_at" ASC, a."id" ASC',
      after: '(a."created_at", a."id") > (SELECT anchor."created_at", anchor."id" FROM "alerts" anchor WHERE anchor."id" = $2)',
    });
  });

  it('orders by severity rank (critical first), then newest', () => {
    expect(sortClauses('severity').orderBy).toBe('a."severity_rank" DESC, a."created_at" DESC, a."id" DESC');
    expect(sortClauses('severity', '$1').after).toMatch(/^\(a\."severity_rank", a\."created_at", a\."id"\) < \(SELECT anchor\."severity_rank"/);
  });

  it('has no cursor condition without an anchor', () => {
    expect(sortClauses('newest').after).toBeUndefined();
  });
});

describe('listStatement', () => {
  it('filters, searches and pages with parameters only', () => {
    const { sql, fallback, params } = listStatement({ status: 'open', severity: 'critical', q: "x'); DROP TABLE alerts; --", limit: 10 });
    expect(params).toEqual(['open', 'critical', "'x' & 'DROP' & 'TABLE' & 'alerts'", 10]);
    for (const statement of [sql, fallback!]) {
      expect(statement).not.toContain('DROP');
      expect(statement).toContain('a."search_document" @@ to_tsquery(\'simple\', $3)');
      expect(statement).toMatch(/ORDER BY a\."created_at" DESC, a\."id" DESC LIMIT \$4$/);
    }
  });

  it('searches the newest rows under the other filters first, then through the search index', () => {
    const { sql, fallback } = listStatement({ status: 'open', q: 'beacon' });
    expect(sql).toContain(`(SELECT a.* FROM "alerts" a WHERE a."status" = $1 ORDER BY a."created_at" DESC, a."id" DESC LIMIT ${SEARCH_WINDOW}) a`);
    expect(sql).toContain('WHERE a."search_document" @@ to_tsquery(\'simple\', $2) ORDER BY');
    expect(fallback).toContain(
      'WITH hits AS MATERIALIZED (SELECT a."id" FROM "alerts" a WHERE a."search_document" @@ to_tsquery(\'simple\', $2) AND a."status" = $1)',
    );
    expect(listStatement({ status: 'open' }).fallback).toBeUndefined();
  });

  it('reads assignee=none as unassigned and a username through the username key', () => {
    expect(listStatement({ assignee: 'none' }).sql).toContain('a."assignee_id" IS NULL');
    const named = listStatement({ assignee: 'ANA@Example.com' });
    expect(named.sql).toContain('a."assignee_id" = (SELECT "id" FROM "users" WHERE "username_key" = $1)');
    expect(named.params[0]).toBe('ana@example.com');
  });

  it('takes since inclusive and until exclusive, and refuses since after until', () => {
    const { sql, params } = listStatement({ since: '2026-01-01T00:00:00Z', until: '2026-02-01T00:00:00Z' });
    expect(sql).toContain('a."created_at" >= $1 AND a."created_at" < $2');
    expect(params.slice(0, 2)).toEqual([new Date('2026-01-01T00:00:00Z'), new Date('2026-02-01T00:00:00Z')]);
    expect(() => listStatement({ since: '2026-02-01', until: '2026-01-01' })).toThrow(BadRequestException);
  });

  it('pages by time with sort=newest only, and refuses a cursor that is neither an id nor a time', () => {
    expect(listStatement({ before: '2026-01-01T00:00:00Z' }).sql).toContain('a."created_at" < $1');
    expect(() => listStatement({ before: '2026-01-01T00:00:00Z', sort: 'oldest' })).toThrow(BadRequestException);
    expect(() => listStatement({ before: '2026-01-01T00:00:00Z', sort: 'severity' })).toThrow(BadRequestException);
    expect(() => listStatement({ before: 'yesterday' })).toThrow(BadRequestException);
    // An id that the service did not find as an anchor is refused too.
    expect(() => listStatement({ before: '00000000-0000-4000-8000-000000000000' })).toThrow(BadRequestException);
  });

  it('pages after the anchor in the chosen order', () => {
    const { sql, params } = listStatement({ before: 'ignored', sort: 'oldest' }, 'anchor-id');
    expect(sql).toContain('(a."created_at", a."id") > (SELECT');
    expect(params).toEqual(['anchor-id', 50]);
  });
});

describe('summaryStatement', () => {
  const HOUR = 3_600_000;

  it('adds every hour of alert_counts when there is no window', () => {
    expect(summaryStatement(undefined, undefined)).toEqual({
      sql: 'SELECT "severity", "status", sum("n") AS n FROM (SELECT "severity", "status", "n" FROM "alert_counts") parts GROUP BY 1, 2',
      params: [],
    });
  });

  it('takes the whole hours inside the window from alert_counts and counts the partial hours at its edges', () => {
    const since = new Date(Date.UTC(2026, 0, 1, 10, 15));
    const until = new Date(Date.UTC(2026, 0, 1, 14, 30));
    const { sql, params } = summaryStatement(since.toISOString(), until.toISOString());
    expect(sql).toContain('FROM "alert_counts" WHERE "hour" >= $1 AND "hour" < $2');
    expect(params.slice(0, 2)).toEqual([Date.UTC(2026, 0, 1, 11) / HOUR, Date.UTC(2026, 0, 1, 14) / HOUR]);
    expect(params.slice(2)).toEqual([since, new Date(Date.UTC(2026, 0, 1, 11)), new Date(Date.UTC(2026, 0, 1, 14)), until]);
    expect(sql).toContain('FROM "alerts" WHERE "created_at" >= $3 AND "created_at" < $4');
    expect(sql).toContain('FROM "alerts" WHERE "created_at" >= $5 AND "created_at" < $6');
  });

  it('counts a window on whole hours from alert_counts alone (the edges are empty)', () => {
    const { params } = summaryStatement('2026-01-01T10:00:00Z', '2026-01-01T12:00:00Z');
    expect(params.slice(0, 2)).toEqual([Date.UTC(2026, 0, 1, 10) / HOUR, Date.UTC(2026, 0, 1, 12) / HOUR]);
  });

  it('counts a window inside one hour in alerts only', () => {
    const { sql, params } = summaryStatement('2026-01-01T10:05:00Z', '2026-01-01T10:55:00Z');
    expect(sql).not.toContain('alert_counts');
    expect(params).toEqual([new Date('2026-01-01T10:05:00Z'), new Date('2026-01-01T10:55:00Z')]);
  });

  it('takes one-sided windows', () => {
    expect(summaryStatement('2026-01-01T10:05:00Z', undefined).sql).toContain('WHERE "hour" >= $1');
    expect(summaryStatement(undefined, '2026-01-01T10:05:00Z').sql).toContain('WHERE "hour" < $1');
  });

  it('refuses since after until', () => {
    expect(() => summaryStatement('2026-01-02', '2026-01-01')).toThrow(BadRequestException);
  });
});

describe('summaryOf', () => {
  it('fills every severity and status, zero where nothing was counted, and totals the counts', () => {
    const summary = summaryOf([
      { severity: 'critical', status: 'open', n: '65' },
      { severity: 'low', status: 'resolved', n: 3 },
    ]);
    expect(summary.total).toBe(68);
    expect(summary.by_severity).toEqual({
      low: { open: 0, acknowledged: 0, resolved: 3 },
      medium: { open: 0, acknowledged: 0, resolved: 0 },
      high: { open: 0, acknowledged: 0, resolved: 0 },
      critical: { open: 65, acknowledged: 0, resolved: 0 },
    });
  });

  it('never writes through an inherited key', () => {
    const summary = summaryOf([{ severity: 'low', status: 'toString', n: 1 }]);
    expect(typeof summary.by_severity.low.toString).toBe('function');
  });
});
