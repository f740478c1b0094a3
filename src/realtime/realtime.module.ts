import { Module } from '@nestjs/common';
import { AlertsModule } from '../alerts/alerts.module';
import { AuthModule } from '../auth/auth.module';
import { AlertsGateway } from './alerts.gateway';
import { AuditGateway } from './audit.gateway';
import { WsHandshakeAuthenticator } from './ws-handshake-authenticator';

/** The WebSocket endpoints: the handshake's adapter over the Authenticator, and the two live hubs. */
@Module({
  imports: [AuthModule, AlertsModule],
  providers: [WsHandshakeAuthenticator, AlertsGateway, AuditGateway],
  exports: [WsHandshakeAuthenticator],
})
export class RealtimeModule {}
