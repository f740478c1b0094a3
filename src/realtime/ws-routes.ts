import type { Permission } from '../auth/permissions';

/** WebSocket paths (the global prefix does not apply to gateways) and what each one needs. */
export const ALERTS_SOCKET_PATH = '/api/v1/ws/alerts';
export const AUDIT_SOCKET_PATH = '/api/v1/ws/audit';

const REQUIRED_PERMISSION: Readonly<Record<string, Permission>> = {
  [ALERTS_SOCKET_PATH]: 'alerts:read',
  [AUDIT_SOCKET_PATH]: 'audit:read',
};

export function permissionForSocketPath(path: string): Permission | undefined {
  return REQUIRED_PERMISSION[path];
}

/** Close codes: 4401 the credential is no longer valid; 1001 the server is going away. */
export const CLOSE_CREDENTIAL_INVALID = 4401;
export const CLOSE_GOING_AWAY = 1001;
