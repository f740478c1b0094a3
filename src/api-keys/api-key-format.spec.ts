import { createHash } from 'node:crypto';
import { API_KEY_PATTERN, generateApiKey, generateKeyPrefix, hasValidApiKeyFormat, hashApiKey } from './api-key-format';

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

describe('API key format', () => {
  const keys = Array.from({ length: 200 }, () => generateApiKey());

  it('generates aurora_ + 38 base62 characters that pass the checksum', () => {
    for (const key of keys) {
      expect(key).toMatch(/^aurora_[0-9A-Za-z]{38}$/);
      expect(API_KEY_PATTERN.test(key)).toBe(true);
      expect(hasValidApiKeyFormat(key)).toBe(true);
    }
  });

  it('generates a different key every time, from the whole base62 alphabet', () => {
    expect(new Set(keys).size).toBe(keys.length);
    const seen = new Set(keys.flatMap((key) => [...key.slice('aurora_'.length, 'aurora_'.length + 32)]));
    expect(seen.size).toBe(62);
  });

  it('refuses every single-character change of a key', () => {
    for (const key of keys.slice(0, 20)) {
      for (let position = 0; position < key.length; position++) {
        for (const replacement of `${BASE62}_-+/= `) {
          if (replacement === key[position]) continue;
          const changed = key.slice(0, position) + replacement + key.slice(position + 1);
          if (hasValidApiKeyFormat(changed)) throw new Error(`accepted ${changed}, a change of ${key} at ${position}`);
        }
      }
    }
  });

  it('refuses every truncation, and a key with a character added or removed', () => {
    for (const key of keys.slice(0, 20)) {
      for (let length = 0; length < key.length; length++) expect(hasValidApiKeyFormat(key.slice(0, length))).toBe(false);
      for (let position = 0; position < key.length; position++) {
        expect(hasValidApiKeyFormat(key.slice(0, position) + key.slice(position + 1))).toBe(false);
      }
      expect(hasValidApiKeyFormat(`${key}a`)).toBe(false);
      expect(hasValidApiKeyFormat(`a${key}`)).toBe(false);
      expect(hasValidApiKeyFormat(` ${key}`)).toBe(false);
      expect(hasValidApiKeyFormat(`${key}\n`)).toBe(false);
    }
  });

  it('refuses two swapped neighbouring characters of the secret', () => {
    for (const key of keys.slice(0, 20)) {
      for (let position = 'aurora_'.length; position < key.length - 1; position++) {
        if (key[position] === key[position + 1]) continue;
        const swapped = key.slice(0, position) + key[position + 1] + key[position] + key.slice(position + 2);
        expect(hasValidApiKeyFormat(swapped)).toBe(false);
      }
    }
  });

  it('refuses strings that only look like a key', () => {
    for (const value of ['', 'aurora_', 'aurora_' + '0'.repeat(38), 'AURORA_' + keys[0].slice(7), keys[0].replace('aurora_', 'aurora-')]) {
      expect(hasValidApiKeyFormat(value)).toBe(false);
    }
  });

  it('hashes a key with SHA-256, as 64 lowercase hex characters', () => {
    expect(hashApiKey('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(hashApiKey(keys[0])).toBe(createHash('sha256').update(keys[0]).digest('hex'));
    expect(hashApiKey(keys[0])).toMatch(/^[0-9a-f]{64}$/);
    expect(hashApiKey(keys[0])).not.toBe(hashApiKey(keys[1]));
  });

  it('makes key prefixes of ak_ + 12 random lowercase hex characters', () => {
    const prefixes = Array.from({ length: 500 }, () => generateKeyPrefix());
    for (const prefix of prefixes) expect(prefix).toMatch(/^ak_[0-9a-f]{12}$/);
    expect(new Set(prefixes).size).toBe(prefixes.length);
    const digits = new Set(prefixes.flatMap((prefix) => [...prefix.slice(3)]));
    expect(digits.size).toBe(16);
  });
});
