// The /ws/alerts WebSocket: connects, reconnects with backoff, and reconnects at once when the
// server answers again (server-watch.js). Shows the state in the #conn-state pill (a countdown
// during an outage) and announces only the changes of state (connected, lost, back) through the
// polite #alerts-live-status region, never every tick of the countdown.
import { ApiError, get } from './api.js';
import { $ } from './dom.js';
import { waitForServer } from './server-watch.js';

const WS_PATH = '/api/v1/ws/alerts';
const CLOSE_CREDENTIAL_INVALID = 4401;
const BACKOFF_BASE_MS = 1000;
const BACKOFF_MAX_MS = 30_000;

/**
 * @param {{ session: object, onFrame(frame): void, onOpen(resync: boolean): void, onSignedOut(): void }} hooks
 */
export function createAlertSocket(hooks) {
  let running = false;
  let socket = null;
  let attempt = 0;
  let reconnectTimer = null;
  let countdownTimer = null;
  let watch = null;
  let needsResync = false;
  let wasLive = false;
  let announced = '';

  function setPill(state, text) {
    const element = $('conn-state');
    element.className = `conn conn-${state}`;
    element.dataset.state = state;
    element.textContent = text;
  }

  /** The polite region changes only when the state does. */
  function announce(text) {
    if (text === announced) return;
    announced = text;
    $('alerts-live-status').textContent = text;
  }

  function stopWaiting() {
    clearTimeout(reconnectTimer);
    clearInterval(countdownTimer);
    watch?.abort();
    watch = null;
  }

  function connect() {
    if (!running) return;
    stopWaiting();
    setPill('connecting', attempt === 0 ? 'Connecting…' : 'Reconnecting…');
    const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}${WS_PATH}`;
    let ws;
    try {
      ws = new WebSocket(url);
    } catch {
      scheduleReconnect();
      return;
    }
    socket = ws;
    ws.onopen = () => {
      if (socket !== ws) return;
      attempt = 0;
      setPill('live', 'Live');
      announce(wasLive ? 'Live alerts: connection restored.' : 'Live alerts: connected.');
      wasLive = true;
      const resync = needsResync;
      needsResync = false;
      hooks.onOpen(resync);
    };
    ws.onmessage = (event) => {
      if (socket !== ws) return;
      let frame;
      try {
        frame = JSON.parse(event.data);
      } catch {
        return;
      }
      if (!frame || typeof frame !== 'object' || !frame.data || typeof frame.data.id !== 'string') return;
      if (frame.type === 'alert.created' || frame.type === 'alert.updated') hooks.onFrame(frame);
    };
    ws.onclose = (event) => {
      if (socket !== ws) return;
      socket = null;
      needsResync = true;
      if (!running) return;
      if (wasLive) announce('Live alerts: connection lost. Reconnecting…');
      if (event.code === CLOSE_CREDENTIAL_INVALID) {
        // The socket's credential died. Changing one's own password does that too, while the
        // browser already holds a fresh cookie: only a refused /auth/me means signed out.
        setPill('reconnecting', 'Checking the session…');
        void reconnect('Your session has ended (signed out elsewhere, expired, or your access changed). Please sign in again.');
        return;
      }
      scheduleReconnect(event.code === 1001 ? 'The server is restarting.' : 'Connection lost.');
    };
  }

  /**
   * Backoff, and meanwhile a watch on /healthz. `sawOutage`: the last attempt found the server not
   * answering, so the first answer from it is the sign to go (else one is needed after a failed
   * probe: a socket dropped while the server is up keeps its backoff).
   */
  function scheduleReconnect(why = 'Connection lost.', { sawOutage = false } = {}) {
    stopWaiting();
    attempt += 1;
    const ceiling = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** (attempt - 1));
    const delay = Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
    let left = Math.ceil(delay / 1000);
    const tick = () => setPill('reconnecting', `${why} Reconnecting in ${left} s…`);
    tick();
    countdownTimer = setInterval(() => {
      left = Math.max(0, left - 1);
      tick();
    }, 1000);
    reconnectTimer = setTimeout(() => void reconnect(), delay);
    // Do not sleep through the backoff once the server is back: try again as soon as it answers
    // (only after it was seen down, so a socket refused by a running server keeps its backoff).
    const controller = new AbortController();
    watch = controller;
    waitForServer(controller.signal, { afterOutage: !sawOutage }).then(
      () => {
        if (watch === controller && running) void reconnect();
      },
      () => undefined,
    );
  }

  /**
   * A refused handshake looks like any other dropped connection to the browser, so ask the
   * API whether the session is still good before opening the socket again.
   */
  async function reconnect(reason = 'Your session has ended. Please sign in again.') {
    stopWaiting();
    if (!running) return;
    try {
      await hooks.session?.pendingCredentialChange;
      await get('/auth/me', { allow401: true });
    } catch (error) {
      if (!running) return;
      if (error instanceof ApiError && error.status === 401) {
        running = false;
        hooks.onSignedOut(reason);
        return;
      }
      // Not reached (0), or a proxy's 502/504: the server was down just now. Had it come back before
      // the watch's first probe, a watch waiting to see it down first would wait out the backoff.
      // (A 503 from the app itself, say its database is down, keeps the backoff: no retry each second.)
      const down = error instanceof ApiError && [0, 502, 504].includes(error.status);
      scheduleReconnect('The server cannot be reached.', { sawOutage: down });
      return;
    }
    connect();
  }

  return {
    get running() {
      return running;
    },
    start() {
      if (running) return;
      running = true;
      attempt = 0;
      connect();
    },
    stop() {
      running = false;
      stopWaiting();
      if (socket) {
        const closing = socket;
        socket = null;
        closing.onclose = null;
        closing.close(1000, 'signed out');
      }
      needsResync = false;
      wasLive = false;
      announced = '';
      $('alerts-live-status').textContent = '';
      setPill('connecting', 'Connecting…');
    },
  };
}
