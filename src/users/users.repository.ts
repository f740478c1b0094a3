import { Injectable } from '@nestjs/common';
import { InjectDataSource, InjectRepository } from '@nestjs/typeorm';
import { DataSource, EntityManager, Repository } from 'typeorm';
import type { Role } from '../access/permissions';
import { inTransaction } from '../database/transaction';
import { User } from './user.entity';
import { usernameKey } from '../common/username-key';

/** The columns a write may change; everything else is left as the database has it. */
export interface UserChanges {
  role?: Role;
  disabled?: boolean;
  passwordHash?: string;
}

/**
 * Any number taken once for the whole project: pg_advisory_xact_lock(USER_WRITES_LOCK) serialises
 * writes to users across every instance, so the "last enabled admin" count sees every commit.
 */
const USER_WRITES_LOCK = 72_620_001;

interface UserRow {
  id: string;
  username: string;
  username_key: string;
  password_hash: string;
  role: Role;
  sso_subject: string | null;
  disabled: boolean;
  tokens_valid_after: string | number;
  version: string | number;
  created_at: Date | string;
  updated_at: Date | string;
}

function userOf(row: UserRow): User {
  return Object.assign(new User(), {
    id: row.id,
    username: row.username,
    usernameKey: row.username_key,
    passwordHash: row.password_hash,
    role: row.role,
    ssoSubject: row.sso_subject ?? null,
    disabled: row.disabled,
    tokensValidAfter: Number(row.tokens_valid_after),
    version: Number(row.version),
    createdAt: new Date(row.created_at),
    updatedAt: new Date(row.updated_at),
  });
}

/** The statements of one user-writes transaction. Every read here locks what it reads. */
export class UserWrites {
  constructor(private readonly manager: EntityManager) {}

  async findForUpdate(id: string): Promise<User | null> {
    const rows: UserRow[] = await this.manager.query(`SELECT * FROM "users" WHERE "id" = $1 FOR UPDATE`, [id]);
    return rows.length > 0 ? userOf(rows[0]) : null;
  }

  /** Enabled users holding one of these roles, other than the one given. */
  async countOthers(roles: readonly Role[], exceptId: string): Promise<number> {
    const rows: Array<{ n: string }> = await this.manager.query(
      `SELECT count(*) AS n FROM "users" WHERE "id" <> $1 AND "disabled" = false AND "role" = ANY($2)`,
      [exceptId, roles],
    );
    return Number(rows[0]?.n ?? 0);
  }

  /**
   * Writes only the changed columns, raises the version, and never lowers the token marker.
   * `onlyIf` adds conditions the row must still meet; null when no row matched.
   */
  async update(id: string, changes: UserChanges, tokensValidAfter: number, onlyIf: { passwordHash?: string; enabled?: boolean } = {}): Promise<User | null> {
    const sets = ['"version" = "version" + 1', '"updated_at" = now()', '"tokens_valid_after" = GREATEST("tokens_valid_after", $2)'];
    const where = ['"id" = $1'];
    const params: unknown[] = [id, tokensValidAfter];
    const add = (list: string[], sql: string, value: unknown) => {
      params.push(value);
      list.push(sql.replace('?', `$${params.length}`));
    };
    if (changes.role !== undefined) add(sets, '"role" = ?', changes.role);
    if (changes.disabled !== undefined) add(sets, '"disabled" = ?', changes.disabled);
    if (changes.passwordHash !== undefined) add(sets, '"password_hash" = ?', changes.passwordHash);
    if (onlyIf.passwordHash !== undefined) add(where, '"password_hash" = ?', onlyIf.passwordHash);
    if (onlyIf.enabled) where.push('"disabled" = false');
    const [rows] = await this.manager.query<[UserRow[], number]>(`UPDATE "users" SET ${sets.join(', ')} WHERE ${where.join(' AND ')} RETURNING *`, params);
    return rows.length > 0 ? userOf(rows[0]) : null;
  }

  async delete(id: string): Promise<User | null> {
    const [rows] = await this.manager.query<[UserRow[], number]>(`DELETE FROM "users" WHERE "id" = $1 RETURNING *`, [id]);
    return rows.length > 0 ? userOf(rows[0]) : null;
  }
}

/** The users table: reads, inserts, and writes that run under one lock across instances. */
@Injectable()
export class UsersRepository {
  constructor(
    @InjectRepository(User) private readonly users: Repository<User>,
    @InjectDataSource() private readonly dataSource: DataSource,
  ) {}

  findById(id: string): Promise<User | null> {
    return this.users.findOne({ where: { id } });
  }

  findByUsername(username: string): Promise<User | null> {
    return this.users.findOne({ where: { usernameKey: usernameKey(username) } });
  }

  findBySsoSubject(subject: string): Promise<User | null> {
    return this.users.findOne({ where: { ssoSubject: subject } });
  }

  list(): Promise<User[]> {
    return this.users.find({ order: { createdAt: 'ASC' } });
  }

  count(): Promise<number> {
    return this.users.count();
  }

  insert(fields: { username: string; passwordHash: string; role: Role; ssoSubject?: string }): Promise<User> {
    return this.users.save(this.users.create({ ...fields, usernameKey: usernameKey(fields.username), disabled: false, tokensValidAfter: 0, version: 1 }));
  }

  /**
   * Runs the work in one transaction holding the user-writes lock. Nothing slow (password
   * hashing) belongs inside: hash first, then write.
   */
  writeTransaction<T>(work: (writes: UserWrites) => Promise<T>): Promise<T> {
    return inTransaction(this.dataSource, async (manager) => {
      await manager.query('SELECT pg_advisory_xact_lock($1)', [USER_WRITES_LOCK]);
      return work(new UserWrites(manager));
    });
  }
}
