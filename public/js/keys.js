// API keys (users:manage): create and edit (permissions, allowed IP ranges, a rate limit), list,
// rotate with a grace period (the new secret is shown once), hourly usage per key, revoke. A new
// secret on screen is never replaced without asking, and is gone once the page is left.
import { ApiError, del, get, patch, post, query } from './api.js';
import { $, busy, clear, confirmAction, h, message, show, time } from './dom.js';
import { periodText, usageChart } from './usage-chart.js';

// What a key may be given (never users:manage), in words; only those the signed-in person holds are offered.
const KEY_PERMISSIONS = [
  { name: 'alerts:read', text: 'Read alerts and follow them live' },
  { name: 'alerts:write', text: 'Create and update alerts' },
  { name: 'audit:read', text: 'Read and export the audit trail (e.g. a SIEM)' },
];
const DEFAULT_CHECKED = new Set(['alerts:read', 'alerts:write']);
const MAX_RANGES = 50;
const MAX_LIMIT = 1_000_000;
const MAX_WINDOW_SECONDS = 86_400;
/** Window units, largest first: a window is shown in the largest unit that divides it. */
const UNITS = [
  { seconds: 3600, one: 'hour', many: 'hours' },
  { seconds: 60, one: 'minute', many: 'minutes' },
  { seconds: 1, one: 'second', many: 'seconds' },
];
const GRACE_WORDS = { 3600: '1 hour', 86400: '24 hours' };
const COLUMNS = ['Service / prefix', 'Permissions', 'Allowed from', 'Rate limit', 'Created / expires', 'Last used', 'State / revoked', 'Actions'];

let session = null;
let loadSeq = 0;
/** The list entry being edited, or null while the form creates. */
let editing = null;
/** Per key id: its usage panel (open or not, period, last answer). */
const usageViews = new Map();

export function init(current) {
  session = current;
  $('key-form').addEventListener('submit', (event) => void submit(event));
  $('key-edit-cancel').addEventListener('click', () => stopEditing({ focusRow: true }));
  $('key-copy').addEventListener('click', () => void copyKey());
  $('key-issued-dismiss').addEventListener('click', hideIssued);
  for (const radio of document.querySelectorAll('#key-form input[name="limit_mode"]')) radio.addEventListener('change', syncLimitInputs);
  for (const radio of document.querySelectorAll('#rotate-form input[name="grace"]')) radio.addEventListener('change', syncGraceInput);
  $('rotate-form').addEventListener('submit', (event) => {
    if (event.submitter?.value !== 'ok' || chosenGrace() !== null) return;
    event.preventDefault();
    message($('rotate-message'), 'Enter a whole number of seconds between 0 and 86400.');
    $('grace-seconds').focus();
  });
  $('key-form').addEventListener('keydown', (event) => {
    if (event.key === 'Escape' && editing) stopEditing({ focusRow: true });
  });
}

export function enter(current) {
  session = current;
  renderPermissionChoices();
  void load();
}

/** Leaving the page: a secret still on screen is cleared (it is shown once, and only here). */
export function leave() {
  hideIssued();
  if ($('rotate-dialog').open) $('rotate-dialog').close();
}

export function reset() {
  loadSeq += 1;
  hideIssued();
  editing = null;
  usageViews.clear();
  clear($('keys-body'));
  clear($('key-permissions'));
  delete $('key-permissions').dataset.for;
  setFormMode('create');
  $('key-form').reset();
  syncLimitInputs();
  message($('key-form-message'), '');
  if ($('rotate-dialog').open) $('rotate-dialog').close();
}

// ---------------------------------------------------------------- words

function windowText(seconds) {
  const unit = UNITS.find((u) => seconds % u.seconds === 0) ?? UNITS[2];
  const n = seconds / unit.seconds;
  return n === 1 ? unit.one : `${n.toLocaleString()} ${unit.many}`;
}

export function limitText(rateLimit) {
  return `${Number(rateLimit.limit).toLocaleString()} per ${windowText(Number(rateLimit.window_seconds))}`;
}

// ---------------------------------------------------------------- the form

