// Sessions (everyone signed in): where I am signed in; sign out one session or every other one.
// Also the cells the users page uses to show another user's sessions.
import { ApiError, del, get } from './api.js';
import { $, clear, confirmAction, h, message, show, time } from './dom.js';
import { describeAgent, describeMethods, relative, sessionLabel } from './sessions-format.js';

const TICK_MS = 30_000;

let session = null;
let list = [];
let working = false;
let loadSeq = 0;
let tickTimer = null;
/** The message line shows a failed load (cleared by the next good load), not an action's outcome. */
let loadFailed = false;

export function init(current) {
  session = current;
  $('sessions-end-others').addEventListener('click', () => void endOthers());
  $('sessions-refresh').addEventListener('click', () => void load());
}

export function enter(current) {
  session = current;
  clearInterval(tickTimer);
  // "3 min ago" stays true while the page is open.
  tickTimer = setInterval(() => {
    if (!working) render();
  }, TICK_MS);
  void load();
}

export function leave() {
  clearInterval(tickTimer);
  tickTimer = null;
}

export function reset() {
  leave();
  loadSeq += 1;
  list = [];
  working = false;
  loadFailed = false;
  clear($('sessions-body'));
  show($('sessions-empty'), false);
  $('sessions-summary').textContent = '';
  message($('sessions-message'), '');
}

// ---------------------------------------------------------------- cells shared with the users page

/** The device a session signed in from; the raw user agent (as text) in the tooltip. */
export function deviceCell(item, { current = false } = {}) {
  const name = h('span', { class: 'device-name', text: describeAgent(item.user_agent) });
  if (item.user_agent) name.title = String(item.user_agent);
  return h('td', { class: 'device' }, name, current ? h('span', { class: ['pill', 'pill-current'], text: 'This device' }) : null);
}

export function ipCell(item) {
  return h('td', {}, item.ip ? h('code', { class: 'ip', text: item.ip }) : h('span', { class: 'muted', text: 'unknown' }));
}

export function methodsCell(item) {
  const names = describeMethods(item.auth_methods);
  if (names.length === 0) return h('td', {}, h('span', { class: 'muted', text: '—' }));
  return h('td', { class: 'methods' }, ...names.map((name) => h('span', { class: 'tag', text: name })));
}

/** A relative time ("3 min ago", "in 11 h") with the exact time in its tooltip and datetime. */
export function relativeTime(iso, now = Date.now()) {
  const date = new Date(iso ?? '');
  if (Number.isNaN(date.getTime())) return h('span', { class: 'muted', text: '—' });
  return h('time', { datetime: date.toISOString(), title: date.toISOString(), text: relative(iso, now) });
}

/** The exact time with the relative one under it. */
export function whenCell(iso, now = Date.now()) {
  return h('td', { class: 'when' }, time(iso), iso ? h('span', { class: 'sub', text: relative(iso, now) }) : null);
}

export function lastSeenCell(item, { current = false, now = Date.now() } = {}) {
  if (current) return h('td', { class: 'when' }, h('span', { class: 'active-now', text: 'active now' }));
  return h('td', { class: 'when' }, relativeTime(item.last_seen_at, now));
}

/** Labels for buttons: "Chrome on Linux, 203.0.113.9", made unique when two sessions look alike. */
export function uniqueLabels(items) {
  const labels = items.map(sessionLabel);
  const counts = new Map();
  for (const label of labels) counts.set(label, (counts.get(label) ?? 0) + 1);
  return labels.map((label, i) => {
    if (counts.get(label) === 1) return label;
    const signedIn = time(items[i].created_at).textContent;
    return `${label}, signed in ${signedIn}`;
  });
}

/** Words for a refused request, for the session pages. */
export function failure(error) {
  const code = error instanceof ApiError ? error.body?.error : undefined;
  if (code === 'step_up_required') return 'This needs a recent check of your second factor. Verify it and try again.';
  if (error instanceof ApiError && error.status === 0) return 'The server could not be reached. Check the connection and try again.';
  return error.message;
}

// ---------------------------------------------------------------- my sessions

