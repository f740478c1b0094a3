import { Injectable, OnModuleInit } from '@nestjs/common';
import type { Principal } from '../access/principal';
import { ApiKeysService } from '../api-keys/api-keys.service';
import { EventBus } from '../database/event-bus';
import { LiveSessions } from '../sessions/live-sessions';
import { SessionsService } from '../sessions/sessions.service';
import { UserRegistry } from './user-registry';
import { validityFailure } from './token-validity';

/** Something that may have ended some credentials' validity. */
export type CredentialNews = { kind: 'user'; userId: string } | { kind: 'session'; sessionId: string } | { kind: 'key'; keyId: string } | { kind: 'resync' };

/** Still valid (for a key: until when), no longer valid, or undefined: cannot tell now (the store is down). */
export type RecheckVerdict = { valid: true; keyValidUntil?: number } | { valid: false } | undefined;

/**
 * For whatever holds a credential open past its first check (the socket hubs): news of changes,
 * and a re-check of a principal by the same validity rule the resolver applies per request.
 */
@Injectable()
export class CredentialRecheck implements OnModuleInit {
  private readonly listeners = new Set<(news: CredentialNews) => void>();

  constructor(
    private readonly users: UserRegistry,
    private readonly sessions: SessionsService,
    private readonly liveSessions: LiveSessions,
    private readonly apiKeys: ApiKeysService,
    private readonly bus: EventBus,
  ) {}

  onModuleInit(): void {
    this.users.onNews((news) => this.tell(news));
    this.liveSessions.onNews((news) => this.tell(news));
    this.bus.on('api_key.revoked', (event) => this.tell({ kind: 'key', keyId: event.keyId }));
  }

  onNews(listener: (news: CredentialNews) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Whether this news may concern this principal (and so calls for a re-check). */
  static concerns(news: CredentialNews, principal: Principal): boolean {
    switch (news.kind) {
      case 'user':
        return principal.kind === 'user' && principal.userId === news.userId;
      case 'session':
        return principal.sessionId === news.sessionId;
      case 'key':
        return principal.keyId === news.keyId;
      case 'resync':
        return true;
    }
  }

  async recheck(principal: Principal): Promise<RecheckVerdict> {
    if (principal.kind === 'api_key') {
      const validUntil = principal.keyHash ? await this.apiKeys.validUntil(principal.keyHash).catch(() => undefined) : null;
      if (validUntil === undefined) return undefined;
      return validUntil === null ? { valid: false } : { valid: true, keyValidUntil: validUntil };
    }
    if (!principal.sessionId) return { valid: false };
    let session;
    let state;
    try {
      session = await this.sessions.check(principal.sessionId);
      state = session.live ? await this.users.userState(principal.sub) : null;
    } catch {
      return undefined;
    }
    const token = { uid: principal.userId, iat: principal.tokenIssuedAt ?? 0 };
    return validityFailure(token, state, session) ? { valid: false } : { valid: true };
  }

  private tell(news: CredentialNews): void {
    for (const listener of this.listeners) listener(news);
  }
}
