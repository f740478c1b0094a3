// API keys (users:manage): create (the key is shown once), list, revoke.
import { ApiError, del, get, post } from './api.js';
import { $, busy, clear, confirmAction, h, message, show, time } from './dom.js';

// Keys act as api_service: only its permissions can be given to a key.
const KEY_PERMISSIONS = ['alerts:read', 'alerts:write'];
const DEFAULT_CHECKED = new Set(['alerts:read', 'alerts:write']);
let session = null;

export function init(current) {
  session = current;
  $('key-form').addEventListener('submit', (event) => void create(event));
  $('key-copy').addEventListener('click', () => void copyKey());
  $('key-issued-dismiss').addEventListener('click', hideIssued);
}

export function enter(current) {
  session = current;
  renderPermissionChoices();
  void load();
}

export function reset() {
  hideIssued();
  clear($('keys-body'));
  clear($('key-permissions'));
  $('key-form').reset();
  message($('key-form-message'), '');
}

function renderPermissionChoices() {
  const box = $('key-permissions');
  if (box.dataset.for === session.me.sub && box.children.length) return;
  box.dataset.for = session.me.sub;
  clear(box);
  // Only permissions the signed-in person holds: the server refuses any other.
  for (const permission of KEY_PERMISSIONS.filter((p) => session.can(p))) {
    const id = `key-perm-${permission.replace(':', '-')}`;
    box.append(
      h('label', { class: 'check', for: id },
        h('input', { type: 'checkbox', id, name: 'permissions', value: permission, checked: DEFAULT_CHECKED.has(permission) }),
        h('span', { text: permission })),
    );
  }
}

async function load() {
  try {
    render(await get('/auth/api-keys'));
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
    const actions = h('td', { class: 'actions' });
    if (!revoked) {
      const button = h('button', { type: 'button', class: ['small', 'danger', 'revoke-key'] }, 'Revoke');
      button.addEventListener('click', () => void revoke(key, button));
      actions.append(button);
    }
    const state = revoked
      ? h('span', { class: ['pill', 'pill-bad'] }, 'revoked ', time(key.revoked_at))
      : expired
        ? h('span', { class: ['pill', 'pill-warn'], text: 'expired' })
        : h('span', { class: ['pill', 'pill-ok'], text: 'active' });
    body.append(
      h('tr', { class: ['key-row', revoked && 'revoked', expired && 'expired'], dataset: { id: key.id, prefix: key.key_prefix } },
        h('td', { text: key.service_name }, h('span', { class: 'sub', text: key.created_by ? `by ${key.created_by}` : '' })),
        h('td', {}, h('code', { text: key.key_prefix })),
        h('td', { class: 'perms' }, ...(key.permissions ?? []).map((p) => h('span', { class: 'tag', text: p }))),
        h('td', {}, time(key.created_at)),
        h('td', {}, time(key.expires_at)),
        h('td', {}, key.last_used_at ? time(key.last_used_at) : h('span', { class: 'muted', text: 'never' })),
        h('td', {}, state),
        actions,
      ),
    );
  }
  show($('keys-empty'), sorted.length === 0);
}

async function create(event) {
  event.preventDefault();
  const box = $('key-form-message');
  const serviceName = $('key-service').value.trim();
  const days = Number($('key-expiry').value);
  const permissions = [...$('key-permissions').querySelectorAll('input[type=checkbox]:checked')].map((input) => input.value);
  if (!serviceName) return message(box, 'Enter a service name.');
  if (!Number.isInteger(days) || days < 1 || days > 3650) return message(box, 'The expiry must be a whole number of days between 1 and 3650.');
  if (permissions.length === 0) return message(box, 'Choose at least one permission.');
  message(box, '');
  await busy($('key-create'), async () => {
    try {
      const issued = await post('/auth/api-keys', { service_name: serviceName, expires_in_days: days, permissions });
      showIssued(issued);
      $('key-service').value = '';
      await load();
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) return;
      message(box, error.message);
    }
  });
}

function showIssued(issued) {
  $('key-issued-service').textContent = `${issued.service_name} (${issued.key_prefix})`;
  $('key-issued-value').textContent = issued.api_key;
  $('key-copy-state').textContent = '';
  show($('key-issued'), true);
  $('key-issued').scrollIntoView({ block: 'nearest' });
}

function hideIssued() {
  $('key-issued-value').textContent = '';
  $('key-issued-service').textContent = '';
  $('key-copy-state').textContent = '';
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

async function revoke(key, button) {
  const ok = await confirmAction(`Revoke the key ${key.key_prefix} of “${key.service_name}”? Every client using it stops working at once. This cannot be undone.`, 'Revoke key');
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
