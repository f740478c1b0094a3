import { Client, Pool } from 'pg';
import { BusEvent, EventBus } from './event-bus';

const CHANNEL = 'aurora_events';
/** PostgreSQL refuses NOTIFY payloads of 8000 bytes or more. */
const MAX_PAYLOAD_BYTES = 7900;
const MIN_BACKOFF_MS = 200;
const MAX_BACKOFF_MS = 5000;

interface Envelope {
  origin: string;
  event: BusEvent;
}

/**
 * LISTEN/NOTIFY on a dedicated connection that re-subscribes with backoff when it drops; each
 * reconnect triggers a resync. Publishing uses a small pool of its own so that it never queues
 * behind the listener.
 */
export class PostgresEventBus extends EventBus {
  private listener?: Client;
  private publisher?: Pool;
  private isConnected = false;
  private stopped = false;
  private backoffMs = MIN_BACKOFF_MS;
  private reconnectTimer?: NodeJS.Timeout;
  private hasConnectedBefore = false;

  constructor(private readonly databaseUrl: string) {
    super();
  }

  get connected(): boolean {
    return this.isConnected;
  }

  async start(): Promise<void> {
    this.stopped = false;
    await this.connect();
    this.hasConnectedBefore = true;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.reconnectTimer);
    const listener = this.listener;
    const publisher = this.publisher;
    this.listener = undefined;
    this.publisher = undefined;
    await Promise.all([listener?.end().catch(() => undefined), publisher?.end().catch(() => undefined)]);
    this.isConnected = false;
  }

  protected async send(event: BusEvent): Promise<void> {
    const payload = JSON.stringify({ origin: this.instanceId, event } satisfies Envelope);
    if (Buffer.byteLength(payload) > MAX_PAYLOAD_BYTES) {
      throw new Error(`event ${event.type} is too large for NOTIFY`);
    }
    if (this.stopped) return;
    this.publisher ??= this.createPublisher();
    await this.publisher.query('SELECT pg_notify($1, $2)', [CHANNEL, payload]);
  }

  private createPublisher(): Pool {
    const pool = new Pool({ connectionString: this.databaseUrl, max: 2, connectionTimeoutMillis: 3000, query_timeout: 4000, idleTimeoutMillis: 30_000 });
    pool.on('error', (error) => this.logger.warn(`event bus publisher: ${error.message}`));
    return pool;
  }

  private async connect(): Promise<void> {
    const client = new Client({ connectionString: this.databaseUrl, connectionTimeoutMillis: 3000, keepAlive: true });
    client.on('notification', (message) => this.onNotification(message.payload));
    client.on('error', (error) => this.onDisconnect(client, error));
    client.on('end', () => this.onDisconnect(client));
    try {
      await client.connect();
      await client.query(`LISTEN ${CHANNEL}`);
    } catch (error) {
      client.removeAllListeners('end');
      client.end().catch(() => undefined);
      this.onDisconnect(client, error as Error, true);
      return;
    }
    this.listener = client;
    this.isConnected = true;
    this.backoffMs = MIN_BACKOFF_MS;
    this.announceConnection(true);
    if (this.hasConnectedBefore) {
      this.reconnects++;
      this.logger.log('event bus reconnected; subscribers resync');
      this.announceResync();
    }
  }

  private onDisconnect(client: Client, error?: Error, neverConnected = false): void {
    if (!neverConnected && this.listener !== client) return;
    this.listener = undefined;
    if (this.isConnected) {
      this.isConnected = false;
      this.announceConnection(false);
      this.logger.warn(`event bus disconnected${error ? `: ${error.message}` : ''}`);
    }
    client.removeAllListeners('end');
    client.end().catch(() => undefined);
    if (this.stopped) return;
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = setTimeout(() => void this.connect(), this.backoffMs);
    this.reconnectTimer.unref();
    this.backoffMs = Math.min(this.backoffMs * 2, MAX_BACKOFF_MS);
  }

  private onNotification(payload: string | undefined): void {
    if (!payload) return;
    let envelope: Envelope;
    try {
      envelope = JSON.parse(payload) as Envelope;
    } catch {
      return;
    }
    if (envelope.origin === this.instanceId || !envelope.event?.type) return;
    this.deliver(envelope.event);
  }
}
