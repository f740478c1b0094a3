// The detail flyout (#alert-detail, a modal <dialog> shown as a side panel): the alert, its notes
// and its history from GET /alerts/{id}; status, assignment and a new note for those with
// alerts:write. Everything from the server goes in as text. Escape closes it (the dialog's own
// cancel); the list puts the focus back on the row it came from.
import { ApiError, get, patch, post } from './api.js';
import { $, busy, clear, h, message, time } from './dom.js';
import { SEVERITIES, STATUSES } from './alert-state.js';

const NOTE_MAX = 4000;
const STATUS_ACTIONS = [
  ['acknowledged', 'Acknowledge', (status) => status === 'open'],
  ['resolved', 'Resolve', (status) => status !== 'resolved'],
  ['open', 'Reopen', (status) => status === 'resolved'],
];

/**
 * @param {{ session(): object, onAlert(alert): void, onClosed(id: string): void }} hooks
 */
export function createDetail(hooks) {
  const dialog = $('alert-detail');
  let current = null; // the alert shown (without notes and history)
  let openId = '';
  let generation = 0;
  let fetching = false;
  let fetchAgain = false;

  const canWrite = () => Boolean(hooks.session()?.can('alerts:write'));
  const me = () => hooks.session()?.me?.sub ?? '';
  const say = (text, kind = 'error') => message($('alert-detail-message'), text, kind);

  dialog.addEventListener('close', () => {
    const id = openId;
    openId = '';
    current = null;
    generation += 1;
    if (id) hooks.onClosed(id);
  });
  // A click on the backdrop (the dialog element itself, outside its panel) closes it too.
  dialog.addEventListener('click', (event) => {
    if (event.target === dialog) dialog.close();
  });
  $('alert-detail-close').addEventListener('click', () => dialog.close());
  $('alert-detail-assign-me').addEventListener('click', (event) => void change(event.currentTarget, { assignee: me() }, 'Assigned to you.'));
  $('alert-detail-unassign').addEventListener('click', (event) => void change(event.currentTarget, { assignee: null }, 'Unassigned.'));
  $('alert-detail-assign-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const input = $('alert-detail-assignee-input');
    const username = input.value.trim();
    if (!username) {
      say('Enter the username to assign the alert to.');
      input.focus();
      return;
    }
    void change(event.submitter ?? $('alert-detail-assign-submit'), { assignee: username }, `Assigned to ${username}.`).then((ok) => {
      if (ok) input.value = '';
    });
  });
  const noteText = $('alert-note-text');
  noteText.addEventListener('input', () => {
    $('alert-note-count').textContent = `${noteText.value.length} / ${NOTE_MAX}`;
  });
  $('alert-note-form').addEventListener('submit', (event) => {
    event.preventDefault();
    void addNote();
  });

  /** PATCH /alerts/{id}; true when it went through. */
  async function change(button, body, done) {
    if (!current) return false;
    const id = current.id;
    const ok = await busy(button, async () => {
      try {
        const updated = await patch(`/alerts/${encodeURIComponent(id)}`, body);
        hooks.onAlert(updated);
        if (openId === id) {
          say(done, 'ok');
          await refetch();
        }
        return true;
      } catch (error) {
        if (error instanceof ApiError && error.status === 401) return false;
        if (openId === id)
          say(
            error instanceof ApiError && error.status === 400 && 'assignee' in body
              ? `Could not assign: ${error.message}`
              : `Could not update the alert: ${error.message}`,
          );
        return false;
      }
    });
    // The button may be gone (the status buttons are redrawn) or hidden ("Assign to me" once it is
    // mine): the keyboard stays in the panel, on the control that now does the next thing.
    const focus = document.activeElement;
    if (dialog.open && (!button.isConnected || button.hidden || !focus || focus === document.body || !dialog.contains(focus))) {
      const candidates =
        'status' in body
          ? [$('alert-detail-status-buttons').querySelector('button')]
          : [$('alert-detail-unassign'), $('alert-detail-assign-me'), $('alert-detail-assignee-input')];
      (candidates.find((element) => element && !element.hidden) ?? $('alert-detail-title')).focus();
    }
    return ok;
  }

  async function addNote() {
    if (!current) return;
    const text = noteText.value;
    if (!text.trim()) {
      say('Write the note first.');
      noteText.focus();
      return;
    }
    if (text.length > NOTE_MAX) {
      say(`A note has at most ${NOTE_MAX} characters.`);
      return;
    }
    const id = current.id;
    await busy($('alert-note-submit'), async () => {
      try {
        await post(`/alerts/${encodeURIComponent(id)}/notes`, { text });
        if (openId !== id) return;
        noteText.value = '';
        $('alert-note-count').textContent = `0 / ${NOTE_MAX}`;
        say('Note added.', 'ok');
        await refetch();
      } catch (error) {
        if (error instanceof ApiError && error.status === 401) return;
        if (openId === id) say(`Could not add the note: ${error.message}`);
      }
    });
  }

  function renderAlert(alert) {
    current = alert;
    const severity = SEVERITIES.includes(alert.severity) ? alert.severity : 'unknown';
    const badge = $('alert-detail-severity');
    badge.className = `badge sev-${severity}`;
    badge.textContent = alert.severity ?? '?';
    $('alert-detail-title').textContent = alert.title ?? '';
    $('alert-detail-source').textContent = alert.source ?? '';
    const status = STATUSES.includes(alert.status) ? alert.status : 'unknown';
    clear($('alert-detail-status')).append(h('span', { class: ['pill', 'alert-status', `status-${status}`], text: alert.status ?? '?' }));
    const assignee = $('alert-detail-assignee');
    assignee.textContent = alert.assignee ?? 'Unassigned';
    assignee.classList.toggle('muted', !alert.assignee);
    clear($('alert-detail-created')).append(time(alert.created_at));
    clear($('alert-detail-updated')).append(time(alert.updated_at));
    const description = $('alert-detail-description');
    description.textContent = alert.description ? alert.description : 'No description.';
    description.classList.toggle('muted', !alert.description);

    const writable = canWrite();
    $('alert-detail-actions').hidden = !writable;
    $('alert-note-form').hidden = !writable;
    if (!writable) return;
    // Redrawn (a frame, my own change): a focused status button hands the focus to its successor.
    const group = $('alert-detail-status-buttons');
    const focused = group.contains(document.activeElement) ? document.activeElement.dataset.action : null;
    clear(group).append(
      ...STATUS_ACTIONS.filter(([, , shown]) => shown(alert.status)).map(([status, label]) =>
        h('button', {
          type: 'button',
          class: ['small', `action-${status}`],
          dataset: { action: status },
          text: label,
          on: { click: (event) => void change(event.currentTarget, { status }, `Status: ${status}.`) },
        }),
      ),
    );
    if (focused) (group.querySelector(`button[data-action="${focused}"]`) ?? group.querySelector('button') ?? $('alert-detail-title')).focus();
    $('alert-detail-assign-me').hidden = Boolean(me()) && alert.assignee === me();
    $('alert-detail-unassign').hidden = !alert.assignee;
  }

  function renderNotes(notes) {
    const list = clear($('alert-notes'));
    for (const note of Array.isArray(notes) ? notes : []) {
      list.append(
        h(
          'li',
          { class: 'note', dataset: { id: String(note.id ?? '') } },
          h('div', { class: 'note-meta' }, h('span', { class: 'note-author', text: note.author ?? '?' }), ' · ', time(note.created_at)),
          h('p', { class: 'note-text', text: note.text ?? '' }),
        ),
      );
    }
    $('alert-notes-empty').hidden = list.children.length > 0;
  }

  const shown = (value) => (value === null || value === undefined || value === '' ? '—' : String(value));

  function renderHistory(history) {
    const list = clear($('alert-history'));
    for (const entry of Array.isArray(history) ? history : []) {
      list.append(
        h(
          'li',
          { class: 'history-entry', dataset: { field: String(entry.field ?? '') } },
          h('div', { class: 'note-meta' }, time(entry.at), ' · ', h('span', { class: 'history-actor', text: entry.actor ?? '?' })),
          h(
            'p',
            { class: 'history-change' },
            h('span', { class: 'history-field', text: entry.field ?? '?' }),
            ': ',
            h('span', { class: 'history-from', text: shown(entry.from) }),
            ' → ',
            h('span', { class: 'history-to', text: shown(entry.to) }),
          ),
        ),
      );
    }
    $('alert-history-empty').hidden = list.children.length > 0;
  }

  /** GET /alerts/{id} again (coalesced: one in flight, at most one more after it). */
  async function refetch() {
    if (!openId) return;
    if (fetching) {
      fetchAgain = true;
      return;
    }
    fetching = true;
    const id = openId;
    const mine = generation;
    try {
      const detail = await get(`/alerts/${encodeURIComponent(id)}`);
      if (mine !== generation || openId !== id) return;
      dialog.dataset.state = 'loaded';
      renderAlert(detail);
      renderNotes(detail.notes);
      renderHistory(detail.history);
    } catch (error) {
      if (mine !== generation || (error instanceof ApiError && error.status === 401)) return;
      dialog.dataset.state = 'error';
      say(error instanceof ApiError && error.status === 404 ? 'This alert does not exist (any more).' : `Could not load the alert: ${error.message}`);
    } finally {
      fetching = false;
      if (fetchAgain) {
        fetchAgain = false;
        void refetch();
      }
    }
  }

  return {
    get openId() {
      return openId;
    },
    /** Open the flyout for an alert; `known` (from the list) is shown until the details arrive. */
    open(id, known) {
      if (openId === id && dialog.open) return;
      generation += 1;
      openId = id;
      fetchAgain = false;
      dialog.dataset.state = 'loading';
      dialog.dataset.id = id;
      say('');
      noteText.value = '';
      $('alert-note-count').textContent = `0 / ${NOTE_MAX}`;
      $('alert-detail-assignee-input').value = '';
      renderNotes([]);
      renderHistory([]);
      if (known) renderAlert(known);
      else {
        current = null;
        $('alert-detail-title').textContent = 'Loading…';
      }
      if (!dialog.open) dialog.showModal();
      $('alert-detail-title').focus();
      void refetch();
    },
    /** Close without telling the list (it is leaving or resetting). */
    dismiss() {
      openId = '';
      if (dialog.open) dialog.close();
    },
    close() {
      if (dialog.open) dialog.close();
    },
    /** A live frame for some alert: if it is the one shown, show the change and fetch notes/history. */
    changed(alert) {
      if (!openId || alert.id !== openId) return;
      if (current && current.updated_at && alert.updated_at && current.updated_at > alert.updated_at) return;
      renderAlert(alert);
      void refetch();
    },
  };
}
