/**
 * Failures at a customer's storage, told in words the customer can act on, and marked with
 * whether another attempt can help. Problems a customer fixes by changing credentials are
 * retried on schedule too: the next attempt reads the credentials anew.
 */
import { AppError } from '../lib/errors.js';

const TLS_TRUST_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID', 'CERT_UNTRUSTED', 'UNABLE_TO_GET_ISSUER_CERT',
]);

function codeOf(err: unknown): string {
  if (typeof err !== 'object' || err === null) return '';
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' ? code : '';
}

function messageOf(err: unknown): string {
  if (err instanceof AggregateError && err.errors.length > 0) {
    return messageOf((err.errors as unknown[])[0]);
  }
  if (err instanceof Error) return err.message;
  return String(err);
}

export function blockedAddressError(host: string, address: string): AppError {
  const shown = host === address ? address : `${host} (${address})`;
  return new AppError('outbound_blocked', `${shown} is a loopback, private, link-local or ` +
    'metadata address, which deliveries may not reach; use a public host, or ask the operator ' +
    'to list the address in STANDPIPE_OUTBOUND_ALLOW');
}

/**
 * What a socket-level failure means for `where` ("the FTP server ftp.example.com:21"), or a
 * generic upstream error carrying the original text when it is none of the known kinds.
 */
export function explainNetworkError(err: unknown, where: string): AppError {
  if (err instanceof AppError) return err;
  const inner: unknown = err instanceof AggregateError && err.errors.length > 0
    ? (err.errors as unknown[])[0] : err;
  const code = codeOf(inner) || codeOf(err);
  const cause = { cause: err };

  if (code === 'EOUTBOUNDBLOCKED') {
    const blocked = /refusing to connect to (\S+): address (\S+) is not allowed/
      .exec(messageOf(inner));
    return blockedAddressError(blocked?.[1] ?? where, blocked?.[2] ?? 'its address');
  }
  if (code === 'ECONNREFUSED') {
    return new AppError('upstream', `${where} refused the connection; check the host and ` +
      'port, and that the server is running', cause);
  }
  if (code === 'ENOTFOUND') {
    return new AppError('upstream', `the host name of ${where} does not resolve; check the ` +
      'host for typing errors', cause);
  }
  if (code === 'EAI_AGAIN') {
    return new AppError('upstream', `the host name of ${where} could not be looked up just ` +
      'now', cause);
  }
  if (code === 'ETIMEDOUT' || code === 'ESOCKETTIMEDOUT' || /timed? ?out/i.test(messageOf(err))) {
    return new AppError('timeout', `${where} did not answer in time; check that the host and ` +
      'port are reachable from the internet', cause);
  }
  if (code === 'ECONNRESET' || code === 'EPIPE') {
    return new AppError('upstream', `${where} closed the connection unexpectedly`, cause);
  }
  if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH') {
    return new AppError('upstream', `${where} cannot be reached from this server`, cause);
  }
  if (TLS_TRUST_CODES.has(code)) {
    return new AppError('upstream', `the TLS certificate of ${where} is not trusted ` +
      `(${messageOf(inner)}); use a certificate from a public authority that names the host, ` +
      'or ask the operator to add its authority with STANDPIPE_TLS_CA_FILE', cause);
  }
  if (code.startsWith('ERR_SSL') || code === 'EPROTO') {
    return new AppError('upstream', `the TLS handshake with ${where} failed: ${messageOf(inner)}`,
      cause);
  }
  return new AppError('upstream', `${where}: ${messageOf(err)}`, cause);
}

/** A setting that makes a delivery impossible until someone changes it. */
export function badSetting(field: string, message: string): AppError {
  return new AppError('bad_request', message, { field });
}
