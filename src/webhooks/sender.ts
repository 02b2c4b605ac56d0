/**
 * One webhook POST. The outcome is always a result, never an exception, for anything the
 * network or the receiver did, so the caller decides alone about retries and logging.
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { IncomingMessage, OutgoingHttpHeaders } from 'node:http';
import https from 'node:https';
import { performance } from 'node:perf_hooks';
import { AppError } from '../lib/errors.js';
import { assertHostAllowed, guardedLookup, validateWebhookUrl } from '../lib/outbound.js';
import type { AllowList, LookupResolver } from '../lib/outbound.js';

export interface WebhookRequest {
  /** The URL exactly as stored; it is also what the caller signed. */
  url: string;
  jsonText: string;
  format: 'json' | 'form';
  headers: Record<string, string>;
  timeoutMs: number;
  allow: AllowList;
  userAgent?: string;
  maxResponseBytes?: number;
  /** Name resolution to use instead of the system's, e.g. for split-horizon setups. */
  resolver?: LookupResolver;
  /** Gives up at once when aborted, as a worker that is shutting down asks. */
  signal?: AbortSignal;
}

export interface WebhookResult {
  ok: boolean;
  status: number | null;
  durationMs: number;
  error: string | null;
  retryAfterMs: number | null;
  gone: boolean;
  responseSnippet: string;
}

export const DEFAULT_MAX_RESPONSE_BYTES = 4096;

// The request framing belongs to the sender: a caller's value could only contradict it.
const RESERVED_HEADERS = new Set(['content-type', 'content-length', 'transfer-encoding', 'host']);

function packageVersion(): string {
  try {
    const text = readFileSync(new URL('../../package.json', import.meta.url), 'utf8');
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed === 'object' && parsed !== null && 'version' in parsed) {
      const { version } = parsed;
      if (typeof version === 'string') return version;
    }
  } catch {
    // Without the package file only the version in the User-Agent is lost.
  }
  return '0.0.0';
}

export const DEFAULT_USER_AGENT = `standpipe-webhooks/${packageVersion()}`;

/**
 * The form body for form webhooks. encodeURIComponent rather than the "+ for space" form
 * encoding: every form decoder reads it the same, and so do receivers that decode the field
 * with a plain percent-decoder, which would corrupt a "+".
 */
export function buildFormBody(jsonText: string): string {
  return `payload=${encodeURIComponent(jsonText)}`;
}

/** Retry-After as a delay from `nowMs`: either whole seconds or an HTTP date. */
export function parseRetryAfter(
  value: string | string[] | undefined,
  nowMs: number = Date.now(),
): number | null {
  const text = (Array.isArray(value) ? value[0] : value)?.trim();
  if (text === undefined || text === '') return null;

  if (/^\d+$/.test(text)) return Number(text) * 1000;

  // All three HTTP date forms start with a day name; Date.parse alone would also take
  // things like "-5" as a date.
  if (!/^[A-Za-z]{3,9},? /.test(text)) return null;
  // asctime dates carry no zone but are defined as GMT; Date.parse would read local time.
  const at = Date.parse(/(GMT|UTC|[+-]\d{4})$/i.test(text) ? text : `${text} GMT`);
  if (Number.isNaN(at)) return null;
  return Math.max(0, at - nowMs);
}

function buildHeaders(req: WebhookRequest, body: string): OutgoingHttpHeaders {
  const headers: OutgoingHttpHeaders = {
    'user-agent': req.userAgent ?? DEFAULT_USER_AGENT,
    'content-type':
      req.format === 'json' ? 'application/json' : 'application/x-www-form-urlencoded',
    'content-length': Buffer.byteLength(body, 'utf8'),
  };

  for (const [name, value] of Object.entries(req.headers)) {
    if (RESERVED_HEADERS.has(name.toLowerCase())) {
      throw new Error(`webhook header ${name} is set by the sender and cannot be given`);
    }
    headers[name] = value;
  }
  return headers;
}

function describeError(err: unknown): string {
  if (err instanceof AggregateError && err.message === '') {
    // Node reports a failure on every address of a name as one error with an empty message.
    const inner = err.errors.map(describeError).filter((text) => text !== '');
    if (inner.length > 0) return inner.join('; ');
  }
  if (err instanceof Error) {
    if (err.message !== '') return err.message;
    return 'code' in err && typeof err.code === 'string' ? err.code : err.name;
  }
  return String(err);
}

