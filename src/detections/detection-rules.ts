import type { CreateAlertDto } from '../alerts/alerts.dto';
import { usernameKey } from '../common/username-key';
import type { DetectionWindows } from './detection-windows';

export const DETECTION_SOURCE = 'aurorasoc-auth';
export const DETECTION_WINDOW_MS = 10 * 60_000;
export const STUFFING_FAILURES = 10;
export const STUFFING_ADDRESSES = 3;
export const SPRAYING_USERNAMES = 10;

export type DetectionRule = 'credential_stuffing' | 'password_spraying' | 'api_key_ip_not_allowed' | 'api_key_revoked_in_use';

/** The fields of an audit event (its contract view) that the rules read. */
export interface WatchedEvent {
  seq?: number;
  type: string;
  outcome: string;
  actor: string | null;
  ip: string | null;
  reason: string | null;
  created_at: string;
}

export interface Detection {
  rule: DetectionRule;
  /** Who or what it is about: a username, an address or a key prefix. */
  subject: string;
  alert: CreateAlertDto;
}

const KEY_EVENTS = new Set(['auth.api_key', 'auth.ws_handshake']);
const SUBJECT_MAX = 100;

function shown(text: string): string {
  return text.length > SUBJECT_MAX ? `${text.slice(0, SUBJECT_MAX - 1)}…` : text;
}

function alert(title: string, severity: CreateAlertDto['severity'], description: string): CreateAlertDto {
  return { title, severity, source: DETECTION_SOURCE, description: `${description} Raised by AuroraSOC from its own audit trail.` };
}

/**
 * The contract's four rules over the audit stream (README, "Detections"). Failed sign-ins are
 * auth.login failures that name a username and an address, whatever the reason (a wrong password,
 * an unknown user, a refusal by the per-username limit: an attacker keeps trying through those).
 * Returns what crossed its threshold with this event; whether it becomes an alert (once per rule
 * and subject per window) is the caller's decision.
 */
export async function detect(event: WatchedEvent, windows: DetectionWindows): Promise<Detection[]> {
  if (event.outcome !== 'failure') return [];
  const at = Date.parse(event.created_at);
  if (!Number.isFinite(at)) return [];
  const found: Detection[] = [];
  if (event.type === 'auth.login' && event.actor && event.ip) {
    const username = event.actor;
    // Counted as usernames compare (NFC, case folded): ALICE and alice are one account.
    const account = usernameKey(username);
    const failures = await windows.add(
      `stuffing:failures:${account}`,
      event.seq === undefined ? `${at}:${event.ip}` : String(event.seq),
      at,
      DETECTION_WINDOW_MS,
    );
    const addresses = await windows.add(`stuffing:addresses:${account}`, event.ip, at, DETECTION_WINDOW_MS);
    if (failures >= STUFFING_FAILURES && addresses >= STUFFING_ADDRESSES) {
      found.push({
        rule: 'credential_stuffing',
        subject: account,
        alert: alert(
          `Credential stuffing against account ${shown(username)}`,
          'high',
          `${failures} failed sign-ins for this username from ${addresses} addresses within 10 minutes (the latest from ${event.ip}).`,
        ),
      });
    }
    const usernames = await windows.add(`spraying:${event.ip}`, account, at, DETECTION_WINDOW_MS);
    if (usernames >= SPRAYING_USERNAMES) {
      found.push({
        rule: 'password_spraying',
        subject: event.ip,
        alert: alert(`Password spraying from ${event.ip}`, 'high', `Failed sign-ins for ${usernames} different usernames from this address within 10 minutes.`),
      });
    }
  }
  if (KEY_EVENTS.has(event.type) && event.actor) {
    const key = event.actor;
    if (event.reason === 'ip_not_allowed') {
      found.push({
        rule: 'api_key_ip_not_allowed',
        subject: key,
        alert: alert(
          `API key ${shown(key)} used from a disallowed address`,
          'medium',
          `The key was presented from ${event.ip ?? 'an unknown address'}, outside its allowed_ips, and refused.`,
        ),
      });
    }
    if (event.reason === 'api_key_revoked') {
      found.push({
        rule: 'api_key_revoked_in_use',
        subject: key,
        alert: alert(
          `Revoked API key ${shown(key)} still in use`,
          'high',
          `A revoked key, or a secret rotated out whose grace has ended, was presented from ${event.ip ?? 'an unknown address'} and refused: whoever holds it was not told, or should not have it.`,
        ),
      });
    }
  }
  return found;
}
