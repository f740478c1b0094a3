import { randomUUID } from 'node:crypto';
import * as http from 'node:http';
import type { Socket } from 'node:net';
import { Logger, type NestApplicationOptions } from '@nestjs/common';
import { ExpressAdapter } from '@nestjs/platform-express';
import { answerOnSocket } from './raw-error-response';

export interface HttpTimeouts {
  /** The request line and every header must have arrived within this long. */
  headersMs: number;
  /** The whole request, body included, must have arrived within this long. */
  requestMs: number;
  /** How often Node looks for connections past either deadline; it checks nothing in between. */
  checkIntervalMs: number;
}

/** The contract's limits: headers within 10 s, the whole body within 30 s. */
export const CONTRACT_TIMEOUTS: HttpTimeouts = { headersMs: 10_000, requestMs: 30_000, checkIntervalMs: 1_000 };
/** A header block over 16 kB is 431; set here so that a --max-http-header-size flag cannot move it. */
export const MAX_HEADER_BYTES = 16 * 1024;

/** What Node's parser (or its request timer) reported, as the status the contract gives it. */
function refusalFor(code: string | undefined, timeouts: HttpTimeouts): { status: number; message: string } {
  switch (code) {
    case 'HPE_HEADER_OVERFLOW':
      return { status: 431, message: 'the request header block is larger than 16 kB' };
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return {
        status: 408,
        message: `the request did not arrive in time: send the headers within ${timeouts.headersMs / 1000} s and the whole body within ${timeouts.requestMs / 1000} s`,
      };
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return { status: 413, message: 'the chunk extensions of the request body are too large' };
    default:
      return { status: 400, message: 'the request is not well-formed HTTP/1.1' };
  }
}

/**
 * Replaces Node's answers to requests its parser refuses (plain text, no request id) with the
 * contract's JSON error body. Nothing is written once a response has started on the connection,
 * or after the peer reset it.
 */
export function clientErrorAnswerer(timeouts: HttpTimeouts): (error: Error & { code?: string }, socket: Socket) => void {
  const logger = new Logger('HttpParser');
  return (error, socket) => {
    const inFlight = (socket as Socket & { _httpMessage?: http.ServerResponse })._httpMessage;
    if (error.code === 'ECONNRESET' || !socket.writable || inFlight?.headersSent) {
      socket.destroy();
      return;
    }
    // A request whose body timed out already has its id (and the log lines name it): keep that one.
    const assigned = inFlight?.req.id;
    const { status, message } = refusalFor(error.code, timeouts);
    const requestId = typeof assigned === 'string' ? assigned : randomUUID();
    // The code only: the error itself carries the raw bytes read, credentials included.
    logger.warn({ request_id: requestId, status, code: error.code, remoteAddress: socket.remoteAddress }, 'request refused before it could be read');
    answerOnSocket(socket, status, message, requestId);
  };
}

/**
 * NestJS's Express adapter with an HTTP server that enforces the contract's timeouts and answers
 * parser errors as JSON. Node only applies headersTimeout and requestTimeout when it sweeps its
 * connections, every connectionsCheckingInterval (30 s by default), and that interval can only be
 * given to createServer: hence a server of our own rather than properties set afterwards.
 */
export class ContractHttpAdapter extends ExpressAdapter {
  /** Tests pass shorter timeouts so they need not wait 30 s; the application uses the contract's. */
  constructor(private readonly timeouts: HttpTimeouts = CONTRACT_TIMEOUTS) {
    super();
  }

  override initHttpServer(options: NestApplicationOptions): void {
    // The application uses none of these; refusing them beats silently creating a server without them.
    if (options.httpsOptions || options.forceCloseConnections || options.return503OnClosing) {
      throw new Error('ContractHttpAdapter supports plain HTTP without forceCloseConnections or return503OnClosing');
    }
    const server = http.createServer(
      {
        headersTimeout: this.timeouts.headersMs,
        requestTimeout: this.timeouts.requestMs,
        connectionsCheckingInterval: this.timeouts.checkIntervalMs,
        maxHeaderSize: MAX_HEADER_BYTES,
      },
      this.getInstance<http.RequestListener>(),
    );
    server.on('clientError', clientErrorAnswerer(this.timeouts));
    this.setHttpServer(server);
  }
}
