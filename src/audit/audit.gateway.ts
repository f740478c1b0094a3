import { WebSocketGateway } from '@nestjs/websockets';
import { ApiKeysService } from '../api-keys/api-keys.service';
import { SessionRegistry } from '../auth/session-registry';
import { EventBus } from '../database/event-bus';
import { LiveSocketHub } from '../realtime/live-socket-hub';
import { AUDIT_SOCKET_PATH } from '../realtime/ws-routes';

/** `/api/v1/ws/audit`: every audit event from every instance as it is recorded, for SIEMs and the console. */
@WebSocketGateway({ path: AUDIT_SOCKET_PATH })
export class AuditGateway extends LiveSocketHub {
  constructor(bus: EventBus, sessions: SessionRegistry, apiKeys: ApiKeysService) {
    super(bus, sessions, apiKeys);
  }

  protected registerBroadcasts(): Array<() => void> {
    return [this.bus.on('audit.recorded', (event) => this.broadcast({ type: 'audit.event', data: event.event }))];
  }
}
