import WebSocket from 'ws';
import type { Json } from './http';

/** A WebSocket client over the real `ws` package that remembers every frame and the close. */
export interface LiveClient {
  socket: WebSocket;
  messages: Json[];
  /** Resolves when the server closes the socket (or the connection drops). */
  closed: Promise<{ code: number; reason: string; at: number }>;
  /** The first frame (already received or still to come) that matches. */
  nextMessage(match: (message: Json) => boolean, timeoutMs?: number): Promise<Json>;
  close(): void;
}

export type HandshakeOutcome = { opened: true; status: 101 } | { opened: false; status: number; body: string; headers: Record<string, unknown> };

/** Tries the handshake and reports whether it opened or which HTTP status refused it. Never leaves a socket open. */
export function tryHandshake(url: string, headers: Record<string, string> = {}): Promise<HandshakeOutcome> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, { headers });
    const timer = setTimeout(() => {
      socket.terminate();
      reject(new Error(`handshake on ${url} neither opened nor was refused within 5 s`));
    }, 5000);
    socket.on('open', () => {
      clearTimeout(timer);
      socket.close();
      resolve({ opened: true, status: 101 });
    });
    socket.on('unexpected-response', (_req, res) => {
      clearTimeout(timer);
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => {
        resolve({ opened: false, status: res.statusCode ?? 0, body, headers: { ...res.headers } });
        socket.terminate();
      });
    });
    socket.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

/** Opens a socket and fails if the handshake is refused. */
export function openLive(url: string, headers: Record<string, string> = {}): Promise<LiveClient> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, { headers });
    const messages: Json[] = [];
    const waiters = new Set<{ match: (message: Json) => boolean; resolve: (message: Json) => void }>();
    let resolveClosed!: (value: { code: number; reason: string; at: number }) => void;
    const closed = new Promise<{ code: number; reason: string; at: number }>((r) => (resolveClosed = r));
    socket.on('message', (data) => {
      const text = frameText(data);
      let message: unknown;
      try {
        message = JSON.parse(text);
      } catch {
        message = text;
      }
      messages.push(message);
      for (const waiter of waiters) {
        if (waiter.match(message)) {
          waiters.delete(waiter);
          waiter.resolve(message);
        }
      }
    });
    socket.on('close', (code, reason) => resolveClosed({ code, reason: reason.toString(), at: Date.now() }));
    socket.on('unexpected-response', (_req, res) => {
      socket.terminate();
      reject(new Error(`handshake on ${url} refused with ${res.statusCode}`));
    });
    socket.on('error', (error) => reject(error));
    socket.on('open', () =>
      resolve({
        socket,
        messages,
        closed,
        close: () => socket.close(),
        nextMessage(match, timeoutMs = 5000) {
          const seen = messages.find(match);
          if (seen !== undefined) return Promise.resolve(seen);
          return new Promise((resolveMessage, rejectMessage) => {
            const waiter = {
              match,
              resolve: (message: Json) => {
                clearTimeout(timer);
                resolveMessage(message);
              },
            };
            const timer = setTimeout(() => {
              waiters.delete(waiter);
              rejectMessage(new Error(`no matching frame within ${timeoutMs} ms; got ${JSON.stringify(messages).slice(0, 500)}`));
            }, timeoutMs);
            waiters.add(waiter);
          });
        },
      }),
    );
  });
}

/** A frame's text. `ws` hands over a Buffer (binaryType "nodebuffer"), typed as any of its raw shapes. */
function frameText(data: WebSocket.RawData): string {
  return (Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data)).toString('utf8');
}

/** Resolves with the close, or rejects when it does not come within timeoutMs. */
export function closedWithin(client: LiveClient, timeoutMs: number): Promise<{ code: number; reason: string; at: number }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`socket still open after ${timeoutMs} ms`)), timeoutMs);
    void client.closed.then((value) => {
      clearTimeout(timer);
      resolve(value);
    });
  });
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
