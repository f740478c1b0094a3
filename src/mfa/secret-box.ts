import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { AppConfig } from '../config/app-config';

const VERSION = 'v1';
const IV_BYTES = 12;
const TAG_BYTES = 16;
const INFO = 'aurorasoc mfa secrets v1';

/** A 256-bit key for TOTP secrets, derived (HKDF-SHA-256) from a configured secret. */
export function deriveKey(secret: string): Buffer {
  return Buffer.from(hkdfSync('sha256', Buffer.from(secret, 'utf8'), Buffer.from('aurorasoc', 'utf8'), Buffer.from(INFO, 'utf8'), 32));
}

/**
 * AES-256-GCM for second-factor secrets at rest. Each sealed value is bound to its owner (the
 * user id is the additional data), so a row copied onto another user does not open. The key is
 * MFA_ENCRYPTION_KEY's when set, else JWT_SECRET_KEY's; values sealed under JWT_SECRET_KEY_PREVIOUS
 * still open, so rotating the signing secret does not lose anyone's TOTP (README "Second factors").
 */
@Injectable()
export class SecretBox {
  private readonly key: Buffer;
  private readonly previousKeys: Buffer[];

  constructor(config: AppConfig) {
    if (config.mfaEncryptionKey) {
      this.key = deriveKey(config.mfaEncryptionKey);
      this.previousKeys = [config.jwtSecret, config.jwtSecretPrevious].filter((s): s is string => Boolean(s)).map(deriveKey);
    } else {
      this.key = deriveKey(config.jwtSecret);
      this.previousKeys = config.jwtSecretPrevious ? [deriveKey(config.jwtSecretPrevious)] : [];
    }
  }

  seal(plain: string, owner: string): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(Buffer.from(owner, 'utf8'));
    const sealed = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return [VERSION, iv.toString('base64url'), sealed.toString('base64url'), cipher.getAuthTag().toString('base64url')].join('.');
  }

  /** The plain text, or null when the value was not sealed for this owner under a key we hold. */
  open(value: string, owner: string): string | null {
    const [version, iv, sealed, tag] = value.split('.');
    if (version !== VERSION || !iv || sealed === undefined || !tag) return null;
    for (const key of [this.key, ...this.previousKeys]) {
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'), { authTagLength: TAG_BYTES });
        decipher.setAAD(Buffer.from(owner, 'utf8'));
        decipher.setAuthTag(Buffer.from(tag, 'base64url'));
        return Buffer.concat([decipher.update(Buffer.from(sealed, 'base64url')), decipher.final()]).toString('utf8');
      } catch {
        // not this key
      }
    }
    return null;
  }
}
