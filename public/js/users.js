// Users (users:manage): list, create, change role, disable/enable, delete, reset another user's
// password, see who is locked out by failed sign-ins and unlock them; see and end a user's sessions.
import { ApiError, del, get, patch, post } from './api.js';
import { $, busy, clear, confirmAction, h, message, time } from './dom.js';
import { deviceCell, failure, ipCell, lastSeenCell, methodsCell, whenCell } from './sessions.js';

const ROLES = ['admin', 'analyst', 'operator', 'viewer'];
const COLUMNS = ['Username', 'Role', 'State', 'Created', 'Sessions', 'Actions'];
/** Keys that move through a closed <select>'s options (Chromium fires change for each at once). */
const BROWSE_KEYS = new Set(['ArrowUp', 'ArrowDown', 'ArrowLeft', 'ArrowRight', 'Home', 'End', 'PageUp', 'PageDown']);
/** A change this soon after a browsing key came from the keyboard: it waits for Enter or "Change". */
const KEYED_MS = 1000;
const SESSION_FETCHES = 4; // at most this many session lists requested at once
let session = null;
let loadSeq = 0;
/** Users whose session list is open: it stays open when the table is drawn again. */
const expanded = new Set();
/** user id → the row's session widgets (button, panel) and the last list fetched. */
const sessionViews = new Map();
/** The user whose password the dialog resets, and the button that opened it. */
let resetting = null;

export function init(current) {
  session = current;
  const select = $('user-role');
  for (const role of ROLES) select.append(h('option', { value: role, selected: role === 'analyst', text: role }));
  $('user-form').addEventListener('submit', (event) => void create(event));
  $('user-password-form').addEventListener('submit', (event) => {
    event.preventDefault();
    void submitPassword();
  });
  $('user-password-cancel').addEventListener('click', () => $('user-password-dialog').close('cancel'));
  $('user-password-dialog').addEventListener('close', () => {
    $('user-new-password').value = '';
    $('user-new-password-repeat').value = '';
    const opener = resetting?.button;
    resetting = null;
    if (opener?.isConnected) opener.focus();
  });
}

export function enter(current) {
  session = current;
  void load();
}

export function reset() {
  loadSeq += 1;
  expanded.clear();
  sessionViews.clear();
  clear($('users-body'));
  $('user-form').reset();
  message($('user-form-message'), '');
  if ($('user-password-dialog').open) $('user-password-dialog').close('cancel');
}

async function load() {
  const seq = ++loadSeq;
  try {
    const users = await get('/users');
    if (seq !== loadSeq) return;
    render(users);
    void loadSessionCounts(seq);
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return;
    session.flash(`Could not load users: ${error.message}`);
  }
}

