import { Injectable } from '@nestjs/common';
import { InjectDataSource, InjectRepository } from '@nestjs/typeorm';
import { DataSource, Repository } from 'typeorm';
import { Session, type AuthMethodUsed } from './session.entity';

/** Which live sessions to end: these ids, or every one of a user (optionally but one). */
export type SessionSelection = { ids: string[]; userId?: string } | { userId: string; exceptId?: string } | { ssoSid: string; userId?: string };

/** What ending a session tells the rest: whose it was and until when its tokens would have lived. */
export interface EndedSession {
  id: string;
  userId: string;
  expiresAt: Date;
}

/** The sessions table. */
@Injectable()
export class SessionsRepository {
  constructor(
    @InjectRepository(Session) private readonly sessions: Repository<Session>,
    @InjectDataSource() private readonly dataSource: DataSource,
  ) {}

  insert(fields: {
    userId: string;
    expiresAt: Date;
    ip: string | null;
    userAgent: string | null;
    authMethods: AuthMethodUsed[];
    stepUpAt: Date | null;
    ssoSid?: string | null;
  }): Promise<Session> {
    return this.sessions.save(this.sessions.create(fields));
  }

  findById(id: string): Promise<Session | null> {
    return this.sessions.findOne({ where: { id } });
  }

  /** A user's live sessions, newest first. */
  listLive(userId: string): Promise<Session[]> {
    return this.sessions
      .createQueryBuilder('s')
      .where('s.user_id = :userId AND s.ended_at IS NULL AND s.expires_at > now()', { userId })
      .orderBy('s.created_at', 'DESC')
      .addOrderBy('s.id', 'DESC')
      .getMany();
  }

  /** Every live session, for an instance's memory at start and after a resync. */
  loadLive(): Promise<Array<Pick<Session, 'id' | 'userId' | 'expiresAt' | 'lastSeenAt' | 'stepUpAt'>>> {
    return this.sessions
      .createQueryBuilder('s')
      .select(['s.id', 's.userId', 's.expiresAt', 's.lastSeenAt', 's.stepUpAt'])
      .where('s.ended_at IS NULL AND s.expires_at > now()')
      .getMany();
  }

  /** Ends the selected sessions that are still live; returns the ones it ended (none twice). */
  async end(selection: SessionSelection, reason: string): Promise<EndedSession[]> {
    const where = ['"ended_at" IS NULL'];
    const params: unknown[] = [reason];
    if ('ids' in selection) {
      params.push(selection.ids);
      where.push(`"id" = ANY($${params.length}::uuid[])`);
    }
    if (selection.userId !== undefined) {
      params.push(selection.userId);
      where.push(`"user_id" = $${params.length}`);
    }
    if ('ssoSid' in selection) {
      params.push(selection.ssoSid);
      where.push(`"sso_sid" = $${params.length}`);
    }
    if ('exceptId' in selection && selection.exceptId !== undefined) {
      params.push(selection.exceptId);
      where.push(`"id" <> $${params.length}`);
    }
    const [rows] = await this.dataSource.query<[Array<{ id: string; user_id: string; expires_at: Date | string }>, number]>(
      `UPDATE "sessions" SET "ended_at" = now(), "end_reason" = $1 WHERE ${where.join(' AND ')} RETURNING "id", "user_id", "expires_at"`,
      params,
    );
    return rows.map((row) => ({ id: row.id, userId: row.user_id, expiresAt: new Date(row.expires_at) }));
  }

  /**
   * Records a second factor verified in a live session; never moves the time backwards. Returns
   * the time now held, or null when the session is not live.
   */
  async markStepUp(id: string, at: Date): Promise<Date | null> {
    const [rows] = await this.dataSource.query<[Array<{ step_up_at: Date | string }>, number]>(
      `UPDATE "sessions" SET "step_up_at" = GREATEST(COALESCE("step_up_at", $2::timestamptz), $2::timestamptz)
       WHERE "id" = $1 AND "ended_at" IS NULL AND "expires_at" > now() RETURNING "step_up_at"`,
      [id, at.toISOString()],
    );
    return rows.length > 0 ? new Date(rows[0].step_up_at) : null;
  }

  /** Stores when sessions were last seen; never moves a time backwards. */
  async writeLastSeen(seen: Array<[id: string, at: Date]>): Promise<void> {
    if (seen.length === 0) return;
    await this.dataSource.query(
      `UPDATE "sessions" AS s SET "last_seen_at" = GREATEST(s."last_seen_at", v.at)
       FROM unnest($1::uuid[], $2::timestamptz[]) AS v(id, at) WHERE s."id" = v.id`,
      [seen.map(([id]) => id), seen.map(([, at]) => at.toISOString())],
    );
  }
}