function renderPermissionChoices() {
  const box = $('key-permissions');
  if (box.dataset.for === session.me.sub && box.children.length) return;
  box.dataset.for = session.me.sub;
  clear(box);
  // Only permissions the signed-in person holds: the server refuses any other.
  for (const { name, text } of KEY_PERMISSIONS.filter((p) => session.can(p.name))) {
    const id = `key-perm-${name.replace(':', '-')}`;
    box.append(
      h(
        'label',
        { class: ['check', 'check-described'], for: id },
        h('input', { type: 'checkbox', id, name: 'permissions', value: name, checked: DEFAULT_CHECKED.has(name) }),
        h('span', {}, h('code', { text: name }), h('span', { class: 'check-text', text: ` — ${text}` })),
      ),
    );
  }
}

function syncLimitInputs() {
  const on = $('key-limit-on').checked;
  for (const id of ['key-limit', 'key-window', 'key-window-unit']) $(id).disabled = !on;
}

function syncGraceInput() {
  $('grace-seconds').disabled = !$('grace-custom').checked;
  message($('rotate-message'), '');
}

/** A light check of one line; the server has the last word (and says why in its 400). */
function looksLikeRange(text) {
  const parts = text.split('/');
  if (parts.length > 2) return false;
  const [address, prefix] = parts;
  const prefixOk = (max) => prefix === undefined || (/^\d{1,3}$/.test(prefix) && Number(prefix) <= max);
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(address)) return address.split('.').every((octet) => Number(octet) <= 255) && prefixOk(32);
  return address.includes(':') && /^[0-9a-f:.]+$/i.test(address) && prefixOk(128);
}

/** The form's values, or { error, field } for the first thing that is wrong. */
function readForm() {
  const serviceName = $('key-service').value.trim();
  if (!serviceName) return { error: 'Enter a service name.', field: 'key-service' };

  const offered = [...$('key-permissions').querySelectorAll('input[type=checkbox]')];
  const permissions = offered.filter((input) => input.checked).map((input) => input.value);
  // Permissions of the key that this page does not offer are kept as they are.
  if (editing) for (const p of editing.permissions ?? []) if (!offered.some((input) => input.value === p)) permissions.push(p);
  if (permissions.length === 0) return { error: 'Choose at least one permission.', field: offered[0]?.id };

  const lines = $('key-ips')
    .value.split(/\r?\n/)
    .map((line) => line.trim())
    .filter(Boolean);
  if (lines.length > MAX_RANGES) return { error: `At most ${MAX_RANGES} IP ranges (there are ${lines.length}).`, field: 'key-ips' };
  const bad = lines.findIndex((line) => !looksLikeRange(line));
  if (bad >= 0) {
    return {
      error: `“${lines[bad]}” (IP ranges, line ${bad + 1}) is not an IP address or CIDR range, e.g. 203.0.113.0/24 or 2001:db8::/32.`,
      field: 'key-ips',
    };
  }

  let rateLimit = null;
  if ($('key-limit-on').checked) {
    const limit = Number($('key-limit').value);
    const window = Number($('key-window').value);
    const seconds = window * Number($('key-window-unit').value);
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT)
      return { error: `The limit must be a whole number of requests between 1 and ${MAX_LIMIT.toLocaleString()}.`, field: 'key-limit' };
    if (!Number.isInteger(window) || window < 1) return { error: 'The window must be a whole number, at least 1.', field: 'key-window' };
    if (seconds > MAX_WINDOW_SECONDS) return { error: 'The window can be at most 24 hours (86400 seconds).', field: 'key-window' };
    rateLimit = { limit, window_seconds: seconds };
  }
  return { service_name: serviceName, permissions, allowed_ips: lines, rate_limit: rateLimit };
}

async function submit(event) {
  event.preventDefault();
  const box = $('key-form-message');
  const values = readForm();
  if (values.error) {
    message(box, values.error);
    if (values.field) $(values.field).focus();
    return;
  }
  if (editing) return save(editing, values);

  const days = Number($('key-expiry').value);
  if (!Number.isInteger(days) || days < 1 || days > 3650) {
    message(box, 'The expiry must be a whole number of days between 1 and 3650.');
    return $('key-expiry').focus();
  }
  message(box, '');
  if (!(await mayReplaceIssued())) return;
  const body = { service_name: values.service_name, expires_in_days: days, permissions: values.permissions };
  if (values.allowed_ips.length) body.allowed_ips = values.allowed_ips;
  if (values.rate_limit) body.rate_limit = values.rate_limit;
  await busy($('key-create'), async () => {
    try {
      const issued = await post('/auth/api-keys', body);
      $('key-form').reset();
      syncLimitInputs();
      showIssued(issued);
      await load();
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) return;
      message(box, refusalText(error));
    }
  });
}

