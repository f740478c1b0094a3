import type { AuthMethodUsed, Session } from './session.entity';

export interface SessionView {
  id: string;
  created_at: string;
  last_seen_at: string;
  expires_at: string;
  ip: string | null;
  user_agent: string | null;
  auth_methods: AuthMethodUsed[];
  current: boolean;
}

export function toSessionView(session: Session, current: boolean): SessionView {
  return {
    id: session.id,
    created_at: session.createdAt.toISOString(),
    last_seen_at: session.lastSeenAt.toISOString(),
    expires_at: session.expiresAt.toISOString(),
    ip: session.ip,
    user_agent: session.userAgent,
    auth_methods: session.authMethods,
    current,
  };
}
