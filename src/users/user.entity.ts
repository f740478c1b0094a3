import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';
import type { Role } from '../auth/permissions';

const bigintAsNumber = { to: (value: number) => value, from: (value: string | null) => Number(value ?? 0) };

@Entity('users')
export class User {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ type: 'varchar', length: 100 })
  username: string;

  @Column({ name: 'password_hash', type: 'varchar', length: 255 })
  passwordHash: string;

  @Column({ type: 'varchar', length: 20 })
  role: Role;

  @Column({ type: 'boolean', default: false })
  disabled: boolean;

  /** Epoch second from which tokens are valid: raised on role, password or status change. */
  @Column({ name: 'tokens_valid_after', type: 'bigint', default: 0, transformer: bigintAsNumber })
  tokensValidAfter: number;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt: Date;
}
