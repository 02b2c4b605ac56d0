/**
 * The guard for every request standpipe makes to an address a customer chose (webhooks,
 * delivery targets). Customers must not be able to reach the machine itself, its private
 * network or a cloud metadata service through us, so the address is judged where the socket
 * is opened: after name resolution, on the very address that will be connected to.
 */
import dns from 'node:dns';
import type { LookupAddress, LookupAllOptions, LookupOptions } from 'node:dns';
import { isIP } from 'node:net';
import type { LookupFunction } from 'node:net';
import { AppError } from './errors.js';

export interface AllowEntry {
  readonly family: 4 | 6;
  /** Network address with the host bits cleared. */
  readonly network: bigint;
  readonly prefix: number;
  readonly source: string;
}

export interface AllowList {
  readonly entries: ReadonlyArray<AllowEntry>;
}

/** The overload of `dns.lookup` the guard needs; `dns.lookup` itself satisfies it. */
export type LookupResolver = (
  hostname: string,
  options: LookupAllOptions,
  callback: (err: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void,
) => void;

export const WEBHOOK_URL_MAX_LENGTH = 200;

interface ParsedIp {
  readonly family: 4 | 6;
  readonly value: bigint;
}

type Range = readonly [network: bigint, prefix: number];

function v4(text: string, prefix: number): Range {
  const parsed = parseIp(text);
  if (parsed?.family !== 4) throw new Error(`bad built-in range ${text}`);
  return [parsed.value, prefix];
}

function v6(text: string, prefix: number): Range {
  const parsed = parseIp(text);
  if (parsed?.family !== 6) throw new Error(`bad built-in range ${text}`);
  return [parsed.value, prefix];
}

// Reserved ranges are included too: nothing legitimate receives webhooks there, and a
// receiver on a documentation or benchmarking range is more likely a probe than a customer.
const BLOCKED_V4: readonly Range[] = [
  v4('0.0.0.0', 8), // "this network", unspecified
  v4('10.0.0.0', 8),
  v4('100.64.0.0', 10), // carrier-grade NAT
  v4('127.0.0.0', 8),
  v4('169.254.0.0', 16), // link-local, includes the metadata address 169.254.169.254
  v4('172.16.0.0', 12),
  v4('192.0.0.0', 24), // IETF protocol assignments
  v4('192.0.2.0', 24),
  v4('192.88.99.0', 24), // former 6to4 relay anycast
  v4('192.168.0.0', 16),
  v4('198.18.0.0', 15),
  v4('198.51.100.0', 24),
  v4('203.0.113.0', 24),
  v4('224.0.0.0', 4), // multicast
  v4('240.0.0.0', 4), // reserved, includes broadcast
];

// Only 2000::/3 is global unicast; everything else is special or unassigned, except the
// forms that embed an IPv4 address, which are judged by that address instead.
const GLOBAL_UNICAST_V6 = v6('2000::', 3);

const BLOCKED_V6: readonly Range[] = [
  v6('2001:db8::', 32), // documentation
  v6('2001:10::', 28), // ORCHID
  v6('2001:20::', 28), // ORCHIDv2
  v6('2001:2::', 48), // benchmarking
  v6('3fff::', 20), // documentation
];

const NAT64_WELL_KNOWN = v6('64:ff9b::', 96);
const SIX_TO_FOUR = v6('2002::', 16);
const TEREDO = v6('2001::', 32);
const V4_MAPPED = v6('::ffff:0:0', 96);
const V4_TRANSLATED = v6('::ffff:0:0:0', 96);
const V4_COMPATIBLE = v6('::', 96);

const MASK32 = 0xffffffffn;

function parseIpv4(text: string): bigint | null {
  const parts = text.split('.');
  if (parts.length !== 4) return null;

  let value = 0n;
  for (const part of parts) {
    // Leading zeros are refused: some parsers read them as octal.
    if (!/^(0|[1-9]\d{0,2})$/.test(part)) return null;
    const n = Number(part);
    if (n > 255) return null;
    value = (value << 8n) | BigInt(n);
  }
  return value;
}

function parseIpv6(text: string): bigint | null {
  let groups: string[];
  let tail = text;

  // A dotted IPv4 tail stands for the last two groups: parse it apart, then splice it in.
  let ipv4Tail: bigint | null = null;
  if (text.includes('.')) {
    const lastColon = text.lastIndexOf(':');
    ipv4Tail = parseIpv4(text.slice(lastColon + 1));
    if (ipv4Tail === null) return null;
    tail = `${text.slice(0, lastColon + 1)}0:0`;
  }

  const halves = tail.split('::');
  if (halves.length > 2) return null;
  const head = halves[0] === '' ? [] : (halves[0] ?? '').split(':');
  const rest = halves.length === 2 && halves[1] !== '' ? (halves[1] ?? '').split(':') : [];

  if (halves.length === 2) {
    const missing = 8 - head.length - rest.length;
    if (missing < 1) return null;
    groups = [...head, ...Array<string>(missing).fill('0'), ...rest];
  } else {
    groups = head;
  }
  if (groups.length !== 8) return null;

  let value = 0n;
  for (const group of groups) {
    if (!/^[0-9a-f]{1,4}$/i.test(group)) return null;
    value = (value << 16n) | BigInt(parseInt(group, 16));
  }
  if (ipv4Tail !== null) value = (value & ~MASK32) | ipv4Tail;
  return value;
}

function parseIp(text: string): ParsedIp | null {
  const unbracketed = text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text;
  // A zone names the interface, not the address; the address alone decides.
  const address = unbracketed.split('%')[0] ?? '';

  const family = isIP(address);
  if (family === 4) {
    const value = parseIpv4(address);
    return value === null ? null : { family: 4, value };
  }
  if (family === 6) {
    const value = parseIpv6(address);
    return value === null ? null : { family: 6, value };
  }
  return null;
}

function inRange(value: bigint, bits: number, [network, prefix]: Range): boolean {
  const shift = BigInt(bits - prefix);
  return value >> shift === network >> shift;
}

function isAllowed(ip: ParsedIp, allow: AllowList): boolean {
  const bits = ip.family === 4 ? 32 : 128;
  return allow.entries.some(
    (entry) =>
      entry.family === ip.family && inRange(ip.value, bits, [entry.network, entry.prefix]),
  );
}

/**
 * The IPv4 address a packet to this IPv6 address really goes to, for the forms where the
 * IPv6 address is only a wrapper: mapped, translated and (deprecated) compatible addresses.
 */
function wrappedIpv4(value: bigint): bigint | null {
  if (inRange(value, 128, V4_MAPPED) || inRange(value, 128, V4_TRANSLATED)) {
    return value & MASK32;
  }
  // :: and ::1 have their own meaning and are judged as IPv6.
  if (inRange(value, 128, V4_COMPATIBLE) && value > 1n) return value & MASK32;
  return null;
}

/** IPv4 addresses that tunnelling and translation prefixes route toward. */
function embeddedIpv4(value: bigint): bigint[] {
  if (inRange(value, 128, NAT64_WELL_KNOWN)) return [value & MASK32];
  if (inRange(value, 128, SIX_TO_FOUR)) return [(value >> 80n) & MASK32];
  if (inRange(value, 128, TEREDO)) {
    // Teredo carries the server in clear and the client with its bits inverted.
    return [(value >> 64n) & MASK32, ~value & MASK32];
  }
  return [];
}

function isBlockedIpv4(value: bigint, allow: AllowList): boolean {
  if (isAllowed({ family: 4, value }, allow)) return false;
  return BLOCKED_V4.some((range) => inRange(value, 32, range));
}

/**
 * Whether a connection to `ip` must be refused. Anything that does not parse as an IP
 * address is refused too, so a surprise from a resolver fails closed.
 */
export function isBlockedAddress(ip: string, allow: AllowList): boolean {
  const parsed = parseIp(ip.trim());
  if (parsed === null) return true;
  if (isAllowed(parsed, allow)) return false;
  if (parsed.family === 4) return isBlockedIpv4(parsed.value, allow);

  const wrapped = wrappedIpv4(parsed.value);
  if (wrapped !== null) return isBlockedIpv4(wrapped, allow);

  if (inRange(parsed.value, 128, NAT64_WELL_KNOWN)) {
    return isBlockedIpv4(parsed.value & MASK32, allow);
  }
  if (!inRange(parsed.value, 128, GLOBAL_UNICAST_V6)) return true;
  if (BLOCKED_V6.some((range) => inRange(parsed.value, 128, range))) return true;
  return embeddedIpv4(parsed.value).some((embedded) => isBlockedIpv4(embedded, allow));
}

function parseAllowEntry(source: string): AllowEntry {
  const bad = new Error(
    `invalid outbound allow-list entry "${source}": expected an IP address or CIDR range`,
  );
  const [addressText = '', prefixText, extra] = source.split('/');
  if (extra !== undefined || addressText.includes('%') || addressText.includes('[')) throw bad;

  const address = parseIp(addressText);
  if (address === null) throw bad;
  const bits = address.family === 4 ? 32 : 128;

  let prefix = bits;
  if (prefixText !== undefined) {
    if (!/^\d{1,3}$/.test(prefixText)) throw bad;
    prefix = Number(prefixText);
    if (prefix > bits) throw bad;
  }

  // Host bits are cleared rather than refused: "10.1.2.3/8" can only mean 10.0.0.0/8.
  const shift = BigInt(bits - prefix);
  const network = (address.value >> shift) << shift;
  return { family: address.family, network, prefix, source };
}

/** Parses a comma-separated list such as "127.0.0.1,::1,10.0.0.0/8". */
export function parseAllowList(value: string | undefined): AllowList {
  const items = (value ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
  return { entries: items.map(parseAllowEntry) };
}

/** Syntax checks for a webhook URL as the customer entered it; the address is judged later. */
export function validateWebhookUrl(url: string): void {
  const fail = (reason: string): never => {
    throw new AppError('bad_request', `webhook URL ${reason}`, { field: 'webhook' });
  };

  if (url.length === 0) fail('is empty');
  if (url.length > WEBHOOK_URL_MAX_LENGTH) {
    fail(`is longer than ${WEBHOOK_URL_MAX_LENGTH} characters`);
  }
  // The stored text is what gets signed, so it must be the text a receiver sees as its URL:
  // URL parsers silently drop surrounding spaces and embedded tabs and newlines.
  // eslint-disable-next-line no-control-regex -- control characters are what it looks for
  if (/[\u0000-\u0020\u007f]/.test(url)) fail('must not contain spaces or control characters');
  // A parser reads "\" as "/", so the request would go elsewhere than the text says.
  if (url.includes('\\')) fail('must not contain a backslash');
  // Parsers accept "http:host" and "http:///host" as well; only the plain form is taken.
  if (!/^https?:\/\/[^/?#\\]/i.test(url)) fail('must be an absolute http:// or https:// URL');

  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return fail('is not a valid URL');
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    fail('must be an absolute http:// or https:// URL');
  }
  // "http://@host/" parses with an empty user name but still carries a user-info part.
  const authority = url.slice(url.indexOf('//') + 2).split(/[/?#\\]/)[0] ?? '';
  if (parsed.username !== '' || parsed.password !== '' || authority.includes('@')) {
    fail('must not contain a user name or password');
  }
  if (parsed.hostname === '') fail('must have a host');
}

function blockedError(hostname: string, address: string): NodeJS.ErrnoException {
  const err: NodeJS.ErrnoException = new Error(
    `refusing to connect to ${hostname}: address ${address} is not allowed for outbound ` +
      'requests (the operator can allow it in STANDPIPE_OUTBOUND_ALLOW)',
  );
  err.code = 'EOUTBOUNDBLOCKED';
  return err;
}

/**
 * A `lookup` for http.request and net.connect that resolves as usual but fails when any
 * resolved address is blocked. Failing on any (rather than dropping the bad ones) keeps a
 * name that mixes public and private answers from being used to reach the private one.
 */
export function guardedLookup(
  allow: AllowList,
  resolver: LookupResolver = dns.lookup,
): LookupFunction {
  return (hostname: string, options: LookupOptions, callback) => {
    const allOptions: LookupAllOptions = { ...options, all: true };

    resolver(hostname, allOptions, (err, addresses) => {
      if (err !== null) {
        callback(err, []);
        return;
      }
      if (addresses.length === 0) {
        const notFound: NodeJS.ErrnoException = new Error(`no address found for ${hostname}`);
        notFound.code = 'ENOTFOUND';
        callback(notFound, []);
        return;
      }

      const blocked = addresses.find((entry) => isBlockedAddress(entry.address, allow));
      if (blocked !== undefined) {
        callback(blockedError(hostname, blocked.address), []);
        return;
      }

      if (options.all === true) {
        callback(null, addresses);
        return;
      }
      const [first] = addresses;
      if (first !== undefined) callback(null, first.address, first.family);
    });
  };
}

/**
 * Node connects to an IP-literal host without calling `lookup`, so literals are judged here,
 * before any request is made.
 */
export function assertHostAllowed(hostname: string, allow: AllowList): void {
  const host = hostname.startsWith('[') && hostname.endsWith(']')
    ? hostname.slice(1, -1)
    : hostname;
  if (isIP(host.split('%')[0] ?? '') === 0) return;

  if (isBlockedAddress(host, allow)) {
    throw new AppError(
      'outbound_blocked',
      `refusing to connect to ${hostname}: the address is not allowed for outbound requests ` +
        '(the operator can allow it in STANDPIPE_OUTBOUND_ALLOW)',
    );
  }
}
