// Audit (audit:read): recent events, failures highlighted, filter by type and outcome.
import { ApiError, get, query } from './api.js';
import { $, clear, h, show, time } from './dom.js';

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
let session = null;
const seenTypes = new Set(KNOWN_TYPES);

export function init(current) {
  session = current;
  $('audit-filter').addEventListener('submit', (event) => {
    event.preventDefault();
    void load();
  });
  $('audit-outcome').addEventListener('change', () => void load());
  renderTypes();
}

export function enter(current) {
  session = current;
  void load();
}

export function reset() {
  clear($('audit-body'));
  $('audit-filter').reset();
}

function renderTypes() {
  clear($('audit-types')).append(...[...seenTypes].sort().map((type) => h('option', { value: type })));
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

function render(events) {
  const body = clear($('audit-body'));
  for (const event of events) {
    const failure = event.outcome === 'failure';
    body.append(
      h(
        'tr',
        { class: ['audit-row', failure ? 'failure' : 'success'], dataset: { id: String(event.id), outcome: String(event.outcome) } },
        h('td', { class: 'when' }, time(event.created_at)),
        h('td', {}, h('code', { text: event.type })),
        h('td', {}, h('span', { class: ['pill', failure ? 'pill-bad' : 'pill-ok'], text: event.outcome })),
        h('td', { text: event.actor ?? '—' }),
        h('td', {}, h('code', { text: event.ip ?? '—' })),
        h('td', { class: 'reason', text: event.reason ?? '' }),
        h('td', { class: 'agent', text: event.user_agent ?? '', title: event.user_agent ?? '' }),
      ),
    );
  }
  show($('audit-empty'), events.length === 0);
}
