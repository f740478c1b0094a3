import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { type ErrorBody, statusText } from './http-exception.filter';

/**
 * Answers on a bare socket, where no Express response exists (Node's parser refused the request,
 * or a WebSocket handshake found no endpoint), with the same JSON error body and request id as
 * every other answer, then closes the connection: after a parser error the stream cannot be read on.
 */
export function answerOnSocket(socket: Duplex, status: number, message: string, requestId: string): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const body: ErrorBody = { statusCode: status, error: statusText(status), message, request_id: requestId };
  const json = JSON.stringify(body);
  socket.write(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\n` +
      'Content-Type: application/json; charset=utf-8\r\n' +
      `Content-Length: ${Buffer.byteLength(json)}\r\n` +
      `X-Request-Id: ${requestId}\r\n` +
      'Cache-Control: no-store\r\n' +
      'Connection: close\r\n' +
      '\r\n' +
      json,
  );
  socket.destroy();
}
