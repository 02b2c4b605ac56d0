import { isIPv4 } from 'node:net';

// Building a formatter costs far more than using one, and lists format many dates.
const formatters = new Map<string, Intl.DateTimeFormat>();

/** Pipe's date form, "YYYY-MM-DD HH:MM:SS", in the given IANA time zone. */
export function formatDateTime(ms: number, timeZone = 'UTC'): string {
  if (timeZone === 'UTC') {
    return new Date(ms).toISOString().slice(0, 19).replace('T', ' ');
  }
  let formatter = formatters.get(timeZone);
  if (formatter === undefined) {
    formatter = new Intl.DateTimeFormat('en-CA', {
      timeZone,
      year: 'numeric', month: '2-digit', day: '2-digit',
      hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23',
    });
    formatters.set(timeZone, formatter);
  }
  const parts = formatter.formatToParts(new Date(ms));
  const get = (type: string) => parts.find((p) => p.type === type)?.value ?? '00';
  return `${get('year')}-${get('month')}-${get('day')} ${get('hour')}:${get('minute')}:${get('second')}`;
}

/** The seed keeps client addresses as the unsigned 32-bit integer of an IPv4 address. */
export function ipv4ToUint(ip: string | undefined): string | null {
  if (ip === undefined) return null;
  const plain = ip.startsWith('::ffff:') ? ip.slice(7) : ip;
  if (!isIPv4(plain)) return null;
  const value = plain.split('.').reduce((acc, octet) => acc * 256 + Number(octet), 0);
  return String(value);
}

export function uintToIpv4(value: string | null): string {
  if (value === null || !/^\d+$/.test(value)) return '';
  const n = Number(value);
  return [24, 16, 8, 0].map((shift) => Math.floor(n / 2 ** shift) % 256).join('.');
}

export function flag(value: number | boolean | null | undefined): string {
  return value === 1 || value === true ? '1' : '0';
}

export function str(value: number | string | null | undefined): string | null {
  return value === null || value === undefined ? null : String(value);
}
