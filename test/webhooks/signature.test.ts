import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  newStandardWebhookSecret,
  pipeSignature,
  standardWebhookSignature,
  verifyStandardWebhook,
} from '../../src/webhooks/signature.js';

/** Pipe: base64(HMAC-SHA1(key = webhook key, message = URL as entered + JSON text)). */
function pipeVerifier(key: string, url: string, json: string, header: string): boolean {
  const mac = createHmac('sha1', Buffer.from(key, 'utf8'));
  mac.update(Buffer.from(url, 'utf8'));
  mac.update(Buffer.from(json, 'utf8'));
  return mac.digest('base64') === header;
}

/** Standard Webhooks: base64(HMAC-SHA256(key = base64-decoded secret, "id.ts.body")). */
function standardVerifier(secret: string, id: string, ts: number, body: string, sig: string) {
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  const mac = createHmac('sha256', key).update(`${id}.${ts}.${body}`, 'utf8');
  return sig === `v1,${mac.digest('base64')}`;
}

describe('pipeSignature', () => {
  const json = '{"version":"1.0","event":"video_recorded","data":{"id":7,"payload":"é ✓"}}';

  it('signs the URL exactly as stored followed by the JSON text', () => {
    const url = `http://127.0.0.1:8080/hook?a=%20b&c='d"e`;
    const signature = pipeSignature('wk_secret', url, json);
    expect(pipeVerifier('wk_secret', url, json, signature)).toBe(true);
    expect(signature).toMatch(/^[A-Za-z0-9+/]{27}=$/);
  });

  it('changes with any byte of the URL, including encoding differences', () => {
    const stored = `http://127.0.0.1:8080/hook?a=%20b&c='d"e`;
    const normalised = new URL(stored).href;
    expect(normalised).not.toBe(stored);
    expect(pipeSignature('k', normalised, json)).not.toBe(pipeSignature('k', stored, json));
    expect(pipeSignature('k', stored, json)).not.toBe(pipeSignature('k2', stored, json));
    expect(pipeSignature('k', stored, `${json} `)).not.toBe(pipeSignature('k', stored, json));
  });

  it('matches a value worked out by hand', () => {
    const expected = createHmac('sha1', 'key').update('https://x.test/h{}').digest('base64');
    expect(pipeSignature('key', 'https://x.test/h', '{}')).toBe(expected);
  });
});

describe('standardWebhookSignature', () => {
  it('reproduces the example published with the Standard Webhooks specification', () => {
    const signature = standardWebhookSignature(
      'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
      'msg_p5jXN8AQM9LWM0D4loKWxJek',
      1614265330,
      '{"test": 2432232314}',
    );
    expect(signature).toBe('v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=');
  });

  it('is checked by an independent verifier for JSON and form bodies', () => {
    const secret = newStandardWebhookSecret();
    for (const body of ['{"a":"b c"}', 'payload=%7B%22a%22%3A%22b%20c%22%7D']) {
      const sig = standardWebhookSignature(secret, 'msg_1', 1_700_000_000, body);
      expect(standardVerifier(secret, 'msg_1', 1_700_000_000, body, sig)).toBe(true);
    }
  });

  it('refuses a timestamp that is not whole seconds', () => {
    expect(() => standardWebhookSignature('whsec_a2V5', 'm', 1.5, '')).toThrow('whole');
  });
});

describe('newStandardWebhookSecret', () => {
  it('is whsec_ and base64 of 24 to 32 random bytes', () => {
    const first = newStandardWebhookSecret();
    const second = newStandardWebhookSecret();
    expect(first).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
    const bytes = Buffer.from(first.slice('whsec_'.length), 'base64').length;
    expect(bytes).toBeGreaterThanOrEqual(24);
    expect(bytes).toBeLessThanOrEqual(32);
    expect(first).not.toBe(second);
  });
});

describe('verifyStandardWebhook', () => {
  const secret = newStandardWebhookSecret();
  const body = '{"event":"video_converted"}';
  const now = 1_700_000_000;

  function headers(sig: string, ts = now, id = 'msg_abc'): Record<string, string> {
    return { 'Webhook-Id': id, 'webhook-timestamp': String(ts), 'webhook-signature': sig };
  }

  const good = standardWebhookSignature(secret, 'msg_abc', now, body);

  it('accepts a good signature, as text or bytes, with headers in any case', () => {
    expect(verifyStandardWebhook(secret, headers(good), body, 300, now)).toBe(true);
    expect(verifyStandardWebhook(secret, headers(good), Buffer.from(body), 300, now)).toBe(true);
  });

  it('accepts when any of several space-separated signatures matches', () => {
    const other = standardWebhookSignature(newStandardWebhookSecret(), 'msg_abc', now, body);
    const list = `v1a,xyz ${other} ${good}`;
    expect(verifyStandardWebhook(secret, headers(list), body, 300, now)).toBe(true);
    expect(verifyStandardWebhook(secret, headers(`v1a,xyz ${other}`), body, 300, now)).toBe(
      false,
    );
  });

  it('refuses a changed body, id, secret or signature', () => {
    expect(verifyStandardWebhook(secret, headers(good), `${body} `, 300, now)).toBe(false);
    expect(verifyStandardWebhook(secret, headers(good, now, 'msg_x'), body, 300, now)).toBe(false);
    const wrongSecret = newStandardWebhookSecret();
    expect(verifyStandardWebhook(wrongSecret, headers(good), body, 300, now)).toBe(false);
    const first = good.charAt(3);
    const flipped = `v1,${first === 'A' ? 'B' : 'A'}${good.slice(4)}`;
    expect(verifyStandardWebhook(secret, headers(flipped), body, 300, now)).toBe(false);
    expect(verifyStandardWebhook(secret, headers(good.replace('v1,', 'v2,')), body, 300, now))
      .toBe(false);
  });

  it('refuses timestamps outside the tolerance, in either direction', () => {
    const signedAt = (ts: number) => standardWebhookSignature(secret, 'msg_abc', ts, body);
    const check = (ts: number) =>
      verifyStandardWebhook(secret, headers(signedAt(ts), ts), body, 300, now);
    expect(check(now - 300)).toBe(true);
    expect(check(now + 300)).toBe(true);
    expect(check(now - 301)).toBe(false);
    expect(check(now + 301)).toBe(false);
  });

  it('refuses missing or malformed headers', () => {
    expect(verifyStandardWebhook(secret, {}, body, 300, now)).toBe(false);
    const noId = { 'webhook-timestamp': String(now), 'webhook-signature': good };
    expect(verifyStandardWebhook(secret, noId, body, 300, now)).toBe(false);
    const badTs = { ...headers(good), 'webhook-timestamp': `${now}.0` };
    expect(verifyStandardWebhook(secret, badTs, body, 300, now)).toBe(false);
    expect(verifyStandardWebhook('whsec_', headers(good), body, 300, now)).toBe(false);
  });

  it('uses the clock when no time is given', () => {
    const ts = Math.floor(Date.now() / 1000);
    const sig = standardWebhookSignature(secret, 'msg_abc', ts, body);
    expect(verifyStandardWebhook(secret, headers(sig, ts), body)).toBe(true);
  });
});
