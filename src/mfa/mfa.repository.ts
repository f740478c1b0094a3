import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { inTransaction } from '../database/transaction';

type Querier = Pick<EntityManager, 'query'> | DataSource;

/** The rows of a query's answer: TypeORM answers UPDATE and DELETE with [rows, count], others with rows. */
export function rowsOf<T>(answer: unknown): T[] {
  if (Array.isArray(answer) && answer.length === 2 && Array.isArray(answer[0]) && typeof answer[1] === 'number') return answer[0] as T[];
  return answer as T[];
}

async function rows<T>(db: Querier, sql: string, params: unknown[]): Promise<T[]> {
  return rowsOf<T>(await db.query(sql, params));
}

export interface TotpRow {
  secret: string;
  confirmed: boolean;
}

export interface WebAuthnCredentialRow {
  id: string;
  userId: string;
  credentialId: string;
  publicKey: string;
  counter: number;
  transports: string[];
  name: string;
  createdAt: Date;
  lastUsedAt: Date | null;
}

/** Which second factors a user has. */
export interface FactorSummary {
  totp: boolean;
  webauthn: number;
  recoveryCodes: number;
}

interface CredentialRecord {
  id: string;
  user_id: string;
  credential_id: string;
  public_key: string;
  counter: string | number;
  transports: string[];
  name: string;
  created_at: Date | string;
  last_used_at: Date | string | null;
}

function credentialOf(row: CredentialRecord): WebAuthnCredentialRow {
  return {
    id: row.id,
    userId: row.user_id,
    credentialId: row.credential_id,
    publicKey: row.public_key,
    counter: Number(row.counter),
    transports: row.transports ?? [],
    name: row.name,
    createdAt: new Date(row.created_at),
    lastUsedAt: row.last_used_at === null ? null : new Date(row.last_used_at),
  };
}

const HAS_FACTOR = `(EXISTS (SELECT 1 FROM "mfa_totp" t WHERE t."user_id" = $1 AND t."confirmed_at" IS NOT NULL)
  OR EXISTS (SELECT 1 FROM "webauthn_credentials" w WHERE w."user_id" = $1))`;

/**
 * Writes that change which factors a user has: one transaction holding the user's second-factor
 * lock, so that two enrolments (or an enrolment and a removal) cannot both decide they are the
 * first (or the last) factor.
 */
export class FactorWrites {
  constructor(
    private readonly db: Pick<EntityManager, 'query'>,
    readonly userId: string,
  ) {}

  async hasFactor(): Promise<boolean> {
    const [row] = await rows<{ has: boolean }>(this.db, `SELECT ${HAS_FACTOR} AS "has"`, [this.userId]);
    return row.has;
  }

  /** Confirms the pending TOTP secret that was checked (not one that replaced it meanwhile), at the step its code used. */
  async confirmTotp(sealedSecret: string, step: number): Promise<boolean> {
    const done = await rows(
      this.db,
      `UPDATE "mfa_totp" SET "confirmed_at" = now(), "last_step" = $3 WHERE "user_id" = $1 AND "confirmed_at" IS NULL AND "secret" = $2 RETURNING "user_id"`,
      [this.userId, sealedSecret, step],
    );
    return done.length === 1;
  }

  async deleteTotp(): Promise<boolean> {
    return (await rows(this.db, `DELETE FROM "mfa_totp" WHERE "user_id" = $1 AND "confirmed_at" IS NOT NULL RETURNING "user_id"`, [this.userId])).length === 1;
  }

  async insertCredential(fields: {
    credentialId: string;
    publicKey: string;
    counter: number;
    transports: string[];
    name: string;
  }): Promise<WebAuthnCredentialRow> {
    const [row] = await rows<CredentialRecord>(
      this.db,
      `INSERT INTO "webauthn_credentials" ("user_id", "credential_id", "public_key", "counter", "transports", "name")
       VALUES ($1, $2, $3, $4, $5, $6) RETURNING *`,
      [this.userId, fields.credentialId, fields.publicKey, fields.counter, fields.transports, fields.name],
    );
    return credentialOf(row);
  }

  async countCredentials(): Promise<number> {
    const [row] = await rows<{ n: string | number }>(this.db, `SELECT count(*) AS "n" FROM "webauthn_credentials" WHERE "user_id" = $1`, [this.userId]);
    return Number(row.n);
  }

  async deleteCredential(id: string): Promise<boolean> {
    return (await rows(this.db, `DELETE FROM "webauthn_credentials" WHERE "id" = $1 AND "user_id" = $2 RETURNING "id"`, [id, this.userId])).length === 1;
  }

