import { createHmac } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AppError } from '../../src/lib/errors.js';
import { parseAllowList } from '../../src/lib/outbound.js';
import type { LookupResolver } from '../../src/lib/outbound.js';
import {
  buildFormBody,
  parseRetryAfter,
  sendWebhook,
} from '../../src/webhooks/sender.js';
import type { WebhookRequest } from '../../src/webhooks/sender.js';
import {
  newStandardWebhookSecret,
  pipeSignature,
  standardWebhookSignature,
  verifyStandardWebhook,
} from '../../src/webhooks/signature.js';
import { startReceiver } from '../helpers/receiver.js';
import type { Receiver } from '../helpers/receiver.js';

const loopback = parseAllowList('127.0.0.1');
const nothingAllowed = parseAllowList('');

// Characters that form encoding, JSON escaping and UTF-8 byte counting each get wrong.
const jsonText = JSON.stringify({
  version: '1.0',
  event: 'video_recorded',
  data: { id: 42, payload: `{"a":"b c+d&e=f%20'g"}`, videoName: 'vid_é✓😀', ip: '1.2.3.4' },
});

/** Pipe's formula, written out independently of the code under test. */
function pipeVerifies(key: string, storedUrl: string, json: string, header: unknown): boolean {
  const expected = createHmac('sha1', key).update(`${storedUrl}${json}`).digest('base64');
  return header === expected;
}

/** Standard Webhooks' formula, written out independently of the code under test. */
function standardVerifies(secret: string, headers: Record<string, unknown>, body: string) {
  const key = Buffer.from(secret.slice('whsec_'.length), 'base64');
  const content = `${String(headers['webhook-id'])}.${String(headers['webhook-timestamp'])}.`;
  const mac = createHmac('sha256', key).update(content + body).digest('base64');
  return String(headers['webhook-signature']).split(' ').includes(`v1,${mac}`);
}

/** Resolves names from a table without any DNS traffic. */
function resolverFor(table: Record<string, string>): LookupResolver {
  return (hostname, _options, callback) => {
    setImmediate(() => {
      const address = table[hostname];
      if (address === undefined) {
        const err: NodeJS.ErrnoException = new Error(`getaddrinfo ENOTFOUND ${hostname}`);
        err.code = 'ENOTFOUND';
        callback(err, []);
        return;
      }
      callback(null, [{ address, family: address.includes(':') ? 6 : 4 }]);
    });
  };
}

let receiver: Receiver;

beforeEach(async () => {
  receiver = await startReceiver();
});

afterEach(async () => {
  await receiver.close();
});

function webhook(overrides: Partial<WebhookRequest> = {}): WebhookRequest {
  return {
    url: receiver.url('/hook'),
    jsonText,
    format: 'json',
    headers: {},
    timeoutMs: 5_000,
    allow: loopback,
    ...overrides,
  };
}