function failure(durationMs: number, error: string): WebhookResult {
  return {
    ok: false,
    status: null,
    durationMs,
    error,
    retryAfterMs: null,
    gone: false,
    responseSnippet: '',
  };
}

function checkRequest(req: WebhookRequest): void {
  validateWebhookUrl(req.url);
  if (!Number.isFinite(req.timeoutMs) || req.timeoutMs <= 0) {
    throw new RangeError(`webhook timeoutMs must be a positive number, got ${req.timeoutMs}`);
  }
  const max = req.maxResponseBytes;
  if (max !== undefined && (!Number.isInteger(max) || max < 0)) {
    throw new RangeError(`webhook maxResponseBytes must be a whole number, got ${max}`);
  }
}

export async function sendWebhook(req: WebhookRequest): Promise<WebhookResult> {
  checkRequest(req);
  const target = new URL(req.url);
  const hostname = target.hostname.replace(/^\[(.*)\]$/, '$1');
  const started = performance.now();
  const elapsed = (): number => Math.round(performance.now() - started);

  try {
    assertHostAllowed(hostname, req.allow);
  } catch (err) {
    // The allow list is configuration and may change before the next attempt.
    if (err instanceof AppError) return failure(elapsed(), err.message);
    throw err;
  }

  if (req.signal?.aborted === true) return failure(elapsed(), 'aborted before sending');
  const body = req.format === 'json' ? req.jsonText : buildFormBody(req.jsonText);
  const maxBytes = req.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
  const transport = target.protocol === 'https:' ? https : http;
  const request = transport.request({
    method: 'POST',
    protocol: target.protocol,
    hostname,
    port: target.port === '' ? undefined : Number(target.port),
    path: target.pathname + target.search,
    headers: buildHeaders(req, body),
    // A fresh connection per webhook: a pooled socket would skip the guarded lookup.
    agent: false,
    lookup: guardedLookup(req.allow, req.resolver),
  });

  return new Promise<WebhookResult>((resolve) => {
    let settled = false;
    let response: IncomingMessage | null = null;
    const chunks: Buffer[] = [];
    let received = 0;

    const fromResponse = (res: IncomingMessage): WebhookResult => {
      const status = res.statusCode ?? 0;
      const ok = status >= 200 && status < 300;
      let error: string | null = null;
      if (status >= 300 && status < 400) {
        error = `redirect to ${res.headers.location ?? '(no location)'} not followed`;
      } else if (!ok) {
        error = `HTTP ${status}${res.statusMessage ? ` ${res.statusMessage}` : ''}`;
      }
      return {
        ok,
        status,
        durationMs: elapsed(),
        error,
        retryAfterMs: parseRetryAfter(res.headers['retry-after']),
        gone: status === 410,
        responseSnippet: Buffer.concat(chunks).toString('utf8'),
      };
    };

    // Once the status line is in, the receiver has answered: a body that stalls or breaks
    // afterwards does not turn an accepted webhook into a failure that would be sent again.
    const finish = (result: WebhookResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(result);
      request.destroy();
    };

    const timer = setTimeout(() => {
      finish(
        response === null
          ? failure(elapsed(), `timed out after ${req.timeoutMs} ms`)
          : fromResponse(response),
      );
    }, req.timeoutMs);

    request.on('response', (res) => {
      response = res;
      if (maxBytes === 0) {
        finish(fromResponse(res));
        return;
      }
      res.on('data', (chunk: Buffer) => {
        const part = chunk.subarray(0, maxBytes - received);
        chunks.push(part);
        received += part.length;
        if (received >= maxBytes) finish(fromResponse(res));
      });
      res.on('end', () => finish(fromResponse(res)));
      res.on('error', () => finish(fromResponse(res)));
      res.on('close', () => finish(fromResponse(res)));
    });

    request.on('error', (err) => {
      finish(response === null ? failure(elapsed(), describeError(err)) : fromResponse(response));
    });

    const onAbort = () => finish(response === null
      ? failure(elapsed(), 'aborted before the receiver answered') : fromResponse(response));
    req.signal?.addEventListener('abort', onAbort, { once: true });
    request.once('close', () => req.signal?.removeEventListener('abort', onAbort));

    request.end(body);
  });
}