  /** The new set replaces the old one entirely. */
  async replaceRecoveryCodes(hashes: string[]): Promise<void> {
    await this.db.query(`DELETE FROM "mfa_recovery_codes" WHERE "user_id" = $1`, [this.userId]);
    if (hashes.length > 0) {
      await this.db.query(`INSERT INTO "mfa_recovery_codes" ("user_id", "code_hash") SELECT $1::uuid, unnest($2::text[])`, [this.userId, hashes]);
    }
  }
}

/** Second factors, recovery codes and what the two-step sign-in and WebAuthn ceremonies hold between requests. */
@Injectable()
export class MfaRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /** Runs the work holding this user's second-factor lock (see FactorWrites). */
  factorTransaction<T>(userId: string, work: (writes: FactorWrites) => Promise<T>): Promise<T> {
    return inTransaction(this.dataSource, async (manager) => {
      await manager.query(`SELECT pg_advisory_xact_lock(hashtext($1))`, [`aurora-mfa:${userId}`]);
      return work(new FactorWrites(manager, userId));
    });
  }

  async summary(userId: string): Promise<FactorSummary> {
    const [row] = await rows<{ totp: boolean; webauthn: string | number; recovery: string | number }>(
      this.dataSource,
      `SELECT EXISTS (SELECT 1 FROM "mfa_totp" WHERE "user_id" = $1 AND "confirmed_at" IS NOT NULL) AS "totp",
              (SELECT count(*) FROM "webauthn_credentials" WHERE "user_id" = $1) AS "webauthn",
              (SELECT count(*) FROM "mfa_recovery_codes" WHERE "user_id" = $1) AS "recovery"`,
      [userId],
    );
    return { totp: row.totp, webauthn: Number(row.webauthn), recoveryCodes: Number(row.recovery) };
  }

  async hasFactor(userId: string): Promise<boolean> {
    const [row] = await rows<{ has: boolean }>(this.dataSource, `SELECT ${HAS_FACTOR} AS "has"`, [userId]);
    return row.has;
  }

  /** Every user with at least one second factor (an instance's memory at start and after a resync). */
  async usersWithFactors(): Promise<string[]> {
    const found = await rows<{ user_id: string }>(
      this.dataSource,
      `SELECT "user_id" FROM "mfa_totp" WHERE "confirmed_at" IS NOT NULL UNION SELECT "user_id" FROM "webauthn_credentials"`,
      [],
    );
    return found.map((row) => row.user_id);
  }

  async totpOf(userId: string): Promise<TotpRow | null> {
    const [row] = await rows<{ secret: string; confirmed_at: Date | null }>(
      this.dataSource,
      `SELECT "secret", "confirmed_at" FROM "mfa_totp" WHERE "user_id" = $1`,
      [userId],
    );
    return row ? { secret: row.secret, confirmed: row.confirmed_at !== null } : null;
  }

  /** Stores a new pending secret (replacing a pending one); false when TOTP is already confirmed. */
  async savePendingTotp(userId: string, sealedSecret: string): Promise<boolean> {
    const saved = await rows(
      this.dataSource,
      `INSERT INTO "mfa_totp" ("user_id", "secret") VALUES ($1, $2)
       ON CONFLICT ("user_id") DO UPDATE SET "secret" = EXCLUDED."secret", "created_at" = now(), "last_step" = 0
       WHERE "mfa_totp"."confirmed_at" IS NULL RETURNING "user_id"`,
      [userId, sealedSecret],
    );
    return saved.length === 1;
  }

  /**
   * Takes a TOTP time step for the user: true only for the first caller with a step later than any
   * taken before, on any instance (one conditional UPDATE), so a code is accepted once only.
   */
  async claimTotpStep(userId: string, step: number): Promise<boolean> {
    const claimed = await rows(
      this.dataSource,
      `UPDATE "mfa_totp" SET "last_step" = $2 WHERE "user_id" = $1 AND "confirmed_at" IS NOT NULL AND "last_step" < $2 RETURNING "user_id"`,
      [userId, step],
    );
    return claimed.length === 1;
  }

  /** Uses up a recovery code: true for the one caller that deleted it. */
  async useRecoveryCode(userId: string, codeHash: string): Promise<boolean> {
    const used = await rows(this.dataSource, `DELETE FROM "mfa_recovery_codes" WHERE "user_id" = $1 AND "code_hash" = $2 RETURNING "code_hash"`, [
      userId,
      codeHash,
    ]);
    return used.length === 1;
  }

  async credentialsOf(userId: string): Promise<WebAuthnCredentialRow[]> {
    const found = await rows<CredentialRecord>(this.dataSource, `SELECT * FROM "webauthn_credentials" WHERE "user_id" = $1 ORDER BY "created_at", "id"`, [
      userId,
    ]);
    return found.map(credentialOf);
  }

  async credentialByCredentialId(credentialId: string): Promise<WebAuthnCredentialRow | null> {
    const [row] = await rows<CredentialRecord>(this.dataSource, `SELECT * FROM "webauthn_credentials" WHERE "credential_id" = $1`, [credentialId]);
    return row ? credentialOf(row) : null;
  }

  /**
   * Moves a credential's signature counter forward: false when another use got there first or the
   * counter did not grow (a cloned authenticator). Authenticators that keep no counter send 0 always.
   */
  async advanceCounter(id: string, seen: number, next: number): Promise<boolean> {
    const moved = await rows(
      this.dataSource,
      `UPDATE "webauthn_credentials" SET "counter" = $3, "last_used_at" = now() WHERE "id" = $1 AND "counter" = $2 RETURNING "id"`,
      [id, seen, next],
    );
    return moved.length === 1;
  }

  /** A pending sign-in for the account row at `userVersion`, the one whose password was checked. */
  async insertPendingSignIn(tokenHash: string, userId: string, userVersion: number, ttlSeconds: number): Promise<void> {
    await this.dataSource.query(`DELETE FROM "mfa_pending_signins" WHERE "expires_at" < now() - interval '1 hour'`);
    await this.dataSource.query(
      `INSERT INTO "mfa_pending_signins" ("token_hash", "user_id", "user_version", "expires_at") VALUES ($1, $2, $3, now() + make_interval(secs => $4))`,
      [tokenHash, userId, userVersion, ttlSeconds],
    );
  }

  /**
   * The user of a pending sign-in that is unexpired, unused, has fewer than `maxFailures` failures,
   * and whose account has not changed since its password was checked.
   */
  async pendingSignIn(tokenHash: string, maxFailures: number): Promise<string | null> {
    const [row] = await rows<{ user_id: string }>(
      this.dataSource,
      `SELECT p."user_id" FROM "mfa_pending_signins" p JOIN "users" u ON u."id" = p."user_id" AND u."version" = p."user_version"
        WHERE p."token_hash" = $1 AND p."expires_at" > now() AND p."failures" < $2`,
      [tokenHash, maxFailures],
    );
    return row?.user_id ?? null;
  }

  async failPendingSignIn(tokenHash: string): Promise<void> {
    await this.dataSource.query(`UPDATE "mfa_pending_signins" SET "failures" = "failures" + 1 WHERE "token_hash" = $1`, [tokenHash]);
  }

  /**
   * Uses up a pending sign-in: the user for the one caller that deleted it while still good, its
   * account unchanged since the password check (a change committed during the factor check wins).
   */
  async consumePendingSignIn(tokenHash: string, maxFailures: number): Promise<string | null> {
    const [row] = await rows<{ user_id: string }>(
      this.dataSource,
      `DELETE FROM "mfa_pending_signins" p USING "users" u
        WHERE p."token_hash" = $1 AND p."expires_at" > now() AND p."failures" < $2 AND u."id" = p."user_id" AND u."version" = p."user_version"
        RETURNING p."user_id"`,
      [tokenHash, maxFailures],
    );
    return row?.user_id ?? null;
  }

  async insertChallenge(challenge: string, purpose: string, userId: string | null, ttlSeconds: number): Promise<void> {
    await this.dataSource.query(`DELETE FROM "webauthn_challenges" WHERE "expires_at" < now() - interval '1 hour'`);
    await this.dataSource.query(
      `INSERT INTO "webauthn_challenges" ("challenge", "purpose", "user_id", "expires_at") VALUES ($1, $2, $3, now() + make_interval(secs => $4))`,
      [challenge, purpose, userId, ttlSeconds],
    );
  }

  /** Uses up a challenge issued for this purpose (and user): true for the one caller that deleted it in time. */
  async consumeChallenge(challenge: string, purpose: string, userId: string | null): Promise<boolean> {
    const used = await rows(
      this.dataSource,
      `DELETE FROM "webauthn_challenges" WHERE "challenge" = $1 AND "purpose" = $2 AND "user_id" IS NOT DISTINCT FROM $3::uuid AND "expires_at" > now() RETURNING "challenge"`,
      [challenge, purpose, userId],
    );
    return used.length === 1;
  }
}
