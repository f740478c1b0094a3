import type { Permission } from '../access/permissions';

/** WebSocket paths (the global prefix does not apply to gateways) and what each one needs. */
export const ALERTS_SOCKET_PATH = '/api/v1/ws/alerts';
export const AUDIT_SOCKET_PATH = '/api/v1/ws/audit';

const REQUIRED_PERMISSION: Readonly<Record<string, Permission>> = {
  [ALERTS_SOCKET_PATH]: 'alerts:read',
  [AUDIT_SOCKET_PATH]: 'audit:read',
};

/** Every WebSocket path there is, for the answer to a handshake anywhere else. */
export const SOCKET_PATHS: readonly string[] = Object.keys(REQUIRED_PERMISSION);

/**
 * The largest frame (or message) a client may send. The sockets are server-to-client: a client
 * needs no more than a ping-sized frame, and the ws default of 100 MiB let eight frames take 700 MB.
 */
export const MAX_CLIENT_FRAME_BYTES = 4096;

export function permissionForSocketPath(path: string): Permission | undefined {
  return REQUIRED_PERMISSION[path];
}

/** Close codes: 4401 the credential is no longer valid; 1001 the server is going away (ws itself sends 1009 for a frame too big). */
export const CLOSE_CREDENTIAL_INVALID = 4401;
export const CLOSE_GOING_AWAY = 1001;
