import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

/** How a session's person proved who they are. */
export const AUTH_METHODS = ['pwd', 'otp', 'recovery', 'webauthn', 'sso'] as const;
export type AuthMethodUsed = (typeof AUTH_METHODS)[number];
/** The methods that are a second factor: a sign-in with one of them counts as a step-up. */
export const SECOND_FACTOR_METHODS: readonly AuthMethodUsed[] = ['otp', 'recovery', 'webauthn'];

/** One sign-in: its tokens carry its id (`sid`); ending it ends them, on every instance. */
// Indexes are created by the migrations (one is partial).
@Index('sessions_live_user_idx', { synchronize: false })
@Index('sessions_expires_at_idx', { synchronize: false })
@Entity('sessions')
export class Session {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ name: 'user_id', type: 'uuid' })
  userId: string;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  /** Written in batches, at most once a minute per session. */
  @Column({ name: 'last_seen_at', type: 'timestamptz', default: () => 'now()' })
  lastSeenAt: Date;

  @Column({ name: 'expires_at', type: 'timestamptz' })
  expiresAt: Date;

  @Column({ type: 'varchar', length: 64, nullable: true })
  ip: string | null;

  @Column({ name: 'user_agent', type: 'varchar', length: 512, nullable: true })
  userAgent: string | null;

  @Column({ name: 'auth_methods', type: 'text', array: true })
  authMethods: AuthMethodUsed[];

  @Column({ name: 'ended_at', type: 'timestamptz', nullable: true })
  endedAt: Date | null;

  @Column({ name: 'end_reason', type: 'varchar', length: 64, nullable: true })
  endReason: string | null;

  /** When a second factor was last verified in this session (sign-in or step-up); null: never. */
  @Column({ name: 'step_up_at', type: 'timestamptz', nullable: true })
  stepUpAt: Date | null;

  /** The identity provider's session id (`sid`) of a single sign-on, for back-channel logout. */
  @Column({ name: 'sso_sid', type: 'varchar', length: 255, nullable: true })
  ssoSid?: string | null;
}
