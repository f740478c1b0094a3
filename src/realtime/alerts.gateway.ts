import { WebSocketGateway } from '@nestjs/websockets';
import { CredentialRecheck } from '../auth/credential-recheck';
import { EventBus } from '../database/event-bus';
import { LiveSocketHub } from './live-socket-hub';
import { ALERTS_SOCKET_PATH } from './ws-routes';
import { AlertsService } from '../alerts/alerts.service';

/** `/api/v1/ws/alerts`: alerts created or changed on any instance, as they happen. */
@WebSocketGateway({ path: ALERTS_SOCKET_PATH })
export class AlertsGateway extends LiveSocketHub {
  constructor(
    bus: EventBus,
    credentials: CredentialRecheck,
    private readonly alerts: AlertsService,
  ) {
    super(bus, credentials);
  }

  protected registerBroadcasts(): Array<() => void> {
    const forward = (type: 'alert.created' | 'alert.updated') => (event: { alertId: string; alert?: unknown }) => {
      if (this.openSockets === 0) return;
      if (event.alert) {
        this.broadcast({ type, data: event.alert });
        return;
      }
      this.alerts
        .viewOf(event.alertId)
        .then((alert) => this.broadcast({ type, data: alert }))
        .catch((error: Error) => this.logger.warn(`could not forward ${type}: ${error.message}`));
    };
    return [this.bus.on('alert.created', forward('alert.created')), this.bus.on('alert.updated', forward('alert.updated'))];
  }
}
