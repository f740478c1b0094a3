// The alert list's state: what the filters say, kept in the URL's hash query
// (#/alerts?status=open&severity=critical&q=…) so that reload and back/forward restore it.
// Pure functions: no DOM, no fetch.

export const SEVERITIES = ['critical', 'high', 'medium', 'low'];
export const STATUSES = ['open', 'acknowledged', 'resolved'];
export const SORTS = ['newest', 'oldest', 'severity'];
/** Time range presets: name → length in ms. "" is all time, "custom" uses since/until. */
export const RANGES = { '1h': 3_600_000, '24h': 86_400_000, '7d': 7 * 86_400_000 };
const MAX_Q = 200;

/** Everything the list shows depends on (the open alert, `alert`, is not part of the list). */
const LIST_KEYS = ['status', 'severity', 'assignee', 'q', 'range', 'since', 'until', 'sort'];

export function defaultState() {
  return { status: '', severity: '', assignee: '', q: '', range: '', since: '', until: '', sort: 'newest', alert: '' };
}

const validIso = (value) => typeof value === 'string' && value.length <= 40 && !Number.isNaN(Date.parse(value));

/** The state in a location hash such as "#/alerts?status=open"; unknown or invalid values are dropped. */
export function parseHash(hash) {
  const state = defaultState();
  const at = hash.indexOf('?');
  if (at < 0) return state;
  const params = new URLSearchParams(hash.slice(at + 1));
  const status = params.get('status') ?? '';
  if (STATUSES.includes(status)) state.status = status;
  const severity = params.get('severity') ?? '';
  if (SEVERITIES.includes(severity)) state.severity = severity;
  state.assignee = (params.get('assignee') ?? '').trim().slice(0, 100);
  state.q = (params.get('q') ?? '').slice(0, MAX_Q);
  const sort = params.get('sort') ?? '';
  if (SORTS.includes(sort)) state.sort = sort;
  const range = params.get('range') ?? '';
  if (range in RANGES) state.range = range;
  const since = params.get('since') ?? '';
  const until = params.get('until') ?? '';
  if (validIso(since)) state.since = new Date(since).toISOString();
  if (validIso(until)) state.until = new Date(until).toISOString();
  if (state.since || state.until) state.range = 'custom';
  // Only an alert id opens the panel: "." or "../x" would make the fetch path name another resource.
  const alert = params.get('alert') ?? '';
  if (/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(alert)) state.alert = alert.toLowerCase();
  return state;
}

/** "#/alerts?…" for a state, leaving defaults out so the plain list is just "#/alerts". */
export function toHash(state, { withAlert = true } = {}) {
  const params = new URLSearchParams();
  if (state.status) params.set('status', state.status);
  if (state.severity) params.set('severity', state.severity);
  if (state.assignee) params.set('assignee', state.assignee);
  if (state.q) params.set('q', state.q);
  if (state.range && state.range !== 'custom') params.set('range', state.range);
  if (state.range === 'custom' && state.since) params.set('since', state.since);
  if (state.range === 'custom' && state.until) params.set('until', state.until);
  if (state.sort && state.sort !== 'newest') params.set('sort', state.sort);
  if (withAlert && state.alert) params.set('alert', state.alert);
  const text = params.toString();
  return text ? `#/alerts?${text}` : '#/alerts';
}

export function sameList(a, b) {
  return LIST_KEYS.every((key) => (a[key] ?? '') === (b[key] ?? ''));
}

/** since/until as ISO times for the API: a preset counts back from `now`. */
export function timeWindow(state, now = Date.now()) {
  if (state.range in RANGES) return { since: new Date(now - RANGES[state.range]).toISOString(), until: undefined };
  if (state.range === 'custom') return { since: state.since || undefined, until: state.until || undefined };
  return { since: undefined, until: undefined };
}

/** The query of GET /alerts for a state (without limit and before). */
export function listQuery(state, window) {
  return {
    status: state.status || undefined,
    severity: state.severity || undefined,
    assignee: state.assignee || undefined,
    // The API refuses a q without a letter or digit (400): such a search is no search.
    q: /[\p{L}\p{N}]/u.test(state.q) ? state.q.trim() : undefined,
    since: window.since,
    until: window.until,
    sort: state.sort !== 'newest' ? state.sort : undefined,
  };
}

const words = (text) =>
  String(text ?? '')
    .toLowerCase()
    .split(/\s+/)
    .filter(Boolean);

/**
 * Whether a live alert belongs in the list the server would send for this state. The search is
 * approximated (every word of q in the title, description or source); the server decides on load.
 */
export function matches(alert, state, window) {
  if (state.status && alert.status !== state.status) return false;
  if (state.severity && alert.severity !== state.severity) return false;
  if (state.assignee === 'none' ? alert.assignee : state.assignee && alert.assignee !== state.assignee) return false;
  const created = Date.parse(alert.created_at ?? '');
  if (window.since && !(created >= Date.parse(window.since))) return false;
  if (window.until && !(created < Date.parse(window.until))) return false;
  const needles = words(state.q);
  if (needles.length) {
    const haystack = `${alert.title ?? ''} ${alert.description ?? ''} ${alert.source ?? ''}`.toLowerCase();
    if (!needles.every((word) => haystack.includes(word))) return false;
  }
  return true;
}

const severityRank = (severity) => {
  const rank = SEVERITIES.indexOf(severity);
  return rank < 0 ? SEVERITIES.length : rank;
};

function byCreated(a, b) {
  const at = a.created_at ?? '';
  const bt = b.created_at ?? '';
  if (at !== bt) return at < bt ? -1 : 1;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/** Negative when `a` comes before `b` in the list's order. */
export function compare(sort, a, b) {
  if (sort === 'oldest') return byCreated(a, b);
  if (sort === 'severity') {
    const rank = severityRank(a.severity) - severityRank(b.severity);
    if (rank !== 0) return rank;
  }
  return byCreated(b, a);
}

/** ISO → the value of an <input type="datetime-local"> in the viewer's time zone. */
export function toLocalInput(iso) {
  if (!iso) return '';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return '';
  const pad = (n) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

/** The value of an <input type="datetime-local"> → ISO, or '' when empty or invalid. */
export function fromLocalInput(value) {
  if (!value) return '';
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? '' : date.toISOString();
}
