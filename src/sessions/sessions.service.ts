import { ForbiddenException, Injectable, NotFoundException, OnModuleInit } from '@nestjs/common';
import type { Principal } from '../access/principal';
import { AuditRecorder } from '../audit/audit-recorder';
import type { ClientInfo } from '../common/client-info';
import { EventBus } from '../database/event-bus';
import { UserLifecycle, type AccessChange } from '../users/user-lifecycle';
import { UsersRepository } from '../users/users.repository';
import { LiveSessions, type SessionCheck } from './live-sessions';
import { SECOND_FACTOR_METHODS, type AuthMethodUsed, type Session } from './session.entity';
import { SessionsRepository, type EndedSession, type SessionSelection } from './sessions.repository';
import { SessionView, toSessionView } from './sessions.dto';

/** Why sessions end, as recorded (`end_reason`, and the audit event's reason). */
export type EndReason =
  'logout' | 'ended_by_user' | 'ended_by_admin' | 'password_changed' | 'role_changed' | 'disabled' | 'deleted' | 'idle' | 'provider_logout';

const REASON_OF_CHANGE: Record<AccessChange, EndReason> = { role: 'role_changed', disabled: 'disabled', password: 'password_changed', deleted: 'deleted' };

/** Who ends sessions: a person (username) and where from; null for the server itself (idle). */
export interface Ender {
  sub: string | null;
  client?: ClientInfo;
}

/**
 * Sign-ins as sessions: created at every sign-in, listed and ended by their user or an admin, ended
 * when the user's access changes. An end is written, applied here at once and sent to every other
 * instance over the bus; it is audited as `session.ended` with who ended it and why.
 */
@Injectable()
export class SessionsService implements OnModuleInit {
  constructor(
    private readonly sessions: SessionsRepository,
    private readonly live: LiveSessions,
    private readonly users: UsersRepository,
    private readonly lifecycle: UserLifecycle,
    private readonly bus: EventBus,
    private readonly audit: AuditRecorder,
  ) {}

  onModuleInit(): void {
    this.lifecycle.onAccessChanged(async ({ user, changes, actor, client }) => {
      await this.end({ userId: user.id }, REASON_OF_CHANGE[changes[0]], { sub: actor, client }, user.username);
    });
  }

  /** A sign-in with a second factor counts as one verified in the session (step-up) from its start. */
  async create(userId: string, expiresAt: Date, client: ClientInfo, authMethods: AuthMethodUsed[], ssoSid: string | null = null): Promise<Session> {
    const now = new Date();
    const stepUpAt = authMethods.some((method) => SECOND_FACTOR_METHODS.includes(method)) ? now : null;
    const session = await this.sessions.insert({ userId, expiresAt, ip: client.ip, userAgent: client.userAgent, authMethods, stepUpAt, ssoSid });
    this.live.add(session.id, userId, expiresAt.getTime(), now.getTime(), stepUpAt?.getTime() ?? 0);
    return session;
  }

  /**
   * A second factor was just verified in this session: written, applied here at once and told to
   * every other instance, so sensitive actions are allowed on all of them. False when the session
   * is no longer live.
   */
  async markStepUp(sessionId: string, at = new Date()): Promise<boolean> {
    const held = await this.sessions.markStepUp(sessionId, at);
    if (!held) return false;
    await this.bus.publish({ type: 'session.stepped_up', sessionId, at: held.getTime() });
    return true;
  }

  /** The state of a token's session; a session found idle is ended here and now. */
  async check(sessionId: string): Promise<SessionCheck> {
    const state = await this.live.check(sessionId);
    if (!state.live && state.why === 'idle') await this.end({ ids: [sessionId] }, 'idle', { sub: null });
    return state;
  }

  /** Read from the database: whether a session has not been ended (by anyone, on any instance). */
  async isStillLive(sessionId: string): Promise<boolean> {
    const row = await this.sessions.findById(sessionId);
    return row !== null && row.endedAt === null;
  }

  touch(sessionId: string): void {
    this.live.touch(sessionId);
  }

  /** The caller's live sessions, newest first, theirs marked. */
  async listOwn(principal: Principal): Promise<SessionView[]> {
    const { userId, sessionId } = this.personOf(principal);
    return this.listOf(userId, sessionId);
  }

  async listOfUser(userId: string, caller: Principal): Promise<SessionView[]> {
    await this.requireUser(userId);
    return this.listOf(userId, caller.sessionId);
  }

  /** Ends one of the caller's sessions (the current one included); another's or an unknown one is 404. */
  async endOwn(principal: Principal, sessionId: string, client: ClientInfo): Promise<void> {
    const { userId, sessionId: current } = this.personOf(principal);
    const reason: EndReason = sessionId === current ? 'logout' : 'ended_by_user';
    const ended = await this.end({ ids: [sessionId], userId }, reason, { sub: principal.sub, client }, principal.sub);
    if (ended.length === 0) throw new NotFoundException('no live session of yours with this id');
  }

  async endOwnOthers(principal: Principal, client: ClientInfo, reason: EndReason = 'ended_by_user'): Promise<void> {
    const { userId, sessionId } = this.personOf(principal);
    await this.end({ userId, exceptId: sessionId }, reason, { sub: principal.sub, client }, principal.sub);
  }

  async endAllOfUser(userId: string, caller: Principal, client: ClientInfo): Promise<void> {
    const user = await this.requireUser(userId);
    await this.end({ userId }, 'ended_by_admin', { sub: caller.sub, client }, user.username);
  }

  /** Ends the current session of a token (logout). */
  async logout(principal: Principal, client: ClientInfo): Promise<void> {
    if (principal.sessionId) await this.end({ ids: [principal.sessionId] }, 'logout', { sub: principal.sub, client }, principal.sub);
  }

  /** Writes the end, applies it here at once, tells every other instance, and audits each session. */
  async end(selection: SessionSelection, reason: EndReason, ender: Ender, ownerName?: string): Promise<EndedSession[]> {
    const ended = await this.sessions.end(selection, reason);
    if (ended.length === 0) return ended;
    const sessions = ended.map((session) => ({ id: session.id, expiresAt: session.expiresAt.getTime() }));
    await this.bus.publish({ type: 'session.ended', sessions });
    for (const session of ended) {
      const whose = ownerName ?? session.userId;
      this.audit.record({
        type: 'session.ended',
        outcome: 'success',
        actor: ender.sub,
        reason: `session ${session.id} of ${whose}: ${reason}`,
        client: ender.client,
      });
    }
    return ended;
  }

  private async listOf(userId: string, currentSessionId: string | undefined): Promise<SessionView[]> {
    await this.live.flush();
    const rows = await this.sessions.listLive(userId);
    return rows.map((row) => toSessionView(row, row.id === currentSessionId));
  }

  private personOf(principal: Principal): { userId: string; sessionId: string | undefined } {
    if (principal.kind !== 'user' || !principal.userId) throw new ForbiddenException('API keys have no sessions; sign in as a person');
    return { userId: principal.userId, sessionId: principal.sessionId };
  }

  private async requireUser(userId: string): Promise<{ username: string }> {
    const user = await this.users.findById(userId);
    if (!user) throw new NotFoundException('no user with this id');
    return user;
  }
}
