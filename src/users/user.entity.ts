import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';
import type { Role } from '../access/permissions';

const bigintAsNumber = { to: (value: number) => value, from: (value: string | null) => Number(value ?? 0) };

// The unique index on username_key is created by the migrations.
@Index('users_username_key_key', { synchronize: false })
@Entity('users')
export class User {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ type: 'varchar', length: 100 })
  username: string;

  /** usernameKey(username): what names are compared and found by (unique). */
  @Column({ name: 'username_key', type: 'text' })
  usernameKey: string;

  @Column({ name: 'password_hash', type: 'varchar', length: 255 })
  passwordHash: string;

  @Column({ type: 'varchar', length: 20 })
  role: Role;

  /** The identity provider's subject (`sub`) of a user created by single sign-on; null for others. */
  @Column({ name: 'sso_subject', type: 'varchar', length: 255, nullable: true })
  ssoSubject?: string | null;

  @Column({ type: 'boolean', default: false })
  disabled: boolean;

  /** Epoch second from which tokens are valid: raised on role, password or status change. */
  @Column({ name: 'tokens_valid_after', type: 'bigint', default: 0, transformer: bigintAsNumber })
  tokensValidAfter: number;

  /** Raised by every write; instances keep only the newest state they have heard of. */
  @Column({ type: 'bigint', default: 1, transformer: bigintAsNumber })
  version: number;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt: Date;
}
