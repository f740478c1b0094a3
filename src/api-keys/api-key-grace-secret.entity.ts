import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

/** A secret replaced by a rotation, still accepted until its own valid_until (its grace period). */
@Index('api_key_grace_secrets_key_id_idx', { synchronize: false })
@Entity('api_key_grace_secrets')
export class ApiKeyGraceSecret {
  @PrimaryColumn({ name: 'key_hash', type: 'char', length: 64 })
  keyHash: string;

  @Column({ name: 'key_id', type: 'uuid' })
  keyId: string;

  @Column({ name: 'valid_until', type: 'timestamptz' })
  validUntil: Date;
}
