// Audit (audit:read): the trail newest first, failures highlighted, filtered by type, outcome,
// actor, IP address and a time range, paged with "Load older" (the API's before=); new events that
// match the filters arrive live over /ws/audit while the page is open. Each event's place in the
// hash chain (seq), a button that has the server recompute the chain, and an NDJSON export of the
// time range.
import { ApiError, API, get, query } from './api.js';
import { openAuditLive } from './audit-live.js';
import { $, busy, clear, h, message, show, time } from './dom.js';
import { askForStepUp } from './step-up.js';

const KNOWN_TYPES = [
  'auth.login',
  'auth.logout',
  'auth.jwt',
  'auth.api_key',
  'auth.ws_handshake',
  'auth.forbidden',
  'auth.cross_site',
  'api_key.created',
  'api_key.revoked',
  'api_key.rotated',
  'user.created',
  'user.updated',
  'user.deleted',
  'user.unlocked',
  'user.password_changed',
];
const COLUMNS = ['Seq', 'Time', 'Type', 'Outcome', 'Actor', 'IP', 'Reason', 'User agent'];
const PAGE_SIZE = 100;
/** Rows kept on the page at most (live events push the oldest out; "Load older" brings them back). */
const MAX_ROWS = 2000;
/** The characters the server escapes as \uXXXX in audit text (src/audit/audit-recorder.ts). */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const UNSAFE_CHARACTERS = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

let session = null;
let closeLive = null;
let reloadAfterReconnect = false;
let liveWas = 'closed';
let loadSeq = 0;
/** The filters of the list on screen (what live events are matched against). */
let shown = null;
/** The id of the oldest event on screen: the next page's before=. */
let oldestId = null;
const seenTypes = new Set(KNOWN_TYPES);

export function init(current) {
  session = current;
  $('audit-filter').addEventListener('submit', (event) => {
    event.preventDefault();
    void load();
  });
  $('audit-outcome').addEventListener('change', () => void load());
  $('audit-clear').addEventListener('click', () => {
    $('audit-filter').reset();
    void load();
  });
  $('audit-more').addEventListener('click', () => void loadOlder());
  $('audit-export').addEventListener('click', () => void exportEvents());
  $('audit-verify').addEventListener('click', () => void verify());
  renderTypes();
}

export function enter(current) {
  session = current;
  void load();
  closeLive?.();
  liveWas = 'closed';
  closeLive = openAuditLive(addLive, liveState);
}

export function leave() {
  closeLive?.();
  closeLive = null;
  liveState('closed');
}

export function reset() {
  leave();
  loadSeq += 1;
  shown = null;
  oldestId = null;
  clear($('audit-body'));
  message($('audit-verify-result'), '');
  message($('audit-message'), '');
  $('audit-count').textContent = '';
  show($('audit-more'), false);
  $('audit-filter').reset();
}

function renderTypes() {
  clear($('audit-types')).append(...[...seenTypes].sort().map((type) => h('option', { value: type })));
}

// ---------------------------------------------------------------- filters

/** A datetime-local value (the viewer's time zone) as an ISO time, '' when empty, null when it does not parse. */
function isoOf(value) {
  if (!value) return '';
  const ms = new Date(value).getTime();
  return Number.isNaN(ms) ? null : new Date(ms).toISOString();
}

/** The filters as the form holds them, or { error, field } for the first that is wrong. */
/** The filters, or null after saying what is wrong with them (the field takes the focus). */
function validFilters() {
  const filters = readFilters();
  if (filters.error) {
    message($('audit-message'), filters.error);
    $(filters.field).focus();
    return null;
  }
  message($('audit-message'), '');
  return filters;
}

function readFilters() {
  const since = isoOf($('audit-since').value);
  const until = isoOf($('audit-until').value);
  if (since === null) return { error: 'Enter a valid start time (From).', field: 'audit-since' };
  if (until === null) return { error: 'Enter a valid end time (To).', field: 'audit-until' };
  if (since && until && Date.parse(until) <= Date.parse(since)) return { error: '“To” must be later than “From”.', field: 'audit-until' };
  const ip = $('audit-ip').value.trim();
  if (ip && !/^[0-9a-f:.]+$/i.test(ip)) return { error: `“${ip}” is not an IP address, e.g. 203.0.113.7 or 2001:db8::1.`, field: 'audit-ip' };
  return { type: $('audit-type').value.trim(), outcome: $('audit-outcome').value, actor: $('audit-actor').value.trim(), ip, since, until };
}