/** The server's own words for a refusal (a 400 names the field and what is wrong with it). */
function refusalText(error) {
  if (error instanceof ApiError && error.status === 400) return `The server refused: ${error.message}`;
  return error.message;
}

// ---------------------------------------------------------------- editing

const sameList = (a, b) => a.length === b.length && a.every((item, i) => item === b[i]);
const sameSet = (a, b) => sameList([...new Set(a)].sort(), [...new Set(b)].sort());
const sameLimit = (a, b) => (a === null || b === null ? a === b : a.limit === b.limit && a.window_seconds === b.window_seconds);

function setFormMode(mode, key) {
  const form = $('key-form');
  form.dataset.mode = mode;
  const edit = mode === 'edit';
  $('key-form-title').textContent = edit ? `Edit ${key.service_name} (${key.key_prefix})` : 'Create a key';
  show($('key-expiry-label'), !edit);
  show($('key-expiry'), !edit);
  $('key-create').textContent = edit ? 'Save changes' : 'Create key';
  show($('key-edit-cancel'), edit);
}

function startEditing(key) {
  editing = key;
  setFormMode('edit', key);
  message($('key-form-message'), '');
  $('key-service').value = key.service_name;
  const held = new Set(key.permissions ?? []);
  for (const input of $('key-permissions').querySelectorAll('input[type=checkbox]')) input.checked = held.has(input.value);
  $('key-ips').value = (key.allowed_ips ?? []).join('\n');
  const limit = key.rate_limit;
  $('key-limit-none').checked = !limit;
  $('key-limit-on').checked = Boolean(limit);
  if (limit) {
    const unit = UNITS.find((u) => limit.window_seconds % u.seconds === 0) ?? UNITS[2];
    $('key-limit').value = String(limit.limit);
    $('key-window').value = String(limit.window_seconds / unit.seconds);
    $('key-window-unit').value = String(unit.seconds);
  } else {
    $('key-limit').value = '100';
    $('key-window').value = '1';
    $('key-window-unit').value = '60';
  }
  syncLimitInputs();
  $('key-form').scrollIntoView({ block: 'start' });
  $('key-service').focus();
}

function stopEditing({ focusRow = false } = {}) {
  const was = editing;
  editing = null;
  setFormMode('create');
  $('key-form').reset();
  syncLimitInputs();
  message($('key-form-message'), '');
  if (focusRow && was) focusRowButton(was.id, 'edit-key');
}

function focusRowButton(id, css) {
  const button = $('keys-body').querySelector(`tr.key-row[data-id="${CSS.escape(id)}"] button.${css}`);
  if (button) button.focus();
}

/** PATCH with only what changed. */
async function save(key, values) {
  const box = $('key-form-message');
  const changes = {};
  if (values.service_name !== key.service_name) changes.service_name = values.service_name;
  if (!sameSet(values.permissions, key.permissions ?? [])) changes.permissions = values.permissions;
  if (!sameList(values.allowed_ips, key.allowed_ips ?? [])) changes.allowed_ips = values.allowed_ips;
  if (!sameLimit(values.rate_limit, key.rate_limit ?? null)) changes.rate_limit = values.rate_limit;
  if (Object.keys(changes).length === 0) return message(box, 'Nothing to save: no field was changed.', 'info');
  message(box, '');
  await busy($('key-create'), async () => {
    try {
      const saved = await patch(`/auth/api-keys/${encodeURIComponent(key.id)}`, changes);
      session.flash(`Key ${saved?.key_prefix ?? key.key_prefix} updated.`, 'ok');
      stopEditing();
      await load();
      focusRowButton(key.id, 'edit-key');
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) return;
      message(box, refusalText(error));
    }
  });
}

