// Live alerts: a list driven by the server (filters, search, time range and sort are sent to
// GET /alerts; "Load older" pages with `before`), kept live by the /ws/alerts WebSocket, its state
// in the URL (#/alerts?status=open&q=…). The chips (alert-summary.js), the detail flyout
// (alert-detail.js), multi-select (alert-bulk.js) and the socket (alert-socket.js) are modules
// of their own. Everything from the server goes in as text: titles are attacker-controlled.
import { ApiError, get, patch, query } from './api.js';
import { $, busy, clear } from './dom.js';
import { compare, defaultState, listQuery, matches, parseHash, sameList, SEVERITIES, STATUSES, timeWindow, toHash } from './alert-state.js';
import { initFiltersToggle, rangeChosen, readState, renderAssigneeOptions, showState } from './alert-filters.js';
import { renderRow } from './alert-rows.js';
import { createAlertSocket } from './alert-socket.js';
import { createSummary } from './alert-summary.js';
import { createDetail } from './alert-detail.js';
import { createBulk } from './alert-bulk.js';

const PAGE_SIZE = 100;
const SEARCH_DEBOUNCE_MS = 350;
/** Roles whose users hold alerts:write, so can be assigned alerts. */
const ASSIGNABLE_ROLES = new Set(['admin', 'analyst']);

let session = null;
let state = defaultState();
/** The state the rows were loaded for; null until the first load. */
let applied = null;
let hasMore = false;
let generation = 0;
let searchTimer = null;
let hiddenNew = 0;
/** Frames that arrived while a reload was in flight: applied to the list it brings. */
let missed = null;
let users = [];
const alerts = new Map();
const rows = new Map();
let socket;
let summary;
let detail;
let bulk;

const canWrite = () => Boolean(session?.can('alerts:write'));
const me = () => session?.me?.sub ?? '';
const currentWindow = () => timeWindow(applied ?? state);

export function init() {
  socket = createAlertSocket({
    get session() {
      return session;
    },
    onFrame,
    onOpen: (resync) => {
      if (resync && applied) void reload();
    },
    onSignedOut: (reason) => session?.signedOut(reason),
  });
  summary = createSummary({ window: currentWindow, pick: pickSeverity, onCounts: updateCount });
  detail = createDetail({ session: () => session, onAlert: (alert) => upsert(alert, ''), onClosed: detailClosed });
  bulk = createBulk({ session: () => session, shownIds: () => [...rows.keys()], onDone: () => summary.changed() });

  for (const id of ['alerts-filter-status', 'alerts-filter-severity', 'alerts-filter-assignee', 'alerts-sort']) {
    $(id).addEventListener('change', () => commit('push'));
  }
  // A date is typed field by field (each one a change): one history entry for the range, not one per field.
  for (const id of ['alerts-since', 'alerts-until']) $(id).addEventListener('change', () => commit('replace'));
  $('alerts-range').addEventListener('change', () => {
    rangeChosen();
    commit('push');
  });
  $('alerts-search').addEventListener('input', () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(() => commit('replace'), SEARCH_DEBOUNCE_MS);
  });
  $('alerts-filters').addEventListener('submit', (event) => {
    event.preventDefault();
    clearTimeout(searchTimer);
    commit('push');
  });
  initFiltersToggle();
  $('alerts-clear').addEventListener('click', () => {
    state = { ...defaultState(), sort: state.sort };
    syncControls();
    commit('push');
  });
  $('alerts-refresh').addEventListener('click', () => void reload());
  $('alerts-more').addEventListener('click', () => void loadMore());
  $('alerts-body').addEventListener('click', (event) => {
    const target = event.target;
    if (!(target instanceof Element) || target.closest('a, button, input, label, select, textarea')) return;
    if (String(window.getSelection?.() ?? '')) return; // selecting text, not opening
    const row = target.closest('tr[data-id]');
    if (row) openDetail(row.dataset.id);
  });
  document.addEventListener('visibilitychange', () => {
    if (!document.hidden && hiddenNew) {
      hiddenNew = 0;
      updateTitle();
    }
  });
}

/** Called once after sign-in: open the live connection (the list loads on entering the page). */
export function start(current) {
  session = current;
  const writable = canWrite();
  $('alerts-table').classList.toggle('no-write', !writable);
  $('alerts-select-all-cell').hidden = !writable;
  bulk.enable(writable);
  if (socket.running) return;
  renderAssigneeOptions(state, me(), users);
  if (session.can('users:manage')) void loadUsers();
  socket.start();
}

/** The page is shown, or its hash changed (reload, back/forward, a link): apply the URL's state. */
export function enter() {
  if (!session) return;
  const wanted = parseHash(location.hash);
  const listChanged = !applied || !sameList(wanted, applied);
  state = wanted;
  syncControls();
  updateNavLink();
  if (listChanged) void reload();
  else void summary.load();
  if (state.alert && detail.openId !== state.alert) detail.open(state.alert, alerts.get(state.alert));
  else if (!state.alert && detail.openId) detail.close();
}

