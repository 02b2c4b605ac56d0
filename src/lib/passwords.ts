import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';

const KEY_LENGTH = 64;
/** scrypt cost: about 50 ms and 16 MiB per hash on a current server core. */
const PARAMS = { N: 16384, r: 8, p: 1, maxmem: 64 * 1024 * 1024 };

function derive(password: string, salt: Buffer, params: typeof PARAMS): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(password.normalize('NFKC'), salt, KEY_LENGTH, params, (err, key) => {
      if (err === null) resolve(key);
      else reject(err);
    });
  });
}

/** A stored password: `scrypt$N$r$p$salt$hash`, so the cost can rise later. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await derive(password, salt, PARAMS);
  return ['scrypt', PARAMS.N, PARAMS.r, PARAMS.p, salt.toString('base64url'),
    key.toString('base64url')].join('$');
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, n, r, p, salt, hash] = stored.split('$');
  if (scheme !== 'scrypt' || salt === undefined || hash === undefined) return false;
  const expected = Buffer.from(hash, 'base64url');
  const params = { ...PARAMS, N: Number(n), r: Number(r), p: Number(p) };
  const key = await derive(password, Buffer.from(salt, 'base64url'), params);
  return key.length === expected.length && timingSafeEqual(key, expected);
}

/** A password check that takes as long as a real one, for names that have no password. */
export async function spendPasswordTime(password: string): Promise<void> {
  await derive(password, Buffer.alloc(16), PARAMS);
}

export function checkPasswordStrength(password: string): string | null {
  if (password.length < 10) return 'the password must be at least 10 characters';
  if (password.length > 200) return 'the password must be at most 200 characters';
  return null;
}