function render(users) {
  const body = clear($('users-body'));
  sessionViews.clear();
  const sorted = [...users].sort((a, b) => String(a.username).localeCompare(String(b.username)));
  for (const user of sorted) {
    const self = user.username === session.me?.sub;
    const roleSelect = h('select', { class: 'role-select', 'aria-label': `role of ${user.username}`, disabled: self });
    const roles = ROLES.includes(user.role) ? ROLES : [...ROLES, user.role];
    for (const role of roles) roleSelect.append(h('option', { value: role, selected: role === user.role, text: role }));
    const applyRole = h('button', { type: 'button', class: ['small', 'role-apply'], hidden: true }, 'Change');
    wireRoleSelect(user, roleSelect, applyRole);

    const locked = isLocked(user);
    const actions = h('td', { class: 'actions' });
    if (locked) {
      const unlockButton = h('button', { type: 'button', class: ['small', 'unlock-user'], 'aria-label': `Unlock ${user.username}` }, 'Unlock');
      unlockButton.addEventListener('click', () => void unlock(user, unlockButton));
      actions.append(unlockButton);
    }
    const resetButton = h(
      'button',
      { type: 'button', class: ['small', 'reset-password'], disabled: self, 'aria-label': `Reset password of ${user.username}` },
      'Reset password',
    );
    resetButton.addEventListener('click', () => openPasswordDialog(user, resetButton));
    const toggle = h(
      'button',
      {
        type: 'button',
        class: ['small', user.disabled ? '' : 'warn'],
        disabled: self,
        'aria-label': `${user.disabled ? 'Enable' : 'Disable'} ${user.username}`,
      },
      user.disabled ? 'Enable' : 'Disable',
    );
    toggle.addEventListener('click', () => void setDisabled(user, !user.disabled, toggle));
    const remove = h('button', { type: 'button', class: ['small', 'danger'], disabled: self, 'aria-label': `Delete ${user.username}` }, 'Delete');
    remove.addEventListener('click', () => void removeUser(user, remove));
    actions.append(resetButton, toggle, remove);
    if (self) actions.title = 'You cannot change your own account here';

    const panelId = `user-sessions-${user.id}`;
    const open = expanded.has(user.id);
    const sessionsButton = h(
      'button',
      {
        type: 'button',
        class: ['small', 'ghost', 'sessions-toggle'],
        'aria-expanded': String(open),
        'aria-controls': panelId,
      },
      h('span', { class: 'sessions-count', text: 'Sessions' }),
      h('span', { class: 'visually-hidden', text: ` of ${user.username}` }),
      h('span', { class: 'chevron', 'aria-hidden': 'true', text: open ? '▴' : '▾' }),
    );
    const panel = h('tr', { class: 'user-sessions', id: panelId, dataset: { for: user.username } });
    panel.hidden = !open;
    const view = { user, self, toggle: sessionsButton, panel, sessions: null, error: null };
    sessionViews.set(user.id, view);
    sessionsButton.addEventListener('click', () => toggleSessions(view));
    renderSessions(view);

    body.append(
      h(
        'tr',
        { class: ['user-row', user.disabled && 'disabled'], dataset: { id: user.id, username: user.username } },
        ...labelled([
          h('td', { text: user.username }, self ? h('span', { class: 'sub', text: 'you' }) : null),
          h('td', { class: 'role-cell' }, roleSelect, applyRole),
          h(
            'td',
            {},
            h(
              'div',
              { class: 'user-state' },
              h('span', { class: ['pill', user.disabled ? 'pill-bad' : 'pill-ok'], text: user.disabled ? 'disabled' : 'active' }),
              locked ? h('span', { class: ['pill', 'pill-warn', 'lock-badge'] }, 'Locked until ', time(user.locked_until)) : null,
            ),
          ),
          h('td', {}, time(user.created_at)),
          h('td', { class: 'sessions-cell' }, sessionsButton),
          actions,
        ]),
      ),
      panel,
    );
  }
}

/** Each cell labelled by its column, which the narrow layout shows in place of the header. */
function labelled(cells) {
  cells.forEach((cell, i) => {
    cell.dataset.label = COLUMNS[i];
    // One block of content per cell: on a phone a further child would fall under the label.
    if (cell !== cells[cells.length - 1] && cell.childNodes.length > 1) cell.replaceChildren(h('div', { class: 'cell-body' }, ...cell.childNodes));
  });
  return cells;
}

function isLocked(user) {
  return Boolean(user.locked_until) && Date.parse(user.locked_until) > Date.now();
}

/**
 * A role is changed by choosing it with the mouse (or a touch), which asks at once, or from the
 * keyboard: arrows only browse the roles, then Enter or the "Change" button asks; Escape goes back.
 */
function wireRoleSelect(user, select, apply) {
  let keyedAt = -Infinity;
  const sync = () => {
    const pending = select.value !== user.role;
    apply.hidden = !pending;
    apply.setAttribute('aria-label', `Change the role of ${user.username} to ${select.value}`);
  };
  select.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && select.value !== user.role) {
      event.preventDefault();
      void changeRole(user, select, apply);
    } else if (event.key === 'Escape' && select.value !== user.role) {
      select.value = user.role;
      sync();
    } else if (BROWSE_KEYS.has(event.key) || (event.key.length === 1 && !event.ctrlKey && !event.metaKey && !event.altKey)) {
      keyedAt = performance.now();
    }
  });
  select.addEventListener('change', () => {
    sync();
    if (performance.now() - keyedAt < KEYED_MS) return;
    if (select.value !== user.role) void changeRole(user, select, apply);
  });
  apply.addEventListener('click', () => void changeRole(user, select, apply));
}

// ---------------------------------------------------------------- a user's sessions

/** Fetch every listed user's sessions, a few at a time, to show the counts. */
async function loadSessionCounts(seq) {
  const queue = [...sessionViews.values()];
  const worker = async () => {
    while (queue.length && seq === loadSeq) await loadSessions(queue.shift(), seq);
  };
  await Promise.all(Array.from({ length: SESSION_FETCHES }, worker));
}