export function leave() {
  // A search still waiting for its debounce would write #/alerts over the page being opened.
  clearTimeout(searchTimer);
  detail.dismiss();
}

/** Sign-out: close the socket, stop reconnecting, forget every alert. */
export function reset() {
  socket?.stop();
  detail?.dismiss();
  generation += 1;
  clearTimeout(searchTimer);
  applied = null;
  missed = null;
  state = defaultState();
  hasMore = false;
  hiddenNew = 0;
  users = [];
  alerts.clear();
  rows.clear();
  clear($('alerts-body'));
  summary?.reset();
  bulk?.reset();
  syncControls();
  updateNavLink();
  $('alerts-more').hidden = true;
  $('alerts-count').textContent = '';
  $('alerts-empty').hidden = true;
}

// ---------------------------------------------------------------- state ↔ controls ↔ URL

function syncControls() {
  showState(state, me(), users);
  summary?.setActive(state);
}

/** The filters changed here: record them in the URL (no hashchange: nothing re-routes) and reload. */
function commit(mode) {
  state = readState(state);
  const hash = toHash(state);
  if (hash !== location.hash) history[mode === 'replace' ? 'replaceState' : 'pushState'](null, '', hash);
  updateNavLink();
  summary.setActive(state);
  if (!applied || !sameList(state, applied)) void reload();
}

/** The nav link brings back the list as it was left. */
function updateNavLink() {
  document.querySelector('#nav a[data-view="alerts"]')?.setAttribute('href', toHash(state, { withAlert: false }));
}

function pickSeverity(severity) {
  const on = !(state.status === 'open' && state.severity === severity);
  $('alerts-filter-status').value = on ? 'open' : '';
  $('alerts-filter-severity').value = on ? severity : '';
  commit('push');
}

async function loadUsers() {
  try {
    const list = await get('/users');
    users = (Array.isArray(list) ? list : []).filter((user) => !user.disabled && ASSIGNABLE_ROLES.has(user.role));
    renderAssigneeOptions(state, me(), users);
  } catch {
    // Only a convenience: a username can still be typed.
  }
}

// ---------------------------------------------------------------- loading

function setLoading(on) {
  $('alerts-table').setAttribute('aria-busy', String(on));
  if (on) $('alerts-count').textContent = 'Loading…';
}

async function reload() {
  const mine = ++generation;
  const wanted = { ...state };
  const window = timeWindow(wanted);
  setLoading(true);
  missed = [];
  try {
    const list = await get(`/alerts${query({ ...listQuery(wanted, window), limit: PAGE_SIZE })}`);
    if (mine !== generation) return;
    applied = { ...wanted, window };
    alerts.clear();
    rows.clear();
    clear($('alerts-body'));
    for (const alert of Array.isArray(list) ? list : []) appendRow(alert);
    hasMore = Array.isArray(list) && list.length >= PAGE_SIZE;
    // The server may have answered before those changes: not one is lost (older versions are ignored).
    const late = missed ?? [];
    missed = null;
    for (const frame of late) upsert(frame.data, frame.type === 'alert.created' ? 'fresh' : 'changed');
    afterRowsChanged();
    void summary.load();
  } catch (error) {
    if (mine !== generation) return;
    missed = null;
    $('alerts-count').textContent = 'The alerts could not be loaded.';
    if (!(error instanceof ApiError && error.status === 401)) session?.flash(`Could not load alerts: ${error.message}`);
  } finally {
    if (mine === generation) $('alerts-table').setAttribute('aria-busy', 'false');
  }
}

async function loadMore() {
  const last = $('alerts-body').lastElementChild?.dataset.id;
  if (!applied || !last) return;
  const mine = generation;
  const button = $('alerts-more');
  await busy(button, async () => {
    try {
      const list = await get(`/alerts${query({ ...listQuery(applied, applied.window), limit: PAGE_SIZE, before: last })}`);
      if (mine !== generation) return;
      let first = null;
      for (const alert of Array.isArray(list) ? list : []) {
        if (rows.has(alert.id)) continue;
        const row = appendRow(alert);
        first ??= row;
      }
      hasMore = Array.isArray(list) && list.length >= PAGE_SIZE;
      afterRowsChanged();
      // The button goes away at the end of the list: the focus goes to the first row it brought.
      if (!hasMore && first) first.querySelector('a.details')?.focus();
    } catch (error) {
      if (!(error instanceof ApiError && error.status === 401)) session?.flash(`Could not load older alerts: ${error.message}`);
    }
  });
}

function afterRowsChanged() {
  const older = applied?.sort === 'newest' || !applied;
  const more = $('alerts-more');
  more.hidden = !hasMore;
  more.textContent = older ? 'Load older alerts' : 'Load more alerts';
  $('alerts-empty').hidden = rows.size > 0;
  bulk.rowsChanged();
  updateCount();
}

