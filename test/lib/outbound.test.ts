import type { LookupAddress } from 'node:dns';
import { describe, expect, it } from 'vitest';
import { AppError } from '../../src/lib/errors.js';
import {
  assertHostAllowed,
  guardedLookup,
  isBlockedAddress,
  parseAllowList,
  validateWebhookUrl,
} from '../../src/lib/outbound.js';
import type { LookupResolver } from '../../src/lib/outbound.js';

const none = parseAllowList(undefined);

describe('parseAllowList', () => {
  it('reads addresses and ranges of both families', () => {
    const list = parseAllowList(' 127.0.0.1, ::1 ,10.0.0.0/8,fd00::/8,');
    expect(list.entries.map((e) => [e.family, e.prefix, e.source])).toEqual([
      [4, 32, '127.0.0.1'],
      [6, 128, '::1'],
      [4, 8, '10.0.0.0/8'],
      [6, 8, 'fd00::/8'],
    ]);
  });

  it('is empty for an unset or blank value', () => {
    expect(parseAllowList(undefined).entries).toEqual([]);
    expect(parseAllowList('').entries).toEqual([]);
    expect(parseAllowList(' , ').entries).toEqual([]);
  });

  it.each([
    'localhost',
    '10.0.0.0/33',
    '::1/129',
    '10.0.0.0/',
    '10.0.0.0/8/8',
    '10.0.0.0/-1',
    '300.1.1.1',
    '010.0.0.1',
    '1.2.3',
    'fe80::1%eth0',
    '[::1]',
    '*',
  ])('refuses %s and names it', (entry) => {
    expect(() => parseAllowList(`127.0.0.1,${entry}`)).toThrow(`"${entry}"`);
  });

  it('clears host bits of a range', () => {
    const list = parseAllowList('10.1.2.3/8');
    expect(isBlockedAddress('10.200.0.1', list)).toBe(false);
    expect(isBlockedAddress('11.0.0.1', list)).toBe(false);
    expect(isBlockedAddress('192.168.0.1', list)).toBe(true);
  });
});

describe('isBlockedAddress', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.255.255.254', 'loopback'],
    ['0.0.0.0', 'unspecified'],
    ['0.1.2.3', 'this network'],
    ['10.0.0.1', 'private'],
    ['10.255.255.255', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['100.64.0.1', 'CGNAT'],
    ['100.127.255.255', 'CGNAT'],
    ['169.254.0.1', 'link-local'],
    ['169.254.169.254', 'metadata'],
    ['224.0.0.1', 'multicast'],
    ['239.255.255.250', 'multicast'],
    ['240.0.0.1', 'reserved'],
    ['255.255.255.255', 'broadcast'],
    ['192.0.2.10', 'documentation'],
    ['198.18.0.1', 'benchmarking'],
    ['::1', 'IPv6 loopback'],
    ['::', 'IPv6 unspecified'],
    ['fc00::1', 'unique local'],
    ['fd12:3456::1', 'unique local'],
    ['fd00:ec2::254', 'metadata'],
    ['fe80::1', 'link-local'],
    ['fe80::1%eth0', 'link-local with zone'],
    ['febf::1', 'link-local upper edge'],
    ['ff02::1', 'multicast'],
    ['2001:db8::1', 'documentation'],
    ['100::1', 'discard'],
    ['::ffff:127.0.0.1', 'mapped loopback'],
    ['::ffff:7f00:1', 'mapped loopback in hex'],
    ['::ffff:10.1.2.3', 'mapped private'],
    ['::ffff:169.254.169.254', 'mapped metadata'],
    ['::ffff:0:a9fe:a9fe', 'translated metadata'],
    ['::127.0.0.1', 'compatible loopback'],
    ['::a00:1', 'compatible private'],
    ['64:ff9b::a9fe:a9fe', 'NAT64 of metadata'],
    ['64:ff9b::7f00:1', 'NAT64 of loopback'],
    ['64:ff9b:1::1', 'local-use NAT64'],
    ['2002:7f00:1::1', '6to4 of loopback'],
    ['2002:a9fe:a9fe::', '6to4 of metadata'],
    ['2002:c0a8:101::1', '6to4 of private'],
    ['not-an-ip', 'not an address'],
    ['', 'empty'],
  ])('blocks %s (%s)', (ip) => {
    expect(isBlockedAddress(ip, none)).toBe(true);
  });

  it.each([
    ['93.184.216.34', 'public IPv4'],
    ['8.8.8.8', 'public IPv4'],
    ['1.1.1.1', 'public IPv4'],
    ['172.15.255.255', 'just below 172.16/12'],
    ['172.32.0.0', 'just above 172.16/12'],
    ['100.63.255.255', 'just below CGNAT'],
    ['100.128.0.0', 'just above CGNAT'],
    ['11.0.0.1', 'just above 10/8'],
    ['223.255.255.255', 'just below multicast'],
    ['2606:4700:4700::1111', 'public IPv6'],
    ['2a00:1450:4001::1', 'public IPv6'],
    ['::ffff:93.184.216.34', 'mapped public'],
    ['64:ff9b::808:808', 'NAT64 of public'],
    ['2002:808:808::1', '6to4 of public'],
  ])('lets %s through (%s)', (ip) => {
    expect(isBlockedAddress(ip, none)).toBe(false);
  });

  it('lets listed addresses and ranges through, and only those', () => {
    const allow = parseAllowList('127.0.0.1,::1,10.0.0.0/8,fd00::/8');
    expect(isBlockedAddress('127.0.0.1', allow)).toBe(false);
    expect(isBlockedAddress('127.0.0.2', allow)).toBe(true);
    expect(isBlockedAddress('::1', allow)).toBe(false);
    expect(isBlockedAddress('10.20.30.40', allow)).toBe(false);
    expect(isBlockedAddress('fd00::2', allow)).toBe(false);
    expect(isBlockedAddress('fc00::2', allow)).toBe(true);
    expect(isBlockedAddress('192.168.0.1', allow)).toBe(true);
    expect(isBlockedAddress('169.254.169.254', allow)).toBe(true);
  });

  it('judges a mapped address against IPv4 entries of the allow list', () => {
    const allow = parseAllowList('127.0.0.1');
    expect(isBlockedAddress('::ffff:127.0.0.1', allow)).toBe(false);
    expect(isBlockedAddress('::ffff:127.0.0.2', allow)).toBe(true);
    expect(isBlockedAddress('::1', allow)).toBe(true);
  });
});

