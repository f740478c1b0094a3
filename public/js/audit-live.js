// The audit page's live feed: /api/v1/ws/audit while the page is open. Each frame is
// { type: 'audit.event', data: <event> }. The socket reconnects with backoff; a 4401 close (the
// credential died) is left to the alerts socket, which signs the console out. While it waits out
// a backoff it also watches GET /healthz (server-watch.js): once the server answers again after an
// outage, it reconnects at once instead of sleeping through the rest of the backoff.
import { waitForServer } from './server-watch.js';

const WS_PATH = '/api/v1/ws/audit';
const CLOSE_CREDENTIAL_INVALID = 4401;
const BACKOFF_BASE_MS = 1000;
const BACKOFF_MAX_MS = 30_000;

/**
 * Opens the feed: onEvent(event) for each audit event, onState('live' | 'reconnecting' | 'closed')
 * when the connection changes (after a reconnect the page reloads its list to fill the gap).
 * Returns a function that closes it for good.
 */
export function openAuditLive(onEvent, onState) {
  let socket = null;
  let attempt = 0;
  let timer = null;
  let watch = null;
  let stopped = false;

  const stopWatching = () => {
    watch?.abort();
    watch = null;
  };

  /**
   * One watch for the whole time the feed is down, not one per attempt: a watch started by a
   * failed attempt just before the server came back would never see the outage it waits for
   * (afterOutage), and the feed would sleep through the rest of its backoff.
   */
  const watchServer = () => {
    if (watch || stopped) return;
    const controller = new AbortController();
    watch = controller;
    waitForServer(controller.signal, { afterOutage: true }).then(
      () => {
        if (watch !== controller) return;
        watch = null;
        connect();
      },
      () => {},
    );
  };

  const connect = () => {
    clearTimeout(timer);
    if (stopped) return;
    // An attempt still in flight (the server came back meanwhile) gives way to this one.
    if (socket) {
      const previous = socket;
      socket = null;
      previous.close(1000, 'reconnecting');
    }
    let ws;
    try {
      ws = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}${WS_PATH}`);
    } catch {
      retry();
      return;
    }
    socket = ws;
    ws.onopen = () => {
      if (socket !== ws) return;
      attempt = 0;
      stopWatching();
      onState('live');
    };
    ws.onmessage = (message) => {
      if (socket !== ws) return;
      let frame;
      try {
        frame = JSON.parse(message.data);
      } catch {
        return;
      }
      if (frame?.type === 'audit.event' && frame.data && typeof frame.data === 'object') onEvent(frame.data);
    };
    ws.onclose = (event) => {
      if (socket !== ws) return;
      socket = null;
      if (stopped) return;
      if (event.code === CLOSE_CREDENTIAL_INVALID) {
        onState('closed');
        return;
      }
      retry();
    };
  };

  const retry = () => {
    onState('reconnecting');
    attempt += 1;
    const ceiling = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** (attempt - 1));
    clearTimeout(timer);
    timer = setTimeout(connect, Math.round(ceiling / 2 + Math.random() * (ceiling / 2)));
    // The server back after an outage: reconnect now (a socket dropped while the server stayed up
    // keeps its backoff: afterOutage).
    watchServer();
  };

  connect();
  return () => {
    stopped = true;
    clearTimeout(timer);
    stopWatching();
    if (socket) {
      const closing = socket;
      socket = null;
      closing.close(1000, 'left the page');
    }
  };
}
