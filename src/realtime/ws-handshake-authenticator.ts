import type { IncomingMessage } from 'node:http';
import { Injectable } from '@nestjs/common';
import { parse as parseCookies } from 'cookie';
import type { Principal } from '../access/principal';
import type { AuthRefusal } from '../auth/auth-refusal';
import { Authenticator } from '../auth/authenticator';
import { clientInfo } from '../common/client-info';
import { permissionForSocketPath } from './ws-routes';

export type HandshakeResult = { ok: true; principal: Principal } | { ok: false; refusal: AuthRefusal };

/**
 * An adapter from a WebSocket upgrade request to the Authenticator: the handshake's carrier (its
 * headers, cookies and ?token=) and the socket path's permission. An unknown path needs a
 * permission nobody has, so it is refused (the adapter answers unknown paths 404 before this).
 */
@Injectable()
export class WsHandshakeAuthenticator {
  constructor(private readonly authenticator: Authenticator) {}

  authenticate(req: IncomingMessage): Promise<HandshakeResult> {
    const url = new URL(req.url ?? '/', 'http://handshake.invalid');
    const cookieHeader = req.headers.cookie;
    const required = permissionForSocketPath(url.pathname);
    return this.authenticator.authenticate(
      {
        channel: 'ws',
        method: req.method ?? 'GET',
        headers: req.headers,
        cookies: cookieHeader ? parseCookies(cookieHeader) : {},
        queryToken: url.searchParams.get('token'),
        client: clientInfo(req),
      },
      { permissions: required ? [required] : undefined },
    );
  }
}