describe('validateWebhookUrl', () => {
  it.each([
    'http://127.0.0.1:8080/hook',
    'https://hooks.example.com/pipe?token=abc&x=%20y',
    "https://example.com/a?q='single'&r=\"double\"",
    'HTTPS://EXAMPLE.COM/',
    'http://[::1]:9000/x',
    `https://example.com/${'a'.repeat(200 - 'https://example.com/'.length)}`,
  ])('accepts %s', (url) => {
    expect(() => validateWebhookUrl(url)).not.toThrow();
  });

  it.each([
    ['ftp://example.com/hook', 'absolute http'],
    ['javascript:alert(1)', 'absolute http'],
    ['file:///etc/passwd', 'absolute http'],
    ['/relative/hook', 'absolute http'],
    ['example.com/hook', 'absolute http'],
    ['http:example.com', 'absolute http'],
    ['http:///example.com', 'absolute http'],
    ['http://', 'absolute http'],
    [`https://example.com/${'a'.repeat(201 - 'https://example.com/'.length)}`, '200'],
    ['http://user:pass@example.com/', 'user name'],
    ['http://user@example.com/', 'user name'],
    ['http://@example.com/', 'user name'],
    [' http://example.com/', 'spaces'],
    ['http://example.com/a b', 'spaces'],
    ['http://example.com/\n', 'control'],
    ['http://exa mple.com/', 'spaces'],
    ['http://[::1/', 'not a valid URL'],
    ['', 'empty'],
  ])('refuses %j', (url, reason) => {
    let caught: unknown;
    try {
      validateWebhookUrl(url);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(AppError);
    const err = caught as AppError;
    expect(err.code).toBe('bad_request');
    expect(err.field).toBe('webhook');
    expect(err.message).toContain(reason);
  });
});

type Outcome = { err: NodeJS.ErrnoException | null; address: unknown; family?: number };

/** A resolver that answers from a table and never touches the network. */
function stubResolver(table: Record<string, LookupAddress[]>, calls: string[] = []) {
  const resolver: LookupResolver = (hostname, _options, callback) => {
    calls.push(hostname);
    setImmediate(() => {
      const answer = table[hostname];
      if (answer === undefined) {
        const err: NodeJS.ErrnoException = new Error(`getaddrinfo ENOTFOUND ${hostname}`);
        err.code = 'ENOTFOUND';
        callback(err, []);
        return;
      }
      callback(null, answer);
    });
  };
  return resolver;
}

function runLookup(
  lookup: ReturnType<typeof guardedLookup>,
  hostname: string,
  all: boolean,
): Promise<Outcome> {
  return new Promise((resolve) => {
    lookup(hostname, { all }, (err, address, family) => resolve({ err, address, family }));
  });
}

describe('guardedLookup', () => {
  const table: Record<string, LookupAddress[]> = {
    'hooks.example.com': [{ address: '10.0.0.5', family: 4 }],
    'mixed.example.com': [
      { address: '93.184.216.34', family: 4 },
      { address: '169.254.169.254', family: 4 },
    ],
    'v6.example.com': [{ address: 'fd00:ec2::254', family: 6 }],
    'mapped.example.com': [{ address: '::ffff:127.0.0.1', family: 6 }],
    'public.example.com': [
      { address: '93.184.216.34', family: 4 },
      { address: '2606:2800:220:1::1', family: 6 },
    ],
    'empty.example.com': [],
  };

  it.each([
    ['hooks.example.com', '10.0.0.5'],
    ['mixed.example.com', '169.254.169.254'],
    ['v6.example.com', 'fd00:ec2::254'],
    ['mapped.example.com', '::ffff:127.0.0.1'],
  ])('fails for %s, which resolves to %s', async (host, address) => {
    const lookup = guardedLookup(none, stubResolver(table));
    for (const all of [true, false]) {
      const { err } = await runLookup(lookup, host, all);
      expect(err?.code).toBe('EOUTBOUNDBLOCKED');
      expect(err?.message).toContain(host);
      expect(err?.message).toContain(address);
    }
  });

  it('passes every address on when asked for all', async () => {
    const lookup = guardedLookup(none, stubResolver(table));
    const outcome = await runLookup(lookup, 'public.example.com', true);
    expect(outcome.err).toBeNull();
    expect(outcome.address).toEqual(table['public.example.com']);
  });

  it('passes the first address and its family when asked for one', async () => {
    const lookup = guardedLookup(none, stubResolver(table));
    const outcome = await runLookup(lookup, 'public.example.com', false);
    expect(outcome).toEqual({ err: null, address: '93.184.216.34', family: 4 });
  });

  it('lets a private answer through when the allow list covers it', async () => {
    const lookup = guardedLookup(parseAllowList('10.0.0.0/8'), stubResolver(table));
    const outcome = await runLookup(lookup, 'hooks.example.com', false);
    expect(outcome).toEqual({ err: null, address: '10.0.0.5', family: 4 });
  });

  it('passes resolver errors on and fails on an empty answer', async () => {
    const calls: string[] = [];
    const lookup = guardedLookup(none, stubResolver(table, calls));
    expect((await runLookup(lookup, 'missing.example.com', false)).err?.code).toBe('ENOTFOUND');
    expect((await runLookup(lookup, 'empty.example.com', true)).err?.code).toBe('ENOTFOUND');
    expect(calls).toEqual(['missing.example.com', 'empty.example.com']);
  });
});

describe('assertHostAllowed', () => {
  it.each(['127.0.0.1', '[::1]', '::1', '169.254.169.254', '[::ffff:10.0.0.1]', '[fe80::1]'])(
    'refuses the literal %s',
    (host) => {
      expect(() => assertHostAllowed(host, none)).toThrow(
        expect.objectContaining({ code: 'outbound_blocked' }),
      );
    },
  );

  it('leaves names to the lookup and lets public or listed literals through', () => {
    expect(() => assertHostAllowed('localhost', none)).not.toThrow();
    expect(() => assertHostAllowed('hooks.example.com', none)).not.toThrow();
    expect(() => assertHostAllowed('93.184.216.34', none)).not.toThrow();
    expect(() => assertHostAllowed('[2606:4700:4700::1111]', none)).not.toThrow();
    expect(() => assertHostAllowed('127.0.0.1', parseAllowList('127.0.0.1'))).not.toThrow();
    expect(() => assertHostAllowed('[::1]', parseAllowList('::1'))).not.toThrow();
  });
});
