// Users (users:manage): list, create, change role, disable/enable, delete.
import { ApiError, del, get, patch, post } from './api.js';
import { $, busy, clear, confirmAction, h, message, time } from './dom.js';

const ROLES = ['admin', 'analyst', 'operator', 'viewer'];
let session = null;

export function init(current) {
  session = current;
  const select = $('user-role');
  for (const role of ROLES) select.append(h('option', { value: role, selected: role === 'analyst', text: role }));
  $('user-form').addEventListener('submit', (event) => void create(event));
}

export function enter(current) {
  session = current;
  void load();
}

export function reset() {
  clear($('users-body'));
  $('user-form').reset();
  message($('user-form-message'), '');
}

async function load() {
  try {
    render(await get('/users'));
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return;
    session.flash(`Could not load users: ${error.message}`);
  }
}

function render(users) {
  const body = clear($('users-body'));
  const sorted = [...users].sort((a, b) => String(a.username).localeCompare(String(b.username)));
  for (const user of sorted) {
    const self = user.username === session.me?.sub;
    const roleSelect = h('select', { class: 'role-select', 'aria-label': `role of ${user.username}`, disabled: self });
    const roles = ROLES.includes(user.role) ? ROLES : [...ROLES, user.role];
    for (const role of roles) roleSelect.append(h('option', { value: role, selected: role === user.role, text: role }));
    roleSelect.addEventListener('change', () => void changeRole(user, roleSelect));

    const actions = h('td', { class: 'actions' });
    const toggle = h('button', { type: 'button', class: ['small', user.disabled ? '' : 'warn'], disabled: self }, user.disabled ? 'Enable' : 'Disable');
    toggle.addEventListener('click', () => void setDisabled(user, !user.disabled, toggle));
    const remove = h('button', { type: 'button', class: ['small', 'danger'], disabled: self }, 'Delete');
    remove.addEventListener('click', () => void removeUser(user, remove));
    actions.append(toggle, remove);
    if (self) actions.title = 'You cannot change your own account here';

    body.append(
      h('tr', { class: ['user-row', user.disabled && 'disabled'], dataset: { id: user.id, username: user.username } },
        h('td', { text: user.username }, self ? h('span', { class: 'sub', text: 'you' }) : null),
        h('td', {}, roleSelect),
        h('td', {}, h('span', { class: ['pill', user.disabled ? 'pill-bad' : 'pill-ok'], text: user.disabled ? 'disabled' : 'active' })),
        h('td', {}, time(user.created_at)),
        actions,
      ),
    );
  }
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

async function changeRole(user, select) {
  const role = select.value;
  const ok = await confirmAction(`Change the role of ${user.username} from ${user.role} to ${role}? Their current sessions end.`, 'Change role');
  if (!ok) {
    select.value = user.role;
    return;
  }
  await update(user, { role }, select);
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
