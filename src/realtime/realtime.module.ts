import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module';
import { AuthModule } from '../auth/auth.module';
import { WsHandshakeAuthenticator } from './ws-handshake-authenticator';

@Module({
  imports: [AuthModule, AuditModule],
  providers: [WsHandshakeAuthenticator],
  exports: [WsHandshakeAuthenticator],
})
export class RealtimeModule {}
