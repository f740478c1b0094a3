// Multi-select and bulk triage: a checkbox per row, "select all shown", and the bulk bar
// (#alerts-bulk) acting through PATCH /alerts { ids, status | assignee } (all or nothing, at most 500).
import { ApiError, patch } from './api.js';
import { $, busy, message } from './dom.js';

export const BULK_MAX = 500;
const ACTIONS = ['alerts-bulk-ack', 'alerts-bulk-resolve', 'alerts-bulk-assign-me', 'alerts-bulk-assign', 'alerts-bulk-clear'];

/**
 * @param {{ session(): object, shownIds(): string[], onDone(): void }} hooks
 */
export function createBulk(hooks) {
  const selected = new Set();
  const me = () => hooks.session()?.me?.sub ?? '';
  const say = (text, kind) => message($('alerts-bulk-result'), text, kind);

  $('alerts-select-all').addEventListener('change', (event) => {
    const on = event.currentTarget.checked;
    for (const id of hooks.shownIds()) {
      if (on) selected.add(id);
      else selected.delete(id);
    }
    syncBoxes();
    render();
  });
  for (const [id, body, label] of [
    ['alerts-bulk-ack', () => ({ status: 'acknowledged' }), 'acknowledged'],
    ['alerts-bulk-resolve', () => ({ status: 'resolved' }), 'resolved'],
    ['alerts-bulk-assign-me', () => ({ assignee: me() }), 'assigned to you'],
  ]) {
    $(id).addEventListener('click', (event) => void apply(event.currentTarget, body(), label));
  }
  $('alerts-bulk-assign').addEventListener('click', () => {
    const form = $('alerts-bulk-assign-form');
    form.hidden = !form.hidden;
    $('alerts-bulk-assign').setAttribute('aria-expanded', String(!form.hidden));
    if (!form.hidden) $('alerts-bulk-assignee').focus();
  });
  $('alerts-bulk-assign-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const username = $('alerts-bulk-assignee').value.trim();
    if (!username) {
      say('Enter the username to assign the selected alerts to.', 'error');
      $('alerts-bulk-assignee').focus();
      return;
    }
    void apply($('alerts-bulk-assign-submit'), { assignee: username }, `assigned to ${username}`).then((ok) => {
      if (!ok) return;
      $('alerts-bulk-assignee').value = '';
      $('alerts-bulk-assign-form').hidden = true;
      $('alerts-bulk-assign').setAttribute('aria-expanded', 'false');
    });
  });
  $('alerts-bulk-clear').addEventListener('click', () => {
    selected.clear();
    syncBoxes();
    render();
  });

  async function apply(button, body, label) {
    const ids = [...selected];
    if (ids.length === 0) return false;
    if (ids.length > BULK_MAX) {
      say(`Select at most ${BULK_MAX} alerts for one bulk change (${ids.length} are selected).`, 'error');
      return false;
    }
    const ok = await busy(button, async () => {
      try {
        const answer = await patch('/alerts', { ids, ...body });
        const updated = Number(answer?.updated ?? ids.length);
        say(`${updated} alert${updated === 1 ? '' : 's'} ${label}.`, 'ok');
        selected.clear();
        syncBoxes();
        hooks.onDone();
        return true;
      } catch (error) {
        if (error instanceof ApiError && error.status === 401) return false;
        say(`Nothing was changed: ${error.message}`, 'error');
        return false;
      }
    });
    // busy() enabled the button again: the selection decides.
    render(false);
    // Done, its buttons disabled: the keyboard goes on from "select all shown".
    if (ok && (button.disabled || button.offsetParent === null)) $('alerts-select-all').focus();
    return ok;
  }

  /** The row checkboxes and "select all shown" follow the selection. */
  function syncBoxes() {
    const shown = hooks.shownIds();
    for (const box of $('alerts-body').querySelectorAll('input.row-select')) box.checked = selected.has(box.dataset.id);
    const all = $('alerts-select-all');
    const count = shown.filter((id) => selected.has(id)).length;
    all.checked = shown.length > 0 && count === shown.length;
    all.indeterminate = count > 0 && count < shown.length;
  }

  /**
   * The bar is always there for those who may write (it appearing with the first checkbox would
   * move every row under the pointer); its buttons work while something is selected.
   */
  function render(clearResult = true) {
    const count = selected.size;
    $('alerts-bulk-count').textContent = count ? `${count} selected` : 'None selected';
    for (const id of ACTIONS) $(id).disabled = count === 0;
    if (count === 0) {
      $('alerts-bulk-assign-form').hidden = true;
      $('alerts-bulk-assign').setAttribute('aria-expanded', 'false');
    }
    if (clearResult && count > 0) say('');
    if (count > BULK_MAX) say(`Select at most ${BULK_MAX} alerts for one bulk change.`, 'error');
  }

  return {
    selected,
    /** A row's checkbox changed. */
    toggle(id, on) {
      if (on) selected.add(id);
      else selected.delete(id);
      syncBoxes();
      render();
    },
    /** The rows changed (reload, load older, live rows): forget what is no longer shown. */
    rowsChanged({ keepHidden = false } = {}) {
      if (!keepHidden) {
        const shown = new Set(hooks.shownIds());
        for (const id of [...selected]) if (!shown.has(id)) selected.delete(id);
      }
      syncBoxes();
      render(false);
    },
    /** Shown only to those who hold alerts:write. */
    enable(writable) {
      $('alerts-bulk').hidden = !writable;
    },
    reset() {
      selected.clear();
      say('');
      render();
    },
  };
}