async function loadSessions(view, seq = loadSeq) {
  try {
    const sessions = await get(`/users/${encodeURIComponent(view.user.id)}/sessions`);
    if (seq !== loadSeq) return;
    view.sessions = Array.isArray(sessions) ? sessions : [];
    view.error = null;
  } catch (error) {
    if (seq !== loadSeq) return;
    if (error instanceof ApiError && error.status === 401) return;
    view.error = `Could not load the sessions of ${view.user.username}: ${failure(error)}`;
  }
  renderSessions(view);
}

function toggleSessions(view) {
  const open = !expanded.has(view.user.id);
  if (open) expanded.add(view.user.id);
  else expanded.delete(view.user.id);
  view.toggle.setAttribute('aria-expanded', String(open));
  view.toggle.querySelector('.chevron').textContent = open ? '▴' : '▾';
  view.panel.hidden = !open;
  renderSessions(view);
  // Opening shows the list as it is now, not as it was when the page loaded.
  if (open) void loadSessions(view);
}

function countText(sessions) {
  if (!sessions) return 'Sessions';
  if (sessions.length === 0) return '0 sessions';
  return `${sessions.length} session${sessions.length === 1 ? '' : 's'}`;
}

function renderSessions(view) {
  const { user, self, panel, sessions } = view;
  view.toggle.querySelector('.sessions-count').textContent = view.error && !sessions ? 'Sessions (?)' : countText(sessions);
  // A closed list holds nothing (its text would otherwise be part of the table's text).
  if (!expanded.has(user.id)) {
    panel.replaceChildren();
    return;
  }
  const cell = h('td', { colspan: '6', class: 'panel-cell' });
  panel.replaceChildren(cell);
  const box = h('div', { class: 'user-sessions-box' });
  cell.append(box);
  const head = h('div', { class: 'user-sessions-head' }, h('h3', { text: `Sessions of ${user.username}` }));
  box.append(head);
  if (view.error) box.append(h('p', { class: ['message', 'error'], role: 'alert', text: view.error }));
  if (!sessions) {
    if (!view.error) box.append(h('p', { class: 'muted', text: 'Loading…' }));
    return;
  }
  if (self) {
    head.append(h('a', { href: '#/sessions', class: 'small-link', text: 'These include this browser: manage them on your Sessions page' }));
  } else {
    const endAll = h('button', {
      type: 'button',
      class: ['small', 'danger', 'end-user-sessions'],
      'aria-label': `End all sessions of ${user.username}`,
      disabled: sessions.length === 0,
      text: 'End all sessions',
    });
    endAll.addEventListener('click', () => void endAllSessions(view, endAll));
    head.append(endAll);
  }
  if (sessions.length === 0) {
    box.append(h('p', { class: 'muted', text: `${user.username} is not signed in anywhere.` }));
    return;
  }
  const now = Date.now();
  const rows = sessions.map((item) => {
    const current = self && Boolean(item.current);
    return h(
      'tr',
      { class: ['session-row', current && 'current'], dataset: { id: String(item.id) } },
      deviceCell(item, { current }),
      ipCell(item),
      methodsCell(item),
      whenCell(item.created_at, now),
      lastSeenCell(item, { current, now }),
      whenCell(item.expires_at, now),
    );
  });
  box.append(
    h(
      'table',
      { class: ['grid', 'nested'] },
      h('caption', { class: 'visually-hidden', text: `Sessions of ${user.username}, newest first` }),
      h(
        'thead',
        {},
        h('tr', {}, ...['Device', 'IP address', 'Signed in with', 'Signed in', 'Last seen', 'Expires'].map((name) => h('th', { scope: 'col', text: name }))),
      ),
      h('tbody', {}, ...rows),
    ),
  );
}

async function endAllSessions(view, button) {
  const { user } = view;
  const count = view.sessions?.length ?? 0;
  const ok = await confirmAction(
    `End all ${count === 1 ? 'the one session' : `${count} sessions`} of ${user.username}? They are signed out everywhere at once and have to sign in again.`,
    'End all sessions',
  );
  if (!ok) return;
  await busy(button, async () => {
    try {
      await del(`/users/${encodeURIComponent(user.id)}/sessions`);
      session.flash(`${user.username} is signed out everywhere.`, 'ok');
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) return;
      if (error instanceof ApiError && error.status === 404) session.flash(`${user.username} no longer exists.`);
      else session.flash(`Could not end the sessions of ${user.username}: ${failure(error)}`);
    }
  });
  if (!session.me) return;
  await loadSessions(view);
  // The list (and the button) were drawn again: keep the keyboard near where it was.
  if (view.toggle.isConnected) view.toggle.focus();
}