async function load() {
  const seq = ++loadSeq;
  const refresh = $('sessions-refresh');
  refresh.disabled = true;
  try {
    const sessions = await get('/auth/sessions');
    if (seq !== loadSeq || !session?.me) return;
    list = Array.isArray(sessions) ? sessions : [];
    if (loadFailed) message($('sessions-message'), '');
    loadFailed = false;
    render();
  } catch (error) {
    if (seq !== loadSeq) return;
    if (error instanceof ApiError && error.status === 401) return;
    loadFailed = true;
    message($('sessions-message'), `Could not load your sessions: ${failure(error)}`);
  } finally {
    if (seq === loadSeq) refresh.disabled = working;
  }
}

function render() {
  const body = clear($('sessions-body'));
  const now = Date.now();
  // This device first, then the others newest first (the order the server gives).
  const sorted = [...list.filter((s) => s.current), ...list.filter((s) => !s.current)];
  const labels = uniqueLabels(sorted);
  sorted.forEach((item, i) => {
    const current = Boolean(item.current);
    const button = h('button', {
      type: 'button',
      class: ['small', current ? 'warn' : 'danger', 'end-session'],
      'aria-label': current ? `Sign out this device, ${labels[i]}` : `Sign out ${labels[i]}`,
      disabled: working,
      text: 'Sign out',
    });
    button.addEventListener('click', () => void endOne(item, labels[i]));
    body.append(
      h(
        'tr',
        { class: ['session-row', current && 'current'], dataset: { id: String(item.id), current: String(current) } },
        deviceCell(item, { current }),
        ipCell(item),
        methodsCell(item),
        whenCell(item.created_at, now),
        lastSeenCell(item, { current, now }),
        whenCell(item.expires_at, now),
        h('td', { class: 'actions' }, button),
      ),
    );
  });
  const others = sorted.filter((s) => !s.current).length;
  show($('sessions-empty'), sorted.length === 0);
  const here = sorted.length - others;
  const plural = (n, word) => `${n} ${word}${n === 1 ? '' : 's'}`;
  $('sessions-summary').textContent =
    sorted.length === 0
      ? ''
      : here === 0
        ? `You are signed in with ${plural(others, 'session')}.`
        : others === 0
          ? 'You are signed in on this device only.'
          : `You are signed in on this device and ${plural(others, 'other')}.`;
  $('sessions-end-others').disabled = working || others === 0;
  $('sessions-refresh').disabled = working;
}

/** Disables every button on the page while a request runs. */
async function run(action) {
  if (working) return;
  working = true;
  for (const button of $('view-sessions').querySelectorAll('button')) button.disabled = true;
  try {
    await action();
  } finally {
    working = false;
    if (session?.me) {
      render();
      // The row and its button are gone: the keyboard goes to the line that says what is left.
      $('sessions-summary').focus();
    }
  }
}

async function endOne(item, label) {
  const box = $('sessions-message');
  await run(async () => {
    try {
      await del(`/auth/sessions/${encodeURIComponent(item.id)}`);
      if (item.current) {
        session.signedOut('You have signed out of this device.');
        return;
      }
      message(box, '');
      session.flash(`Signed out ${label}.`, 'ok');
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) return;
      if (error instanceof ApiError && error.status === 404) message(box, `${label} was already signed out.`, 'info');
      else message(box, `Could not sign out ${label}: ${failure(error)}`);
    }
    await load();
  });
}

async function endOthers() {
  const others = list.filter((s) => !s.current).length;
  if (others === 0) return;
  const ok = await confirmAction(
    `Sign out ${others === 1 ? 'the other session' : `all ${others} other sessions`}? ${others === 1 ? 'That device has' : 'Those devices have'} to sign in again. This device stays signed in.`,
    'Sign out everywhere else',
  );
  if (!ok) return;
  const box = $('sessions-message');
  await run(async () => {
    try {
      await del('/auth/sessions');
      message(box, '');
      session.flash('Signed out everywhere else. Only this device is still signed in.', 'ok');
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) return;
      message(box, `Could not sign out the other sessions: ${failure(error)}`);
    }
    await load();
  });
}