// ---------------------------------------------------------------- the list

async function load() {
  const seq = ++loadSeq;
  try {
    const keys = await get('/auth/api-keys');
    if (seq !== loadSeq) return;
    render(Array.isArray(keys) ? keys : []);
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return;
    session.flash(`Could not load API keys: ${error.message}`);
  }
}

function render(keys) {
  const body = clear($('keys-body'));
  const sorted = [...keys].sort((a, b) => String(b.created_at).localeCompare(String(a.created_at)));
  const now = Date.now();
  for (const key of sorted) {
    const revoked = Boolean(key.revoked_at);
    const expired = !revoked && Date.parse(key.expires_at) <= now;
    const name = `${key.service_name} (${key.key_prefix})`;
    const actions = h('td', { class: 'actions' });
    const view = usageViewOf(key);

    const usageButton = h(
      'button',
      { type: 'button', class: ['small', 'ghost', 'usage-toggle'], 'aria-expanded': String(view.open), 'aria-controls': view.panelId },
      h('span', { text: 'Usage' }),
      h('span', { class: 'visually-hidden', text: ` of ${name}` }),
      h('span', { class: 'chevron', 'aria-hidden': 'true', text: view.open ? '▴' : '▾' }),
    );
    usageButton.addEventListener('click', () => toggleUsage(view));
    view.toggle = usageButton;
    if (!revoked) {
      const edit = h('button', { type: 'button', class: ['small', 'edit-key'], 'aria-label': `Edit ${name}` }, 'Edit');
      edit.addEventListener('click', () => startEditing(key));
      actions.append(edit);
      if (!expired) {
        const rotateButton = h('button', { type: 'button', class: ['small', 'warn', 'rotate-key'], 'aria-label': `Rotate ${name}` }, 'Rotate');
        rotateButton.addEventListener('click', () => void rotate(key, rotateButton));
        actions.append(rotateButton);
      }
      const button = h('button', { type: 'button', class: ['small', 'danger', 'revoke-key'], 'aria-label': `Revoke ${name}` }, 'Revoke');
      button.addEventListener('click', () => void revoke(key, button));
      actions.append(button);
    }
    const state = revoked
      ? [h('span', { class: ['pill', 'pill-bad'], text: 'revoked' }), h('span', { class: 'sub' }, time(key.revoked_at))]
      : expired
        ? h('span', { class: ['pill', 'pill-warn'], text: 'expired' })
        : h('span', { class: ['pill', 'pill-ok'], text: 'active' });
    const ranges = Array.isArray(key.allowed_ips) ? key.allowed_ips : [];
    const cells = [
      h(
        'td',
        { class: 'key-name' },
        h('span', { class: 'key-service', text: key.service_name }),
        h('code', { class: 'key-prefix', text: key.key_prefix }),
        h('span', { class: 'sub', text: key.created_by ? `by ${key.created_by}` : '' }),
      ),
      h('td', { class: 'perms' }, ...(key.permissions ?? []).map((p) => h('span', { class: 'tag', text: p }))),
      h(
        'td',
        { class: 'key-ips' },
        ranges.length ? ranges.map((range) => h('code', { class: ['tag', 'ip-range'], text: range })) : h('span', { class: 'muted', text: 'any address' }),
      ),
      h('td', { class: 'key-limit' }, key.rate_limit ? h('span', { text: limitText(key.rate_limit) }) : h('span', { class: 'muted', text: 'no limit' })),
      h('td', { class: 'dates' }, time(key.created_at), h('span', { class: 'sub' }, 'expires ', time(key.expires_at))),
      h(
        'td',
        { class: 'dates' },
        h('span', { class: 'last-used' }, key.last_used_at ? time(key.last_used_at) : h('span', { class: 'muted', text: 'never' })),
        usageButton,
      ),
      h('td', { class: 'key-state' }, state),
      actions,
    ];
    cells.forEach((cell, i) => (cell.dataset.label = COLUMNS[i]));
    cells.slice(0, -1).forEach(oneBlock);
    body.append(
      h('tr', { class: ['key-row', revoked && 'revoked', expired && 'expired'], dataset: { id: key.id, prefix: key.key_prefix } }, ...cells),
      view.panel,
    );
    renderUsage(view);
  }
  show($('keys-empty'), sorted.length === 0);
  // A key being edited that is gone or revoked cannot be saved any more.
  if (editing && !sorted.some((key) => key.id === editing.id && !key.revoked_at)) stopEditing();
}