async function create(event) {
  event.preventDefault();
  const box = $('user-form-message');
  const username = $('user-username').value.trim();
  const password = $('user-password').value;
  const role = $('user-role').value;
  if (!username) return message(box, 'Enter a username.');
  if (password.length < 12) return message(box, 'The password must have at least 12 characters.');
  message(box, '');
  await busy($('user-create'), async () => {
    try {
      const user = await post('/users', { username, password, role });
      $('user-form').reset();
      $('user-role').value = 'analyst';
      message(box, `User ${user.username} created.`, 'ok');
      await load();
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) return;
      message(box, error.status === 409 ? 'A user with this username already exists.' : error.message);
    }
  });
}

async function changeRole(user, select, apply) {
  const role = select.value;
  if (role === user.role) return;
  const ok = await confirmAction(`Change the role of ${user.username} from ${user.role} to ${role}? Their current sessions end.`, 'Change role');
  if (!ok) {
    select.value = user.role;
    apply.hidden = true;
    select.focus();
    return;
  }
  await update(user, { role }, select);
}

// ---------------------------------------------------------------- lockout, password reset

/** DELETE /users/{id}/lockout: the user's failed sign-ins are forgotten, so they can sign in at once. */
async function unlock(user, button) {
  await busy(button, async () => {
    try {
      await del(`/users/${encodeURIComponent(user.id)}/lockout`);
      session.flash(`${user.username} is unlocked and can sign in again.`, 'ok');
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) return;
      if (error instanceof ApiError && error.status === 404) session.flash(`${user.username} no longer exists.`);
      else session.flash(`Could not unlock ${user.username}: ${error.message}`);
    }
  });
  await load();
  focusRow(user.id, 'button.reset-password');
}

function focusRow(id, selector) {
  const target = $('users-body').querySelector(`tr.user-row[data-id="${CSS.escape(id)}"] ${selector}`);
  if (target && !target.disabled) target.focus();
}

function openPasswordDialog(user, button) {
  resetting = { user, button };
  $('user-password-title').textContent = `Reset the password of ${user.username}`;
  $('user-password-text').textContent =
    `${user.username} signs in with the new password from now on; their sessions end at once. Tell them the password by a safe channel.`;
  $('user-new-password').value = '';
  $('user-new-password-repeat').value = '';
  message($('user-password-message'), '');
  $('user-password-dialog').showModal();
  $('user-new-password').focus();
}

/** PATCH /users/{id} { password }; a user of single sign-on has no password (409, said in the dialog). */
async function submitPassword() {
  if (!resetting) return;
  const { user } = resetting;
  const box = $('user-password-message');
  const password = $('user-new-password').value;
  if (password.length < 12) {
    message(box, 'The password must have at least 12 characters.');
    return $('user-new-password').focus();
  }
  if (password !== $('user-new-password-repeat').value) {
    message(box, 'The two passwords differ.');
    return $('user-new-password-repeat').focus();
  }
  message(box, '');
  await busy($('user-password-ok'), async () => {
    try {
      await patch(`/users/${encodeURIComponent(user.id)}`, { password });
      $('user-password-dialog').close('ok');
      session.flash(`The password of ${user.username} was replaced; their sessions ended.`, 'ok');
      await load();
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) return;
      if (error instanceof ApiError && error.status === 409) message(box, `Not possible: ${error.message}.`);
      else if (error instanceof ApiError && error.status === 404) message(box, `${user.username} no longer exists.`);
      else message(box, `Could not set the password: ${error.message}`);
    }
  });
}

async function setDisabled(user, disabled, button) {
  if (disabled) {
    const ok = await confirmAction(`Disable ${user.username}? They are signed out everywhere and cannot sign in until enabled.`, 'Disable');
    if (!ok) return;
  }
  await update(user, { disabled }, button);
}

async function update(user, changes, control) {
  await busy(control, async () => {
    try {
      await patch(`/users/${encodeURIComponent(user.id)}`, changes);
      session.flash(`${user.username} updated.`, 'ok');
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) return;
      session.flash(`Could not update ${user.username}: ${error.message}`);
    }
  });
  await load();
}

async function removeUser(user, button) {
  const ok = await confirmAction(`Delete ${user.username}? This cannot be undone.`, 'Delete user');
  if (!ok) return;
  await busy(button, async () => {
    try {
      await del(`/users/${encodeURIComponent(user.id)}`);
      session.flash(`${user.username} deleted.`, 'ok');
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) return;
      session.flash(`Could not delete ${user.username}: ${error.message}`);
    }
  });
  await load();
}
