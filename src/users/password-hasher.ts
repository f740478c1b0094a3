import { availableParallelism } from 'node:os';
import { Injectable } from '@nestjs/common';
import { Algorithm, hash, verify } from '@node-rs/argon2';
import { RetryLaterException } from '../common/retry-later.exception';

/** The stored hash of a user who has no password (single sign-on): no password matches it. */
export const NO_PASSWORD = '';

/** argon2id at OWASP's first recommended setting: m=19 MiB, t=2, p=1. */
const ARGON2_OPTIONS = { algorithm: Algorithm.Argon2id, memoryCost: 19456, timeCost: 2, parallelism: 1 };
/** Hashes running at once: one per core keeps other requests' latency sane during a login flood. */
const MAX_ACTIVE = Math.max(1, availableParallelism());
/** Hashes allowed to wait; beyond this a login is refused (503 + Retry-After) instead of queued. */
const MAX_WAITING = 32;

/**
 * Password hashing with a bound on concurrent work: a flood of logins cannot queue without limit
 * or starve every other request of CPU.
 */
@Injectable()
export class PasswordHasher {
  /** A hash of a random password, verified when the user does not exist so that timing tells nothing. */
  private dummyHash?: Promise<string>;
  private active = 0;
  private readonly waiting: Array<() => void> = [];

  hash(password: string): Promise<string> {
    return this.limited(() => hash(password, ARGON2_OPTIONS));
  }

  async verify(passwordHash: string, password: string): Promise<boolean> {
    // A user without a password (single sign-on: NO_PASSWORD) costs the same time as any other.
    if (!passwordHash.startsWith('$argon2')) return this.verifyAgainstDummy(password);
    try {
      return await this.limited(() => verify(passwordHash, password));
    } catch (error) {
      if (error instanceof RetryLaterException) throw error;
      return false;
    }
  }

  /** Spends the same work as a real verification and always fails. */
  async verifyAgainstDummy(password: string): Promise<false> {
    this.dummyHash ??= this.hash(`dummy-${Math.random()}-${Date.now()}`);
    await this.verify(await this.dummyHash, password);
    return false;
  }

  private async limited<T>(work: () => Promise<T>): Promise<T> {
    if (this.active >= MAX_ACTIVE) {
      if (this.waiting.length >= MAX_WAITING) {
        throw new RetryLaterException('the server is busy checking passwords; retry in a moment', 1, 503);
      }
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else {
      this.active++;
    }
    try {
      return await work();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.active--;
    }
  }
}
