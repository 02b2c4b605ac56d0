/**
 * Connections to customers' storage go only to addresses the outbound guard accepts. The
 * host is resolved here, every answer judged, and the socket opened to the address judged;
 * HTTP clients get an agent whose lookup does the same on every connection.
 */
import dns from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import { rootCertificates } from 'node:tls';

import { AppError } from '../lib/errors.js';
import { guardedLookup, isBlockedAddress } from '../lib/outbound.js';
import type { AllowList, LookupResolver } from '../lib/outbound.js';
import { blockedAddressError, explainNetworkError } from './errors.js';
import type { ConnectOptions } from './types.js';

export interface CheckedAddress {
  /** The host as the customer gave it: the TLS name and the name in messages. */
  host: string;
  /** The address that was judged and is to be connected to. */
  address: string;
  family: 4 | 6;
}

export function unbracket(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

/** Resolves `host` and judges every address it has; gives the one to connect to. */
export async function resolveChecked(
  hostText: string,
  allow: AllowList,
  resolver: LookupResolver = dns.lookup,
): Promise<CheckedAddress> {
  const host = unbracket(hostText);
  const literal = isIP(host);
  if (literal !== 0) {
    if (isBlockedAddress(host, allow)) throw blockedAddressError(host, host);
    return { host, address: host, family: literal === 6 ? 6 : 4 };
  }
  const lookup = guardedLookup(allow, resolver);
  return new Promise((resolve, reject) => {
    lookup(host, {}, (err, address, family) => {
      if (err !== null) {
        reject(explainNetworkError(err, host));
        return;
      }
      if (typeof address !== 'string') {
        reject(new AppError('upstream', `no address found for ${host}`));
        return;
      }
      resolve({ host, address, family: family === 6 ? 6 : 4 });
    });
  });
}

/** Trusted authorities: the public ones, plus the operator's own where configured. */
export function trustedCa(extraCa: string | null): string[] | undefined {
  return extraCa === null ? undefined : [...rootCertificates, extraCa];
}

/**
 * An agent for HTTP clients (the AWS SDK, Dropbox). No keep-alive, so every connection goes
 * through the guarded lookup; IP literals skip lookups and are judged by the caller.
 */
export function guardedAgent(protocol: string, options: ConnectOptions): http.Agent {
  const lookup = guardedLookup(options.allow, options.resolver);
  if (protocol === 'https:') {
    const ca = trustedCa(options.extraCa);
    return new https.Agent({ keepAlive: false, lookup, ...(ca === undefined ? {} : { ca }) });
  }
  return new http.Agent({ keepAlive: false, lookup });
}

/** Judges an URL's host when it is an IP literal, which no lookup will see. */
export function assertUrlHostAllowed(url: URL, allow: AllowList): void {
  const host = unbracket(url.hostname);
  if (isIP(host) !== 0 && isBlockedAddress(host, allow)) throw blockedAddressError(host, host);
}
