import { createCipheriv, createDecipheriv, createHash, randomBytes, randomInt } from 'node:crypto';

import { AppError } from './errors.js';

/**
 * Encrypts stored credentials with AES-256-GCM. The stored form is versioned so that the
 * algorithm or key can change later without guessing what an old value is.
 */
export class SecretBox {
  readonly #key: Buffer;

  constructor(key: Buffer) {
    if (key.length !== 32) throw new Error('secret key must be 32 bytes');
    this.#key = key;
  }

  seal(plain: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.#key, iv);
    const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return `v1:${Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64')}`;
  }

  /**
   * Decrypts a stored value. Failure means the value was sealed with another key: every
   * process and command must share the data directory's secret.key or STANDPIPE_SECRET_KEY,
   * and no retry can mend that.
   */
  open(sealed: string): string {
    try {
      if (!sealed.startsWith('v1:')) throw new Error('unknown secret format');
      const raw = Buffer.from(sealed.slice(3), 'base64');
      const decipher = createDecipheriv('aes-256-gcm', this.#key, raw.subarray(0, 12));
      decipher.setAuthTag(raw.subarray(12, 28));
      return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()])
        .toString('utf8');
    } catch (err) {
      throw new AppError('internal', 'a stored secret cannot be decrypted with this ' +
        "process's secret key: run every standpipe command with the same --data directory " +
        'or STANDPIPE_SECRET_KEY', { retryable: false, cause: err });
    }
  }
}

/** API keys carry 256 random bits, so a fast hash is enough to keep them unusable if read. */
export function hashApiKey(apiKey: string): string {
  return createHash('sha256').update(apiKey.trim(), 'utf8').digest('hex');
}

export function randomHex(bytes: number): string {
  return randomBytes(bytes).toString('hex');
}

const CODE_ALPHABET = 'abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789';

export function randomCode(length: number): string {
  let out = '';
  for (let i = 0; i < length; i += 1) out += CODE_ALPHABET[randomInt(CODE_ALPHABET.length)];
  return out;
}

/** Lower-case letters and digits: safe in file names, URLs and every storage target. */
export function randomToken(length: number): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  let out = '';
  for (let i = 0; i < length; i += 1) out += alphabet[randomInt(alphabet.length)];
  return out;
}
