// Live alerts: the list from GET /alerts, kept current by the /ws/alerts WebSocket.
import { ApiError, get, patch, query } from './api.js';
import { $, busy, clear, h, show, time } from './dom.js';

/** The source of the alerts AuroraSOC raises from its own audit trail. */
const DETECTION_SOURCE = 'aurorasoc-auth';

const SEVERITIES = ['critical', 'high', 'medium', 'low'];
const STATUSES = ['open', 'acknowledged', 'resolved'];
const WS_PATH = '/api/v1/ws/alerts';
const CLOSE_CREDENTIAL_INVALID = 4401;
const MAX_ROWS = 500;
const BACKOFF_BASE_MS = 1000;
const BACKOFF_MAX_MS = 30_000;

let session = null;
let running = false;
let socket = null;
let attempt = 0;
let reconnectTimer = null;
let countdownTimer = null;
let needsResync = false;
const alertsById = new Map();
const rows = new Map();

const severityClass = (severity) => (SEVERITIES.includes(severity) ? `sev-${severity}` : 'sev-unknown');
const statusClass = (status) => (STATUSES.includes(status) ? `status-${status}` : 'status-unknown');

export function init() {
  $('alerts-filter-status').addEventListener('change', applyFilters);
  $('alerts-filter-severity').addEventListener('change', applyFilters);
  $('alerts-refresh').addEventListener('click', () => void load());
}

/** Called once after sign-in: load the list and open the live connection. */
export function start(current) {
  session = current;
  $('alerts-table').classList.toggle('no-actions', !session.can('alerts:write'));
  if (running) return;
  running = true;
  attempt = 0;
  void load();
  connect();
}

export function enter() {
  applyFilters();
}

/** Sign-out: close the socket, stop reconnecting, forget every alert. */
export function reset() {
  running = false;
  clearTimeout(reconnectTimer);
  clearInterval(countdownTimer);
  if (socket) {
    const closing = socket;
    socket = null;
    closing.onclose = null;
    closing.close(1000, 'signed out');
  }
  alertsById.clear();
  rows.clear();
  clear($('alerts-body'));
  renderSummary();
  setConnection('connecting', 'Connecting…');
}

async function load() {
  try {
    const list = await get(`/alerts${query({ limit: 200 })}`);
    if (!running) return;
    // Merged, not replaced: frames that arrived while the request was in flight stay.
    for (const alert of list) upsert(alert, false);
    applyFilters();
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return;
    session?.flash(`Could not load alerts: ${error.message}`);
  }
}

// ---------------------------------------------------------------- WebSocket

function setConnection(state, text) {
  const element = $('conn-state');
  element.className = `conn conn-${state}`;
  element.dataset.state = state;
  element.textContent = text;
}