/** "Showing 100 of 250": the total is known from the summary when only status and severity filter. */
function updateCount() {
  if (!applied) return;
  const counts = summary.counts;
  let total = -1;
  if (counts && !applied.q && !applied.assignee) {
    total = 0;
    for (const severity of applied.severity ? [applied.severity] : SEVERITIES) {
      for (const status of applied.status ? [applied.status] : STATUSES) total += Number(counts.by_severity?.[severity]?.[status] ?? 0);
    }
  }
  const plural = (n) => (n === 1 ? '' : 's');
  $('alerts-count').textContent =
    total >= rows.size ? `Showing ${rows.size} of ${total} alert${plural(total)}.` : `Showing ${rows.size} alert${plural(rows.size)}.`;
}

// ---------------------------------------------------------------- live frames

function onFrame(frame) {
  const alert = frame.data;
  if (frame.type === 'alert.created' && document.hidden) {
    hiddenNew += 1;
    updateTitle();
  }
  summary.changed();
  detail.changed(alert);
  missed?.push(frame);
  if (!applied) return;
  upsert(alert, frame.type === 'alert.created' ? 'fresh' : 'changed');
}

function updateTitle() {
  const base = document.title.replace(/^\(\d+\) /, '');
  document.title = hiddenNew > 0 ? `(${hiddenNew}) ${base}` : base;
}

/**
 * A newer version of an alert (a frame, or the answer to my own change). A shown row is updated in
 * place (it stays, dimmed, if it no longer matches: rows do not jump away under the pointer); a
 * new one is inserted where the list's order puts it, if that is within what is loaded.
 */
function upsert(alert, mark) {
  if (!applied || !alert || typeof alert.id !== 'string') return;
  const known = alerts.get(alert.id);
  if (known && known.updated_at && alert.updated_at && known.updated_at > alert.updated_at) return;
  if (known) {
    const fits = matches(alert, { ...applied, q: '' }, applied.window);
    const row = rowFor(alert, fits);
    if (mark) row.classList.add(mark);
    const old = rows.get(alert.id);
    // Keep the keyboard where it was: on the same action if the new row has it, else the next one.
    const focused = old.contains(document.activeElement) ? document.activeElement : null;
    old.replaceWith(row);
    rows.set(alert.id, row);
    alerts.set(alert.id, alert);
    if (focused) {
      const selector = focused.dataset.action
        ? `button[data-action="${focused.dataset.action}"]`
        : focused.matches('input.row-select')
          ? 'input.row-select'
          : 'a.details';
      const same = row.querySelector(selector);
      (same ?? row.querySelector('button[data-action]') ?? row.querySelector('a.details'))?.focus();
    }
    bulk.rowsChanged();
    return;
  }
  if (!matches(alert, applied, applied.window)) return;
  const body = $('alerts-body');
  let before = null;
  for (const other of body.children) {
    const shown = alerts.get(other.dataset.id);
    if (shown && compare(applied.sort, alert, shown) < 0) {
      before = other;
      break;
    }
  }
  if (!before && hasMore) return; // it belongs past the pages loaded: "Load more" brings it
  const row = rowFor(alert, true);
  if (mark) row.classList.add(mark);
  body.insertBefore(row, before);
  rows.set(alert.id, row);
  alerts.set(alert.id, alert);
  afterRowsChanged();
}

// ---------------------------------------------------------------- rows

function appendRow(alert) {
  if (!alert || typeof alert.id !== 'string') return null;
  const row = rowFor(alert, true);
  $('alerts-body').append(row);
  rows.set(alert.id, row);
  alerts.set(alert.id, alert);
  return row;
}

function rowFor(alert, fits) {
  return renderRow(alert, {
    fits,
    writable: canWrite(),
    selected: bulk.selected.has(alert.id),
    detailsHref: toHash({ ...state, alert: alert.id }),
    onDetails: openDetail,
    onSelect: (id, on) => bulk.toggle(id, on),
    onStatus: setStatus,
  });
}

/** A row's status button: PATCH /alerts/{id}, the row shows the answer. */
function setStatus(alert, status, button) {
  const focused = document.activeElement === button;
  void busy(button, async () => {
    try {
      upsert(await patch(`/alerts/${encodeURIComponent(alert.id)}`, { status }), '');
      summary.changed();
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) return;
      session?.flash(`Could not update the alert: ${error.message}`);
    }
  }).then(() => {
    // The row was redrawn while its button was disabled (so not focused): the keyboard stays on the row.
    const now = document.activeElement;
    if (!focused || (now && now !== document.body && now.isConnected)) return;
    const row = rows.get(alert.id);
    (row?.querySelector(`button[data-action="${status}"]`) ?? row?.querySelector('button[data-action]') ?? row?.querySelector('a.details'))?.focus();
  });
}

// ---------------------------------------------------------------- the flyout

function openDetail(id) {
  state = { ...state, alert: id };
  history.pushState(null, '', toHash(state));
  detail.open(id, alerts.get(id));
}

function detailClosed(id) {
  state = { ...state, alert: '' };
  const hash = toHash(state);
  if (location.hash !== hash && location.hash.startsWith('#/alerts')) history.replaceState(null, '', hash);
  const link = rows.get(id)?.querySelector('a.details');
  if (link) link.focus();
  else $('alerts-table').focus();
}