describe('sendWebhook: what is sent', () => {
  it('POSTs JSON signed over the URL exactly as stored', async () => {
    const url = `${receiver.origin}/hook?a=%20b&c='d"e`;
    const signature = pipeSignature('key_123', url, jsonText);

    const result = await sendWebhook(webhook({ url, headers: { 'X-Pipe-Signature': signature } }));
    const got = await receiver.waitFor(1);

    expect(result).toMatchObject({ ok: true, status: 200, error: null, gone: false });
    expect(result.responseSnippet).toBe('ok');
    expect(got.method).toBe('POST');
    expect(got.path).toBe(`/hook?a=%20b&c=%27d%22e`);
    expect(got.headers['content-type']).toBe('application/json');
    expect(got.headers['user-agent']).toMatch(/^standpipe-webhooks\/\d+\.\d+\.\d+/);
    expect(got.body).toBe(jsonText);
    expect(got.json).toEqual(JSON.parse(jsonText));
    expect(pipeVerifies('key_123', url, got.body, got.headers['x-pipe-signature'])).toBe(true);
    expect(pipeVerifies('key_123', receiver.origin + got.path, got.body, signature)).toBe(false);
  });

  it('POSTs a form with one payload field, both signatures checking out', async () => {
    const url = receiver.url('/form?x=1');
    const secret = newStandardWebhookSecret();
    const body = buildFormBody(jsonText);
    const timestamp = Math.floor(Date.now() / 1000);
    const headers = {
      'X-Pipe-Signature': pipeSignature('key_123', url, jsonText),
      'webhook-id': 'msg_2Xq',
      'webhook-timestamp': String(timestamp),
      'webhook-signature': standardWebhookSignature(secret, 'msg_2Xq', timestamp, body),
    };

    const result = await sendWebhook(webhook({ url, format: 'form', headers }));
    const got = await receiver.waitFor(1);

    expect(result.ok).toBe(true);
    expect(got.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(got.body).toBe(body);
    expect([...new URLSearchParams(got.body).keys()]).toEqual(['payload']);
    expect(got.formPayload).toBe(jsonText);
    expect(got.json).toEqual(JSON.parse(jsonText));
    expect(decodeURIComponent(got.body.slice('payload='.length))).toBe(jsonText);
    expect(pipeVerifies('key_123', url, got.formPayload ?? '', got.headers['x-pipe-signature']))
      .toBe(true);
    expect(standardVerifies(secret, got.headers, got.body)).toBe(true);
    expect(verifyStandardWebhook(secret, got.headers, got.body)).toBe(true);
  });

  it('sends the given User-Agent and caller headers', async () => {
    const headers = { 'X-Custom': 'yes' };
    await sendWebhook(webhook({ userAgent: 'custom-agent/9', headers }));
    const got = await receiver.waitFor(1);
    expect(got.headers['user-agent']).toBe('custom-agent/9');
    expect(got.headers['x-custom']).toBe('yes');
    expect(got.headers['content-length']).toBe(String(Buffer.byteLength(jsonText)));
  });
});

describe('sendWebhook: how answers are read', () => {
  it('fails a receiver that hangs past the time-out', async () => {
    receiver.reply({ hang: true });
    const result = await sendWebhook(webhook({ timeoutMs: 300 }));
    expect(result).toMatchObject({ ok: false, status: null, error: 'timed out after 300 ms' });
    expect(result.durationMs).toBeGreaterThanOrEqual(290);
    expect(result.durationMs).toBeLessThan(3_000);
    expect(receiver.requests).toHaveLength(1);
  });

  it('times out while the name is still being resolved', async () => {
    const silent: LookupResolver = () => undefined;
    const url = `http://hooks.example.test:${receiver.port}/hook`;
    const result = await sendWebhook(webhook({ url, timeoutMs: 200, resolver: silent }));
    expect(result).toMatchObject({ ok: false, error: 'timed out after 200 ms' });
    expect(receiver.connections).toBe(0);
  });

  it('waits for a slow receiver inside the time-out', async () => {
    receiver.reply({ delayMs: 150, status: 202, body: 'queued' });
    const result = await sendWebhook(webhook({ timeoutMs: 3_000 }));
    expect(result).toMatchObject({ ok: true, status: 202, responseSnippet: 'queued' });
    expect(result.durationMs).toBeGreaterThanOrEqual(140);
  });

  it('keeps an accepted answer whose body then stalls', async () => {
    receiver.reply({ hangBody: true, body: 'partial' });
    const result = await sendWebhook(webhook({ timeoutMs: 300 }));
    expect(result).toMatchObject({ ok: true, status: 200, error: null });
    expect(result.responseSnippet).toBe('partial');
  });

  it('marks a 410 as gone', async () => {
    receiver.reply({ status: 410, body: 'no such hook' });
    const result = await sendWebhook(webhook());
    expect(result).toMatchObject({ ok: false, status: 410, gone: true });
    expect(result.error).toBe('HTTP 410 Gone');
    expect(result.responseSnippet).toBe('no such hook');
  });

  it('does not follow a redirect', async () => {
    const elsewhere = receiver.url('/elsewhere');
    receiver.reply({ redirectTo: elsewhere });
    const result = await sendWebhook(webhook());
    expect(result).toMatchObject({
      ok: false,
      status: 302,
      gone: false,
      error: `redirect to ${elsewhere} not followed`,
    });
    await sleep(100);
    expect(receiver.requests.map((r) => r.path)).toEqual(['/hook']);
  });

  it('reads Retry-After in seconds', async () => {
    receiver.reply({ status: 503, headers: { 'Retry-After': '120' } });
    const result = await sendWebhook(webhook());
    expect(result).toMatchObject({ ok: false, status: 503, retryAfterMs: 120_000 });
    expect(result.error).toBe('HTTP 503 Service Unavailable');
  });

  it('reads Retry-After as an HTTP date', async () => {
    const at = new Date(Date.now() + 60_000).toUTCString();
    receiver.reply({ status: 429, headers: { 'Retry-After': at } });
    const result = await sendWebhook(webhook());
    expect(result.status).toBe(429);
    expect(result.retryAfterMs).toBeGreaterThanOrEqual(57_000);
    expect(result.retryAfterMs).toBeLessThanOrEqual(60_000);
  });

  it('has no Retry-After delay when the header is absent', async () => {
    receiver.reply({ status: 500 });
    const result = await sendWebhook(webhook());
    expect(result).toMatchObject({ ok: false, status: 500, retryAfterMs: null, gone: false });
  });

  it('keeps at most maxResponseBytes of the answer', async () => {
    receiver.setDefault({ status: 200, body: 'x'.repeat(100_000) });
    expect((await sendWebhook(webhook())).responseSnippet).toHaveLength(4096);
    expect((await sendWebhook(webhook({ maxResponseBytes: 10 }))).responseSnippet).toBe(
      'x'.repeat(10),
    );
    const none = await sendWebhook(webhook({ maxResponseBytes: 0 }));
    expect(none).toMatchObject({ ok: true, responseSnippet: '' });
  });

  it('reports a refused connection without throwing', async () => {
    const closed = await startReceiver();
    const url = closed.url('/hook');
    await closed.close();

    const result = await sendWebhook(webhook({ url }));
    expect(result).toMatchObject({ ok: false, status: null, gone: false });
    expect(result.error).toMatch(/ECONNREFUSED/);
  });

  it('reports a failed TLS handshake without throwing', async () => {
    const url = `https://127.0.0.1:${receiver.port}/hook`;
    const result = await sendWebhook(webhook({ url }));
    expect(result.ok).toBe(false);
    expect(result.error).not.toBe('');
    expect(receiver.requests).toHaveLength(0);
  });
});

describe('sendWebhook: the outbound guard', () => {
  it('refuses loopback when nothing is allowed, without connecting', async () => {
    for (const url of [receiver.url('/hook'), `http://[::1]:${receiver.port}/hook`]) {
      const result = await sendWebhook(webhook({ url, allow: nothingAllowed }));
      expect(result).toMatchObject({ ok: false, status: null });
      expect(result.error).toMatch(/refusing to connect/);
    }
    await sleep(50);
    expect(receiver.connections).toBe(0);
    expect(receiver.requests).toHaveLength(0);
  });

  it('refuses a name that resolves to loopback, without connecting', async () => {
    const resolver = resolverFor({ 'hooks.example.test': '127.0.0.1' });
    const url = `http://hooks.example.test:${receiver.port}/hook`;
    const result = await sendWebhook(webhook({ url, resolver, allow: nothingAllowed }));
    expect(result.ok).toBe(false);
    expect(result.error).toContain('hooks.example.test');
    expect(result.error).toContain('127.0.0.1');
    await sleep(50);
    expect(receiver.connections).toBe(0);
  });

  it('connects through a name when its address is allowed', async () => {
    const resolver = resolverFor({ 'hooks.example.test': '127.0.0.1' });
    const url = `http://hooks.example.test:${receiver.port}/hook`;
    const result = await sendWebhook(webhook({ url, resolver }));
    expect(result.ok).toBe(true);
    expect((await receiver.waitFor(1)).headers.host).toBe(`hooks.example.test:${receiver.port}`);
  });

  it('reaches ::1 only when it is listed', async () => {
    const v6 = await startReceiver({ host: '::1' });
    try {
      const url = v6.url('/six');
      expect((await sendWebhook(webhook({ url, allow: loopback }))).ok).toBe(false);
      expect(v6.connections).toBe(0);

      const result = await sendWebhook(webhook({ url, allow: parseAllowList('::1') }));
      expect(result).toMatchObject({ ok: true, status: 200 });
      expect((await v6.waitFor(1)).path).toBe('/six');
    } finally {
      await v6.close();
    }
  });
});

describe('sendWebhook: caller mistakes', () => {
  it('throws for a URL that is not a valid webhook URL', async () => {
    await expect(sendWebhook(webhook({ url: 'ftp://127.0.0.1/x' }))).rejects.toBeInstanceOf(
      AppError,
    );
  });

  it('throws for headers that belong to the sender', async () => {
    const headers = { 'Content-Type': 'text/plain' };
    await expect(sendWebhook(webhook({ headers }))).rejects.toThrow('Content-Type');
    expect(receiver.connections).toBe(0);
  });

  it('throws for a time-out that is not positive', async () => {
    await expect(sendWebhook(webhook({ timeoutMs: 0 }))).rejects.toThrow(RangeError);
  });
});

describe('buildFormBody', () => {
  it('percent-encodes the JSON into one payload field', () => {
    expect(buildFormBody('{"a":"b c+d"}')).toBe('payload=%7B%22a%22%3A%22b%20c%2Bd%22%7D');
    expect(new URLSearchParams(buildFormBody(jsonText)).get('payload')).toBe(jsonText);
  });
});

describe('parseRetryAfter', () => {
  const now = Date.UTC(2024, 0, 1, 12, 0, 0);

  it.each([
    ['0', 0],
    [' 7 ', 7_000],
    ['Mon, 01 Jan 2024 12:01:30 GMT', 90_000],
    ['Mon, 01 Jan 2024 11:00:00 GMT', 0],
    ['Monday, 01-Jan-24 12:00:10 GMT', 10_000],
    ['Mon Jan  1 12:00:20 2024', 20_000],
    ['2024-01-01T12:00:00Z', null],
    ['soon', null],
    ['-5', null],
    ['', null],
  ])('reads %j as %s ms', (value, expected) => {
    expect(parseRetryAfter(value, now)).toBe(expected);
  });

  it('is null without the header', () => {
    expect(parseRetryAfter(undefined, now)).toBeNull();
  });
});
