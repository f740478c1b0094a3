import { Alert } from '../alerts/alert.entity';
import { ApiKey } from '../api-keys/api-key.entity';
import { ApiKeyGraceSecret } from '../api-keys/api-key-grace-secret.entity';
import { AuditEvent } from '../audit/audit-event.entity';
import { RevokedToken } from '../auth/revoked-token.entity';
import { User } from '../users/user.entity';
import { CreateUsers1764370000000 } from './migrations/1764370000000-CreateUsers';
import { CreateAuditEvents1764370000001 } from './migrations/1764370000001-CreateAuditEvents';
import { CreateApiKeys1764370000002 } from './migrations/1764370000002-CreateApiKeys';
import { CreateAlerts1764370000003 } from './migrations/1764370000003-CreateAlerts';
import { AddAuditRequestId1764370000004 } from './migrations/1764370000004-AddAuditRequestId';
import { AccessRemovalIsFinal1764370000005 } from './migrations/1764370000005-AccessRemovalIsFinal';

export const ENTITIES = [User, RevokedToken, AuditEvent, ApiKey, ApiKeyGraceSecret, Alert];
export const MIGRATIONS = [
  CreateUsers1764370000000,
  CreateAuditEvents1764370000001,
  CreateApiKeys1764370000002,
  CreateAlerts1764370000003,
  AddAuditRequestId1764370000004,
  AccessRemovalIsFinal1764370000005,
];
