// The severity chips: TRUE counts from GET /alerts/summary (over the whole table or the chosen time
// range, not over the rows loaded), refreshed at most once per 2 s while live frames arrive.
// A chip is a button: it shows the open alerts of that severity.
import { ApiError, get, query } from './api.js';
import { $, clear, h } from './dom.js';
import { SEVERITIES } from './alert-state.js';

const THROTTLE_MS = 2000;

/**
 * @param {{ window(): {since?: string, until?: string}, pick(severity: string): void, onCounts(summary): void }} hooks
 *   window(): the time range of the list, asked at each refresh (a preset such as 24 h moves on)
 */
export function createSummary(hooks) {
  let last = 0;
  let timer = null;
  let generation = 0;
  let summary = null;
  let active = { status: '', severity: '' };

  async function load() {
    clearTimeout(timer);
    timer = null;
    last = Date.now();
    const mine = ++generation;
    try {
      const answer = await get(`/alerts/summary${query(hooks.window())}`);
      if (mine !== generation) return;
      summary = answer && typeof answer === 'object' ? answer : null;
      render();
      hooks.onCounts(summary);
    } catch (error) {
      if (mine !== generation || (error instanceof ApiError && error.status === 401)) return;
      $('severity-summary').dataset.state = 'error';
    }
  }

  const openCount = (severity) => Number(summary?.by_severity?.[severity]?.open ?? 0);

  function render() {
    const box = clear($('severity-summary'));
    box.dataset.state = summary ? 'loaded' : 'loading';
    const chips = SEVERITIES.map((severity) => {
      const pressed = active.status === 'open' && active.severity === severity;
      const count = openCount(severity);
      return h(
        'button',
        {
          type: 'button',
          class: ['chip', `sev-${severity}`],
          dataset: { severity },
          'aria-pressed': pressed ? 'true' : 'false',
          on: { click: () => hooks.pick(severity) },
        },
        h('strong', { class: 'chip-count', text: count }),
        ` ${severity}`,
        h('span', { class: 'visually-hidden', text: ' open: show them' }),
      );
    });
    const open = SEVERITIES.reduce((sum, severity) => sum + openCount(severity), 0);
    box.append(
      ...chips,
      h('span', { class: ['chip', 'chip-total'], dataset: { total: 'open' } }, h('strong', { class: 'chip-count', text: open }), ' open'),
      h(
        'span',
        { class: ['chip', 'chip-total'], dataset: { total: 'all' } },
        h('strong', { class: 'chip-count', text: Number(summary?.total ?? 0) }),
        ' in all',
      ),
    );
  }

  return {
    get counts() {
      return summary;
    },
    load,
    render,
    /** The filter changed: which chip is pressed. */
    setActive(state) {
      active = { status: state.status, severity: state.severity };
      render();
    },
    /** A live frame arrived: refresh, at most once per THROTTLE_MS. */
    changed() {
      if (timer) return;
      const wait = Math.max(0, last + THROTTLE_MS - Date.now());
      timer = setTimeout(() => void load(), wait);
    },
    reset() {
      clearTimeout(timer);
      timer = null;
      generation += 1;
      summary = null;
      render();
    },
  };
}
