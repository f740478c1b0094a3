// Audit (audit:read): recent events, failures highlighted, filter by type and outcome, new events
// live over /ws/audit while the page is open; each event's place in the hash chain (seq), and a
// button that has the server recompute the chain.
import { ApiError, get, query } from './api.js';
import { openAuditLive } from './audit-live.js';
import { $, clear, h, message, show, time } from './dom.js';

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
  'user.password_changed',
];
const MAX_ROWS = 200;
let session = null;
let closeLive = null;
let reloadAfterReconnect = false;
const seenTypes = new Set(KNOWN_TYPES);

export function init(current) {
  session = current;
  $('audit-filter').addEventListener('submit', (event) => {
    event.preventDefault();
    void load();
  });
  $('audit-outcome').addEventListener('change', () => void load());
  $('audit-verify').addEventListener('click', () => void verify());
  renderTypes();
}

export function enter(current) {
  session = current;
  void load();
  closeLive?.();
  closeLive = openAuditLive(addLive, liveState);
}

export function leave() {
  closeLive?.();
  closeLive = null;
  liveState('closed');
}

export function reset() {
  leave();
  clear($('audit-body'));
  message($('audit-verify-result'), '');
  $('audit-filter').reset();
}

function renderTypes() {
  clear($('audit-types')).append(...[...seenTypes].sort().map((type) => h('option', { value: type })));
}

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

async function load() {
  const type = $('audit-type').value.trim();
  const outcome = $('audit-outcome').value;
  try {
    const events = await get(`/audit/events${query({ type, outcome, limit: 200 })}`);
    let grew = false;
    for (const event of events) if (event.type && !seenTypes.has(event.type)) (seenTypes.add(event.type), (grew = true));
    if (grew) renderTypes();
    render(events);
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return;
    session.flash(`Could not load audit events: ${error.message}`);
  }
}

function liveState(state) {
  const element = $('audit-live');
  element.dataset.state = state;
  element.className = `conn conn-${state === 'live' ? 'live' : state === 'reconnecting' ? 'reconnecting' : 'connecting'}`;
  element.textContent = state === 'live' ? 'Live' : state === 'reconnecting' ? 'Reconnecting…' : 'Not live';
  // Events written while the feed was down are read again once it is back.
  if (state === 'reconnecting') reloadAfterReconnect = true;
  if (state === 'live' && reloadAfterReconnect) {
    reloadAfterReconnect = false;
    void load();
  }
}

/** A new event from the feed: shown at the top when it matches the filters, once. */
function addLive(event) {
  const type = $('audit-type').value.trim();
  const outcome = $('audit-outcome').value;
  if ((type && event.type !== type) || (outcome && event.outcome !== outcome)) return;
  const body = $('audit-body');
  if (body.querySelector(`tr[data-id="${CSS.escape(String(event.id))}"]`)) return;
  body.prepend(row(event));
  while (body.rows.length > MAX_ROWS) body.lastElementChild.remove();
  show($('audit-empty'), false);
}

function render(events) {
  const body = clear($('audit-body'));
  body.append(...events.map(row));
  show($('audit-empty'), events.length === 0);
}

function row(event) {
  const failure = event.outcome === 'failure';
  return h(
    'tr',
    {
      class: ['audit-row', failure ? 'failure' : 'success'],
      dataset: { id: String(event.id), seq: String(event.seq ?? ''), outcome: String(event.outcome) },
    },
    h('td', { class: 'seq', text: event.seq ?? '' }),
    h('td', { class: 'when' }, time(event.created_at)),
    h('td', {}, h('code', { text: event.type })),
    h('td', {}, h('span', { class: ['pill', failure ? 'pill-bad' : 'pill-ok'], text: event.outcome })),
    h('td', { text: event.actor ?? '—' }),
    h('td', {}, h('code', { text: event.ip ?? '—' })),
    h('td', { class: 'reason', text: event.reason ?? '' }),
    h('td', { class: 'agent', text: event.user_agent ?? '', title: event.user_agent ?? '' }),
  );
}