/**
 * A cell's content as one block: on a phone the cell is a grid of its label and its content, and
 * each further child would otherwise fall under the label.
 */
function oneBlock(cell) {
  if (cell.childNodes.length > 1) cell.replaceChildren(h('div', { class: 'cell-body' }, ...cell.childNodes));
}

// ---------------------------------------------------------------- usage

function usageViewOf(key) {
  let view = usageViews.get(key.id);
  if (!view) {
    view = { id: key.id, open: false, days: 1, usage: null, error: null, seq: 0 };
    usageViews.set(key.id, view);
  }
  view.key = key;
  view.panelId = `key-usage-${key.id}`;
  view.panel = h('tr', { class: 'key-usage', id: view.panelId, dataset: { for: key.id } });
  view.panel.hidden = !view.open;
  return view;
}

function toggleUsage(view) {
  view.open = !view.open;
  view.toggle.setAttribute('aria-expanded', String(view.open));
  view.toggle.querySelector('.chevron').textContent = view.open ? '▴' : '▾';
  view.panel.hidden = !view.open;
  renderUsage(view);
  if (view.open) void loadUsage(view);
}

async function loadUsage(view) {
  const seq = ++view.seq;
  view.loading = true;
  renderUsage(view);
  try {
    const usage = await get(`/auth/api-keys/${encodeURIComponent(view.id)}/usage${query({ days: view.days })}`);
    if (seq !== view.seq) return;
    view.usage = { ...usage, days: view.days };
    view.error = null;
  } catch (error) {
    if (seq !== view.seq) return;
    if (error instanceof ApiError && error.status === 401) return;
    view.error = `Could not load the usage: ${error.message}`;
  }
  view.loading = false;
  renderUsage(view);
}

function renderUsage(view) {
  const cell = h('td', { colspan: '8', class: 'panel-cell' });
  clear(view.panel).append(cell);
  if (!view.open) return;
  const { key } = view;
  const periodId = `${view.panelId}-days`;
  const period = h(
    'select',
    { id: periodId, class: 'usage-days' },
    h('option', { value: '1', selected: view.days === 1, text: 'Last 24 hours' }),
    h('option', { value: '7', selected: view.days === 7, text: 'Last 7 days' }),
  );
  period.addEventListener('change', () => {
    view.days = Number(period.value);
    void loadUsage(view);
  });
  const refresh = h('button', { type: 'button', class: ['small', 'ghost', 'usage-refresh'] }, 'Refresh');
  refresh.addEventListener('click', () => void loadUsage(view));
  if (view.loading) refresh.disabled = true;

  const usage = view.usage;
  cell.append(
    h(
      'div',
      { class: 'usage-head' },
      h('h3', {}, 'Usage of ', h('span', { class: 'usage-name', text: key.service_name }), ' ', h('code', { text: key.key_prefix })),
      h('div', { class: 'usage-controls' }, h('label', { for: periodId, text: 'Period' }), period, refresh),
    ),
    h(
      'dl',
      { class: 'facts usage-facts' },
      h('dt', { text: 'Last used' }),
      h('dd', { class: 'usage-last-used' }, usage?.last_used_at ? time(usage.last_used_at) : h('span', { class: 'muted', text: usage ? 'never' : '…' })),
      h('dt', { text: 'Last IP' }),
      h('dd', { class: 'usage-last-ip' }, usage?.last_ip ? h('code', { text: usage.last_ip }) : h('span', { class: 'muted', text: usage ? 'none' : '…' })),
    ),
  );
  if (view.error) cell.append(h('p', { class: ['message', 'error'], text: view.error }));
  if (usage) cell.append(usageChart(usage, usage.days).element);
  else if (view.loading) cell.append(h('p', { class: 'muted', text: `Loading the usage of ${periodText(view.days)}…` }));
  cell.firstChild.classList.toggle('loading', Boolean(view.loading));
}

// ---------------------------------------------------------------- a new secret, shown once