const escapeAuditText = (text) => text.replace(UNSAFE_CHARACTERS, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`);

function ipForms(ip) {
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(ip);
  if (mapped) return [ip.toLowerCase(), mapped[1]];
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(ip) ? [ip, `::ffff:${ip}`] : [ip.toLowerCase()];
}

/** Whether an event belongs in the list on screen: the server's rules for each filter. */
function matches(event, filters) {
  if (filters.type && event.type !== filters.type) return false;
  if (filters.outcome && event.outcome !== filters.outcome) return false;
  if (filters.actor && event.actor !== filters.actor && event.actor !== escapeAuditText(filters.actor)) return false;
  if (filters.ip && !ipForms(filters.ip).includes(String(event.ip ?? '').toLowerCase())) return false;
  const at = Date.parse(event.created_at);
  if (filters.since && !(at >= Date.parse(filters.since))) return false;
  if (filters.until && !(at < Date.parse(filters.until))) return false;
  return true;
}

function listQuery(filters, extra = {}) {
  const { type, outcome, actor, ip, since, until } = filters;
  return query({ type, outcome, actor, ip, since, until, limit: PAGE_SIZE, ...extra });
}

// ---------------------------------------------------------------- the list

function noteTypes(events) {
  let grew = false;
  for (const event of events) if (event.type && !seenTypes.has(event.type)) (seenTypes.add(event.type), (grew = true));
  if (grew) renderTypes();
}

function failed(error, what) {
  if (error instanceof ApiError && error.status === 401) return;
  const text = error instanceof ApiError && error.status === 400 ? `The server refused the filters: ${error.message}` : `Could not ${what}: ${error.message}`;
  message($('audit-message'), text);
}

async function load() {
  const filters = validFilters();
  if (!filters) return;
  const seq = ++loadSeq;
  try {
    const events = await get(`/audit/events${listQuery(filters)}`);
    if (seq !== loadSeq) return;
    shown = filters;
    noteTypes(events);
    clear($('audit-body')).append(...events.map(row));
    oldestId = events.length ? String(events[events.length - 1].id) : null;
    show($('audit-more'), events.length === PAGE_SIZE);
    updateCount();
  } catch (error) {
    if (seq !== loadSeq) return;
    failed(error, 'load audit events');
  }
}

/** The next page, older than the oldest row shown, under the same filters. */
async function loadOlder() {
  if (!shown || !oldestId) return;
  const button = $('audit-more');
  const seq = loadSeq;
  await busy(button, async () => {
    try {
      const events = await get(`/audit/events${listQuery(shown, { before: oldestId })}`);
      if (seq !== loadSeq) return;
      noteTypes(events);
      const body = $('audit-body');
      for (const event of events) if (!body.querySelector(`tr[data-id="${CSS.escape(String(event.id))}"]`)) body.append(row(event));
      if (events.length) oldestId = String(events[events.length - 1].id);
      show(button, events.length === PAGE_SIZE);
      updateCount();
    } catch (error) {
      if (seq !== loadSeq) return;
      failed(error, 'load older events');
    }
  });
  // The button is gone at the end of the trail: keep the keyboard near the list.
  if (button.hidden && (document.activeElement === document.body || document.activeElement === button)) $('audit-table').focus();
}

function updateCount() {
  const rows = $('audit-body').rows.length;
  show($('audit-empty'), rows === 0);
  $('audit-count').textContent =
    rows === 0 ? '' : `${rows.toLocaleString()} event${rows === 1 ? '' : 's'} shown, newest first${$('audit-more').hidden ? ' (the oldest reached)' : ''}.`;
}

function liveState(state) {
  const element = $('audit-live');
  element.dataset.state = state;
  element.className = `conn conn-${state === 'live' ? 'live' : state === 'reconnecting' ? 'reconnecting' : 'connecting'}`;
  element.textContent = state === 'live' ? 'Live' : state === 'reconnecting' ? 'Reconnecting…' : 'Not live';
  // Only a change is announced (the pill is not a live region: a retry loop would chatter).
  if (state !== liveWas) {
    if (state === 'reconnecting' && liveWas === 'live') $('audit-announce').textContent = 'The live audit feed was lost; reconnecting.';
    if (state === 'live' && liveWas === 'reconnecting') $('audit-announce').textContent = 'The live audit feed is back.';
    liveWas = state;
  }
  // Events written while the feed was down are read again once it is back.
  if (state === 'reconnecting') reloadAfterReconnect = true;
  if (state === 'live' && reloadAfterReconnect) {
    reloadAfterReconnect = false;
    void load();
  }
}

/** A new event from the feed: shown at the top when it matches the filters on screen, once. */
function addLive(event) {
  if (!shown || !matches(event, shown)) return;
  const body = $('audit-body');
  if (body.querySelector(`tr[data-id="${CSS.escape(String(event.id))}"]`)) return;
  noteTypes([event]);
  body.prepend(row(event));
  if (body.rows.length > MAX_ROWS) {
    while (body.rows.length > MAX_ROWS) body.lastElementChild.remove();
    oldestId = body.lastElementChild?.dataset.id ?? oldestId;
    show($('audit-more'), true);
  }
  updateCount();
}

function row(event) {
  const failure = event.outcome === 'failure';
  const cells = [
    h('td', { class: 'seq', text: event.seq ?? '' }),
    h('td', { class: 'when' }, time(event.created_at)),
    h('td', {}, h('code', { text: event.type })),
    h('td', {}, h('span', { class: ['pill', failure ? 'pill-bad' : 'pill-ok'], text: event.outcome })),
    h('td', { text: event.actor ?? '—' }),
    h('td', {}, h('code', { text: event.ip ?? '—' })),
    h('td', { class: 'reason', text: event.reason ?? '' }),
    h('td', { class: 'agent', text: event.user_agent ?? '', title: event.user_agent ?? '' }),
  ];
  cells.forEach((cell, i) => (cell.dataset.label = COLUMNS[i]));
  return h(
    'tr',
    {
      class: ['audit-row', failure ? 'failure' : 'success'],
      dataset: { id: String(event.id), seq: String(event.seq ?? ''), outcome: String(event.outcome) },
    },
    ...cells,
  );
}

// ---------------------------------------------------------------- verify, export

/** GET /audit/verify: the answer in words; a broken chain names the first event that does not hold. */
async function verify() {
  const button = $('audit-verify');
  const result = $('audit-verify-result');
  button.disabled = true;
  message(result, 'Verifying the chain…', 'info');
  try {
    const answer = await get('/audit/verify');
    const head = `head seq ${answer.head.seq}, hash ${String(answer.head.hash).slice(0, 16)}…`;
    if (answer.ok) message(result, `Chain intact: ${answer.checked} events checked (${head}).`, 'ok');
    else
      message(
        result,
        `Chain broken at seq ${answer.first_bad_seq}: that event was changed, removed or inserted (${answer.checked} checked before it; ${head}).`,
        'error',
      );
    result.dataset.ok = String(answer.ok);
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return;
    message(result, `Could not verify the chain: ${error.message}`, 'error');
  } finally {
    button.disabled = false;
  }
}

const pad = (n) => String(n).padStart(2, '0');
const today = () => {
  const d = new Date();
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
};

/**
 * GET /audit/events/export for the time range, saved as aurora-audit-<date>.ndjson. The export is
 * a step-up route: a 403 step_up_required asks for the second factor and tries once more.
 */
async function exportEvents() {
  const filters = validFilters();
  if (!filters) return;
  const button = $('audit-export');
  await busy(button, async () => {
    const url = `${API}/audit/events/export${query({ since: filters.since, until: filters.until })}`;
    const fetchExport = () => fetch(url, { credentials: 'same-origin', cache: 'no-store', headers: { accept: 'application/x-ndjson' } });
    try {
      let response = await fetchExport();
      if (response.status === 403) {
        const body = await response
          .clone()
          .json()
          .catch(() => null);
        if (body?.error === 'step_up_required' && (await askForStepUp())) response = await fetchExport();
      }
      if (response.status === 401) {
        session.signedOut('Your session has ended. Please sign in again.');
        return;
      }
      if (!response.ok) {
        const body = await response.json().catch(() => null);
        throw new ApiError(response.status, body, response.headers);
      }
      const blob = await response.blob();
      const lines = (await blob.text()).split('\n').filter(Boolean).length;
      const link = h('a', { href: URL.createObjectURL(blob), download: `aurora-audit-${today()}.ndjson`, hidden: true });
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(link.href), 60_000);
      session.flash(`Exported ${lines.toLocaleString()} event${lines === 1 ? '' : 's'} as NDJSON.`, 'ok');
    } catch (error) {
      if (error instanceof ApiError && error.status === 403 && error.body?.error === 'step_up_required') {
        message($('audit-message'), 'The export needs your second factor: it was not confirmed.');
        return;
      }
      message($('audit-message'), `Could not export: ${error instanceof ApiError ? error.message : 'the server could not be reached.'}`);
    }
  });
}
