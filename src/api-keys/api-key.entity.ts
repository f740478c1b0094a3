import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';
import type { Permission } from '../access/permissions';

/** An API key record. The key itself is never stored: only its SHA-256 hash. */
// Indexes are created by the migrations (some are partial or descending); synchronize: false keeps
// migration:generate from proposing to drop them.
@Index('api_keys_key_prefix_key', { synchronize: false })
@Index('api_keys_key_hash_key', { synchronize: false })
@Entity('api_keys')
export class ApiKey {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ name: 'service_name', type: 'varchar', length: 100 })
  serviceName: string;

  @Column({ name: 'key_prefix', type: 'varchar', length: 15 })
  keyPrefix: string;

  @Column({ name: 'key_hash', type: 'char', length: 64 })
  keyHash: string;

  @Column({ type: 'text', array: true })
  permissions: Permission[];

  @Column({ name: 'created_by', type: 'varchar', length: 100 })
  createdBy: string;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @Column({ name: 'expires_at', type: 'timestamptz' })
  expiresAt: Date;

  @Column({ name: 'last_used_at', type: 'timestamptz', nullable: true })
  lastUsedAt: Date | null;

  @Column({ name: 'revoked_at', type: 'timestamptz', nullable: true })
  revokedAt: Date | null;

  /** CIDR ranges the key may be used from; empty: any address. */
  @Column({ name: 'allowed_ips', type: 'text', array: true, default: () => "'{}'" })
  allowedIps: string[];

  /** At most this many requests per window; both null: no limit. */
  @Column({ name: 'rate_limit_limit', type: 'integer', nullable: true })
  rateLimitLimit: number | null;

  @Column({ name: 'rate_limit_window_seconds', type: 'integer', nullable: true })
  rateLimitWindowSeconds: number | null;

  /** The address of the last use, written with last_used_at. */
  @Column({ name: 'last_ip', type: 'varchar', length: 64, nullable: true })
  lastIp: string | null;
}
