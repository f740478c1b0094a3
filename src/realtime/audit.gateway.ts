import { WebSocketGateway } from '@nestjs/websockets';
import { CredentialRecheck } from '../auth/credential-recheck';
import { EventBus } from '../database/event-bus';
import { LiveSocketHub } from './live-socket-hub';
import { AUDIT_SOCKET_PATH } from './ws-routes';

/** `/api/v1/ws/audit`: every audit event from every instance as it is recorded, for SIEMs and the console. */
@WebSocketGateway({ path: AUDIT_SOCKET_PATH })
export class AuditGateway extends LiveSocketHub {
  constructor(bus: EventBus, credentials: CredentialRecheck) {
    super(bus, credentials);
  }

  protected registerBroadcasts(): Array<() => void> {
    return [this.bus.on('audit.recorded', (event) => this.broadcast({ type: 'audit.event', data: event.event }))];
  }
}