function showIssued(issued, { rotated = false, grace = 0 } = {}) {
  $('key-issued-kind').textContent = rotated ? 'New secret for' : 'New key for';
  $('key-issued-service').textContent = `${issued.service_name} (${issued.key_prefix})`;
  $('key-issued-value').textContent = issued.api_key;
  $('key-copy-state').textContent = '';
  const note = clear($('key-issued-note'));
  if (rotated) {
    if (grace > 0)
      note.append(
        'The previous secret keeps working until ',
        time(new Date(Date.now() + grace * 1000).toISOString()),
        ` (${GRACE_WORDS[grace] ?? `${grace} s`}), then never again.`,
      );
    else note.append('The previous secret no longer works.');
  }
  show(note, rotated);
  show($('key-issued'), true);
  $('key-issued').scrollIntoView({ block: 'nearest' });
  $('key-copy').focus();
}

/**
 * A secret still on screen is replaced by a new one only when the admin says so: it cannot be
 * shown again, so replacing it silently could lose it.
 */
async function mayReplaceIssued() {
  if ($('key-issued').hidden || !$('key-issued-value').textContent) return true;
  const shown = $('key-issued-service').textContent;
  return confirmAction(
    `The secret of ${shown} is still shown and cannot be displayed again. Have you stored it? Continuing replaces it on screen with the new secret.`,
    'I have stored it — continue',
  );
}

function hideIssued() {
  $('key-issued-value').textContent = '';
  $('key-issued-service').textContent = '';
  $('key-copy-state').textContent = '';
  clear($('key-issued-note'));
  show($('key-issued'), false);
}

async function copyKey() {
  const value = $('key-issued-value').textContent;
  const state = $('key-copy-state');
  try {
    await navigator.clipboard.writeText(value);
    state.textContent = 'Copied to the clipboard.';
  } catch {
    // No clipboard API (not a secure context): select the text so Ctrl+C copies it.
    const range = document.createRange();
    range.selectNodeContents($('key-issued-value'));
    const selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
    state.textContent = 'The key is selected: press Ctrl+C (⌘C) to copy it.';
  }
}

// ---------------------------------------------------------------- rotate, revoke

/** The grace period chosen in the rotate dialog, in seconds, or null when the number is not valid. */
function chosenGrace() {
  const choice = document.querySelector('#rotate-form input[name="grace"]:checked')?.value ?? '0';
  if (choice !== 'custom') return Number(choice);
  const seconds = Number($('grace-seconds').value);
  return Number.isInteger(seconds) && seconds >= 0 && seconds <= MAX_WINDOW_SECONDS ? seconds : null;
}

function askGrace(key) {
  const dialog = $('rotate-dialog');
  $('rotate-text').textContent = `Rotate the key ${key.key_prefix} of “${key.service_name}”? It gets a new secret, shown once; every client must switch to it.`;
  $('grace-0').checked = true;
  syncGraceInput();
  return new Promise((resolve) => {
    dialog.addEventListener('close', () => resolve(dialog.returnValue === 'ok' ? chosenGrace() : null), { once: true });
    dialog.returnValue = '';
    dialog.showModal();
  });
}

async function rotate(key, button) {
  if (!(await mayReplaceIssued())) return button.focus();
  const grace = await askGrace(key);
  if (grace === null) return button.focus();
  await busy(button, async () => {
    try {
      const issued = await post(`/auth/api-keys/${encodeURIComponent(key.id)}/rotate`, { grace_period_seconds: grace });
      showIssued(issued, { rotated: true, grace });
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) return;
      session.flash(`Could not rotate the key: ${error.message}`);
    }
  });
  await load();
}

async function revoke(key, button) {
  const ok = await confirmAction(
    `Revoke the key ${key.key_prefix} of “${key.service_name}”? Every client using it stops working at once. This cannot be undone.`,
    'Revoke key',
  );
  if (!ok) return;
  await busy(button, async () => {
    try {
      await del(`/auth/api-keys/${encodeURIComponent(key.id)}`);
      session.flash(`Key ${key.key_prefix} revoked.`, 'ok');
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) return;
      session.flash(`Could not revoke the key: ${error.message}`);
    }
    await load();
  });
}
