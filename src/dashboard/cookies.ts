import type { Config } from '../config/index.js';

export function parseCookies(header: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    const name = part.slice(0, eq).trim();
    if (!Object.hasOwn(out, name)) out[name] = part.slice(eq + 1).trim();
  }
  return out;
}

/** Over https the cookie is Secure and __Host- prefixed, so no subdomain can set it. */
export function sessionCookieName(config: Pick<Config, 'publicUrl'>): string {
  return secure(config) ? '__Host-standpipe_session' : 'standpipe_session';
}

export function secure(config: Pick<Config, 'publicUrl'>): boolean {
  return config.publicUrl.startsWith('https://');
}

export function serializeCookie(
  config: Pick<Config, 'publicUrl'>,
  name: string,
  value: string,
  options: { maxAgeSeconds?: number } = {},
): string {
  const parts = [`${name}=${value}`, 'Path=/', 'HttpOnly', 'SameSite=Strict'];
  if (secure(config)) parts.push('Secure');
  if (options.maxAgeSeconds !== undefined) parts.push(`Max-Age=${options.maxAgeSeconds}`);
  return parts.join('; ');
}
