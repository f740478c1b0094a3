import type { IncomingMessage } from 'node:http';
import type { INestApplicationContext } from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { WsAdapter } from '@nestjs/platform-ws';
import proxyAddr from 'proxy-addr';
import type { Principal } from '../auth/principal';
import { saneRequestId } from '../common/client-info';
import { WsHandshakeAuthenticator } from './ws-handshake-authenticator';

export type AuthenticatedUpgradeRequest = IncomingMessage & { principal?: Principal; ip?: string; id?: string };

type VerifyCallback = (result: boolean, code?: number, message?: string, headers?: Record<string, string>) => void;

/**
 * NestJS guards do not run on the WebSocket handshake, so authentication happens here, in the ws
 * server's verifyClient, before the upgrade: a refused client gets an HTTP status and never a
 * socket. The principal found is left on the request for the gateway's handleConnection.
 */
export class AuthenticatingWsAdapter extends WsAdapter {
  private authenticator?: WsHandshakeAuthenticator;

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
      const headers: Record<string, string> = { 'Content-Type': 'text/plain', 'X-Request-Id': req.id ?? '' };
      if (result.status === 401) headers['WWW-Authenticate'] = 'Bearer';
      callback(false, result.status, result.message, headers);
    } catch {
      callback(false, 503, 'Service Unavailable');
    }
  }
}
