import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

/** A logged-out token's id, denied until the token would have expired anyway. */
@Index('revoked_tokens_expires_at_idx', { synchronize: false })
@Entity('revoked_tokens')
export class RevokedToken {
  @PrimaryColumn({ type: 'varchar', length: 64 })
  jti: string;

  @Column({ name: 'expires_at', type: 'timestamptz' })
  expiresAt: Date;
}