function connect() {
  if (!running) return;
  clearTimeout(reconnectTimer);
  clearInterval(countdownTimer);
  setConnection('connecting', attempt === 0 ? 'Connecting…' : 'Reconnecting…');
  const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}${WS_PATH}`;
  let ws;
  try {
    ws = new WebSocket(url);
  } catch {
    scheduleReconnect();
    return;
  }
  socket = ws;
  ws.onopen = () => {
    if (socket !== ws) return;
    attempt = 0;
    setConnection('live', 'Live');
    // Anything created or changed while we were away is fetched again.
    if (needsResync) void load();
    needsResync = false;
  };
  ws.onmessage = (event) => {
    if (socket !== ws) return;
    let frame;
    try {
      frame = JSON.parse(event.data);
    } catch {
      return;
    }
    if (!frame || typeof frame !== 'object' || !frame.data || typeof frame.data.id !== 'string') return;
    if (frame.type === 'alert.created' || frame.type === 'alert.updated') {
      upsert(frame.data, true);
      renderSummary();
    }
  };
  ws.onclose = (event) => {
    if (socket !== ws) return;
    socket = null;
    needsResync = true;
    if (!running) return;
    if (event.code === CLOSE_CREDENTIAL_INVALID) {
      // The socket's credential died. Changing one's own password does that too, while the
      // browser already holds a fresh cookie: only a refused /auth/me means signed out.
      setConnection('reconnecting', 'Checking the session…');
      void reconnect('Your session has ended (signed out elsewhere, expired, or your access changed). Please sign in again.');
      return;
    }
    scheduleReconnect(event.code === 1001 ? 'The server is restarting.' : 'Connection lost.');
  };
}

function scheduleReconnect(why = 'Connection lost.') {
  attempt += 1;
  const ceiling = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** (attempt - 1));
  const delay = Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
  let left = Math.ceil(delay / 1000);
  const tick = () => setConnection('reconnecting', `${why} Reconnecting in ${left} s…`);
  tick();
  clearInterval(countdownTimer);
  countdownTimer = setInterval(() => {
    left = Math.max(0, left - 1);
    tick();
  }, 1000);
  clearTimeout(reconnectTimer);
  reconnectTimer = setTimeout(() => void reconnect(), delay);
}

/**
 * A refused handshake looks like any other dropped connection to the browser, so ask the
 * API whether the session is still good before opening the socket again.
 */
async function reconnect(reason = 'Your session has ended. Please sign in again.') {
  clearInterval(countdownTimer);
  if (!running) return;
  try {
    await session?.pendingCredentialChange;
    await get('/auth/me', { allow401: true });
  } catch (error) {
    if (!running) return;
    if (error instanceof ApiError && error.status === 401) {
      running = false;
      session?.signedOut(reason);
      return;
    }
    scheduleReconnect('The server cannot be reached.');
    return;
  }
  connect();
}

// ---------------------------------------------------------------- rendering

function sortKey(alert) {
  return `${alert.created_at ?? ''}|${alert.id}`;
}

function upsert(alert, live) {
  const previous = alertsById.get(alert.id);
  if (previous && previous.updated_at && alert.updated_at && previous.updated_at > alert.updated_at) return;
  alertsById.set(alert.id, alert);
  const row = renderRow(alert);
  if (live) row.classList.add(previous ? 'changed' : 'fresh');
  const old = rows.get(alert.id);
  rows.set(alert.id, row);
  if (old) {
    old.replaceWith(row);
  } else {
    const body = $('alerts-body');
    const key = sortKey(alert);
    let before = null;
    for (const other of body.children) {
      const otherAlert = alertsById.get(other.dataset.id);
      if (otherAlert && sortKey(otherAlert) < key) {
        before = other;
        break;
      }
    }
    body.insertBefore(row, before);
    while (body.children.length > MAX_ROWS) {
      const last = body.lastElementChild;
      alertsById.delete(last.dataset.id);
      rows.delete(last.dataset.id);
      last.remove();
    }
  }
  row.hidden = !matches(alert);
  updateEmpty();
}

function renderRow(alert) {
  const actions = h('td', { class: 'actions' });
  if (session?.can('alerts:write')) {
    if (alert.status === 'open') actions.append(actionButton(alert, 'acknowledged', 'Acknowledge'));
    if (alert.status !== 'resolved') actions.append(actionButton(alert, 'resolved', 'Resolve'));
    if (alert.status === 'resolved') actions.append(actionButton(alert, 'open', 'Reopen'));
  }
  const titleCell = h('td', { class: 'title' }, h('span', { class: 'alert-title', text: alert.title ?? '' }));
  if (alert.description) titleCell.append(h('span', { class: 'alert-description', text: alert.description }));
  return h(
    'tr',
    {
      class: ['alert-row', severityClass(alert.severity), statusClass(alert.status)],
      dataset: { id: alert.id, status: String(alert.status), severity: String(alert.severity) },
    },
    h('td', {}, h('span', { class: ['badge', severityClass(alert.severity)], text: alert.severity ?? '?' })),
    titleCell,
    h(
      'td',
      { class: 'source', text: alert.source ?? '' },
      // Raised by AuroraSOC itself from its audit trail (README, "Detections").
      alert.source === DETECTION_SOURCE
        ? h('span', { class: ['pill', 'pill-warn', 'detected'], text: 'detected', title: 'Raised by AuroraSOC from its own audit trail' })
        : null,
    ),
    h('td', {}, h('span', { class: ['pill', 'alert-status', statusClass(alert.status)], text: alert.status ?? '?' })),
    h('td', { class: 'when' }, time(alert.created_at)),
    actions,
  );
}

function actionButton(alert, status, label) {
  const button = h('button', { type: 'button', class: ['small', `action-${status}`], dataset: { action: status } }, label);
  button.addEventListener(
    'click',
    () =>
      void busy(button, async () => {
        try {
          const updated = await patch(`/alerts/${encodeURIComponent(alert.id)}`, { status });
          upsert(updated, false);
          renderSummary();
        } catch (error) {
          if (error instanceof ApiError && error.status === 401) return;
          session?.flash(`Could not update the alert: ${error.message}`);
        }
      }),
  );
  return button;
}

function matches(alert) {
  const status = $('alerts-filter-status').value;
  const severity = $('alerts-filter-severity').value;
  return (!status || alert.status === status) && (!severity || alert.severity === severity);
}

function applyFilters() {
  for (const [id, row] of rows) {
    const alert = alertsById.get(id);
    row.hidden = !alert || !matches(alert);
  }
  updateEmpty();
  renderSummary();
}

function updateEmpty() {
  show($('alerts-empty'), ![...rows.values()].some((row) => !row.hidden));
}

function renderSummary() {
  const counts = Object.fromEntries(SEVERITIES.map((severity) => [severity, 0]));
  for (const alert of alertsById.values()) if (alert.status !== 'resolved' && alert.severity in counts) counts[alert.severity] += 1;
  clear($('severity-summary')).append(
    ...SEVERITIES.map((severity) =>
      h('span', { class: ['chip', `sev-${severity}`], title: `unresolved ${severity} alerts` }, h('strong', { text: counts[severity] }), ` ${severity}`),
    ),
  );
}
