import { CreateUsers1764370000000 } from './1764370000000-CreateUsers';
import { CreateAuditEvents1764370000001 } from './1764370000001-CreateAuditEvents';
import { CreateApiKeys1764370000002 } from './1764370000002-CreateApiKeys';
import { CreateAlerts1764370000003 } from './1764370000003-CreateAlerts';
import { AddAuditRequestId1764370000004 } from './1764370000004-AddAuditRequestId';
import { AccessRemovalIsFinal1764370000005 } from './1764370000005-AccessRemovalIsFinal';
import { CreateSessions1764370000006 } from './1764370000006-CreateSessions';
import { ApiKeyControls1764370000007 } from './1764370000007-ApiKeyControls';
import { AuditChain1764370000008 } from './1764370000008-AuditChain';
import { SecondFactors1764370000009 } from './1764370000009-SecondFactors';
import { SingleSignOn1764370000010 } from './1764370000010-SingleSignOn';
import { AlertTriage1764370000011 } from './1764370000011-AlertTriage';
import { AlertCounts1764370000012 } from './1764370000012-AlertCounts';
import { PendingSignInVersion1764370000013 } from './1764370000013-PendingSignInVersion';

/** Every migration, in order; the app runs them at start-up. */
export const MIGRATIONS = [
  CreateUsers1764370000000,
  CreateAuditEvents1764370000001,
  CreateApiKeys1764370000002,
  CreateAlerts1764370000003,
  AddAuditRequestId1764370000004,
  AccessRemovalIsFinal1764370000005,
  CreateSessions1764370000006,
  ApiKeyControls1764370000007,
  AuditChain1764370000008,
  SecondFactors1764370000009,
  SingleSignOn1764370000010,
  AlertTriage1764370000011,
  AlertCounts1764370000012,
  PendingSignInVersion1764370000013,
];
