import * as http from 'node:http';
import type { Duplex } from 'node:stream';
import type { INestApplicationContext } from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { WsAdapter } from '@nestjs/platform-ws';
import proxyAddr from 'proxy-addr';
import type { Principal } from '../access/principal';
import { saneRequestId } from '../common/client-info';
import { answerOnSocket } from '../common/raw-error-response';
import { AuthRefusal, CREDENTIAL_STORE_DOWN_MESSAGE } from '../auth/auth-refusal';
import { WsHandshakeAuthenticator } from './ws-handshake-authenticator';
import { MAX_CLIENT_FRAME_BYTES, SOCKET_PATHS } from './ws-routes';

export type AuthenticatedUpgradeRequest = http.IncomingMessage & { principal?: Principal; ip?: string; id?: string };

type VerifyCallback = (result: boolean, code?: number, message?: string, headers?: Record<string, string>) => void;
type UpgradeListener = (req: http.IncomingMessage, socket: Duplex, head: Buffer) => void;
/** What WsAdapter keeps in wsServersRegistry: a ws server and the path it was given. */
interface PathServer {
  path: string;
  handleUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer, done: (ws: unknown) => void): void;
  emit(event: 'connection', ws: unknown, req: http.IncomingMessage): boolean;
}

const UNKNOWN_PATH_MESSAGE = `no WebSocket endpoint at this path; the endpoints are ${SOCKET_PATHS.join(' and ')}`;

/**
 * NestJS guards do not run on the WebSocket handshake, so authentication happens here, in the ws
 * server's verifyClient, before the upgrade: a refused client gets an HTTP status and never a
 * socket. The principal found is left on the request for the gateway's handleConnection.
 */
export class AuthenticatingWsAdapter extends WsAdapter {
  private authenticator?: WsHandshakeAuthenticator;
  private readonly upgradeListeners = new Map<http.Server, UpgradeListener>();

  constructor(private readonly app: INestApplicationContext & Pick<NestExpressApplication, 'getHttpAdapter'>) {
    super(app);
  }

  /** The address and request id Express would give this request, so audits match HTTP ones. */
  private describe(req: AuthenticatedUpgradeRequest): void {
    const trust = this.app.getHttpAdapter().getInstance().get('trust proxy fn') as Parameters<typeof proxyAddr>[1];
    req.ip = proxyAddr(req, trust);
    req.id = saneRequestId(req.headers['x-request-id']);
  }

  override create(port: number, options: Record<string, unknown> = {}): unknown {
    const server = super.create(port, {
      ...options,
      maxPayload: MAX_CLIENT_FRAME_BYTES,
      verifyClient: (info: { req: AuthenticatedUpgradeRequest }, callback: VerifyCallback) => {
        void this.verify(info.req, callback);
      },
    }) as { on(event: 'headers', listener: (headers: string[], req: AuthenticatedUpgradeRequest) => void): unknown };
    // The 101 answer carries the request id too, like every other response.
    server.on('headers', (headers, req) => {
      if (req.id) headers.push(`X-Request-Id: ${req.id}`);
    });
    return server;
  }

  /**
   * Routes a handshake to the ws server of its path, as WsAdapter does, but answers one for any
   * other path with 404 and the contract's JSON error body where WsAdapter only drops the socket.
   * The path is read as WsHandshakeAuthenticator reads it, so both agree on where a request goes.
   */
  protected override ensureHttpServerExists(port: number, httpServer: http.Server = http.createServer()): http.Server | undefined {
    if (this.httpServersRegistry.has(port)) return undefined;
    this.httpServersRegistry.set(port, httpServer);
    const listener: UpgradeListener = (req, socket, head) => {
      let pathname: string;
      try {
        pathname = new URL(req.url ?? '/', 'http://handshake.invalid').pathname;
      } catch {
        answerOnSocket(socket, 400, 'the handshake URL cannot be read', saneRequestId(req.headers['x-request-id']));
        return;
      }
      const target = (this.wsServersRegistry.get(port) as PathServer[] | undefined)?.find((server) => server.path === pathname);
      if (!target) {
        answerOnSocket(socket, 404, UNKNOWN_PATH_MESSAGE, saneRequestId(req.headers['x-request-id']));
        return;
      }
      target.handleUpgrade(req, socket, head, (ws) => target.emit('connection', ws, req));
    };
    httpServer.on('upgrade', listener);
    this.upgradeListeners.set(httpServer, listener);
    return httpServer;
  }

  override async dispose(): Promise<void> {
    for (const [server, listener] of this.upgradeListeners) server.off('upgrade', listener);
    this.upgradeListeners.clear();
    await super.dispose();
  }

  private async verify(req: AuthenticatedUpgradeRequest, callback: VerifyCallback): Promise<void> {
    try {
      this.authenticator ??= this.app.get(WsHandshakeAuthenticator, { strict: false });
      this.describe(req);
      const result = await this.authenticator.authenticate(req);
      if (result.ok) {
        req.principal = result.principal;
        callback(true);
        return;
      }
      // The same JSON error body and headers as a refused REST request.
      const { body, headers } = result.refusal.answer(req.id ?? saneRequestId(undefined));
      callback(false, body.statusCode, JSON.stringify(body), headers);
    } catch {
      const { body, headers } = new AuthRefusal(503, CREDENTIAL_STORE_DOWN_MESSAGE).answer(req.id ?? saneRequestId(undefined));
      callback(false, 503, JSON.stringify(body), headers);
    }
  }
}
