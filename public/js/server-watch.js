// Is the server back? Probes GET /healthz (public, cheap, not under /api/v1) about once a second
// so that a live socket waiting out its backoff can reconnect as soon as the server answers again,
// instead of sleeping through the rest of a long backoff.
//
//   const watch = new AbortController();
//   waitForServer(watch.signal, { afterOutage: true }).then(reconnectNow, () => {});
//   … watch.abort();   // when the backoff timer fired first, or on sign-out
//
// It does not reconnect anything itself and holds no state between calls.

const HEALTH_PATH = '/healthz';
const DEFAULT_INTERVAL_MS = 1000;
/** A probe the server does not answer within this long counts as "not answering". */
const PROBE_TIMEOUT_MS = 2500;

function abortError(signal) {
  return signal.reason ?? new DOMException('The wait for the server was aborted.', 'AbortError');
}

/** One probe: true when /healthz answered 2xx, false on a network error, a non-2xx answer or a timeout. */
async function probe(signal) {
  const timeout = new AbortController();
  const timer = setTimeout(() => timeout.abort(), PROBE_TIMEOUT_MS);
  const stop = () => timeout.abort();
  signal.addEventListener('abort', stop, { once: true });
  try {
    const response = await fetch(HEALTH_PATH, { method: 'GET', cache: 'no-store', credentials: 'omit', signal: timeout.signal });
    // The body is not needed; drop it so the connection can be reused.
    void response.body?.cancel().catch(() => undefined);
    return response.ok;
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
    signal.removeEventListener('abort', stop);
  }
}

/**
 * Resolves once GET /healthz answers (2xx). Probes every `intervalMs` (about once a second), the
 * first probe after one interval: a caller that reconnects on resolution never tries more than
 * about once a second.
 *
 * `afterOutage: true` resolves only after at least one probe found the server NOT answering and a
 * later one found it answering: a socket dropped for another reason while the server is up (a
 * proxy, a refused handshake) keeps its normal backoff instead of retrying every second.
 *
 * Rejects with the signal's reason (an AbortError) when `signal` aborts; a caller that does not
 * care can `.catch(() => {})`.
 *
 * @param {AbortSignal} signal
 * @param {{ intervalMs?: number, afterOutage?: boolean }} [options]
 * @returns {Promise<void>}
 */
export function waitForServer(signal, { intervalMs = DEFAULT_INTERVAL_MS, afterOutage = false } = {}) {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(abortError(signal));
      return;
    }
    const controller = new AbortController();
    let timer = null;
    let sawOutage = !afterOutage;
    const onAbort = () => {
      clearTimeout(timer);
      controller.abort();
      reject(abortError(signal));
    };
    signal?.addEventListener('abort', onAbort, { once: true });

    const schedule = () => {
      timer = setTimeout(() => void check(), intervalMs);
    };
    const check = async () => {
      const answered = await probe(controller.signal);
      if (controller.signal.aborted) return;
      if (answered && sawOutage) {
        signal?.removeEventListener('abort', onAbort);
        resolve();
        return;
      }
      if (!answered) sawOutage = true;
      schedule();
    };
    schedule();
  });
}
