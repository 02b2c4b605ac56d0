import net from 'node:net';

import { afterEach, describe, expect, it, vi } from 'vitest';

import { dropboxDestination } from '../../src/delivery/dropbox.js';
import { ftpDestination } from '../../src/delivery/ftp.js';
import { s3Destination } from '../../src/delivery/s3.js';
import { sftpDestination } from '../../src/delivery/sftp.js';
import type { ConnectOptions, Destination } from '../../src/delivery/types.js';
import { AppError } from '../../src/lib/errors.js';
import { parseAllowList } from '../../src/lib/outbound.js';
import type { LookupResolver } from '../../src/lib/outbound.js';

/** Names under .test resolve only here: nothing below can reach a real host. */
const NAMES: Record<string, string[]> = {
  'metadata.customer.test': ['169.254.169.254'],
  'private.customer.test': ['10.20.30.40'],
  'mixed.customer.test': ['2001:4860:4860::8888', '192.168.1.10'],
  'mapped.customer.test': ['::ffff:127.0.0.1'],
};
const asked: string[] = [];
const resolver: LookupResolver = (host, _options, callback) => {
  asked.push(host);
  const found = NAMES[host] ?? [];
  callback(null, found.map((address) => ({ address, family: address.includes(':') ? 6 : 4 })));
};

const o: ConnectOptions = { allow: parseAllowList(''), timeoutMs: 2000, extraCa: null, resolver };
const HOSTS = ['127.0.0.1', '10.0.0.5', '169.254.169.254', '::1', '::ffff:169.254.169.254',
  '[fd00::1]', '100.64.0.1', ...Object.keys(NAMES)];

function destinations(host: string): Destination[] {
  const url = `http://${host.includes(':') && !host.startsWith('[') ? `[${host}]` : host}:9000`;
  return [
    ftpDestination({ host, port: 21, username: 'u', password: 'p', folder: '' }, o),
    sftpDestination({ host, port: 22, username: 'u', password: 'p', folder: '' }, o),
    s3Destination({ key: 'k', secret: 's', bucket: 'customer-bucket', region: 'us-east-1',
      acl: 'private', folder: '' }, { ...o, endpoint: url }),
    dropboxDestination({ token: 't', folder: '' }, { ...o, apiUrl: url, contentUrl: url }),
  ];
}

async function refusal(dest: Destination): Promise<AppError> {
  try {
    const session = await dest.open(AbortSignal.timeout(5000));
    // HTTP destinations judge names when the request is made.
    await session.size('probe.mp4');
    await session.close();
  } catch (err) {
    expect(err).toBeInstanceOf(AppError);
    return err as AppError;
  }
  throw new Error(`${dest.label} was not refused`);
}

describe('outbound guard for deliveries, with no connection attempted', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it.each(HOSTS)('refuses %s for FTP, SFTP, S3 and Dropbox', async (host) => {
    const connect = vi.spyOn(net.Socket.prototype, 'connect');
    for (const dest of destinations(host)) {
      const err = await refusal(dest);
      expect(err.code, `${dest.target} ${host}: ${err.message}`).toBe('outbound_blocked');
      expect(err.retryable).toBe(false);
      expect(err.message).toMatch(/may not reach.*STANDPIPE_OUTBOUND_ALLOW/);
      // Socket-level clients judge the address before any socket exists.
      if (dest.target === 'ftp' || dest.target === 'sftp') expect(connect).not.toHaveBeenCalled();
    }
  });

  it('asks the resolver, so every answer is judged, and refuses when any is private', () => {
    expect(asked).toContain('mixed.customer.test');
    expect(asked).toContain('metadata.customer.test');
  });

  it('lets the operator allow a range, and still refuses the rest', async () => {
    const allow = parseAllowList('10.20.30.0/24');
    const dest = sftpDestination({ host: '10.0.0.5', port: 22, username: 'u', password: 'p',
      folder: '' }, { ...o, allow });
    expect((await refusal(dest)).code).toBe('outbound_blocked');
  });
});
