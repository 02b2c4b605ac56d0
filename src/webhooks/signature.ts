/**
 * The two signatures a webhook carries: Pipe's X-Pipe-Signature, which existing receivers
 * check, and the Standard Webhooks headers, which generic receivers and libraries check.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

const STANDARD_SECRET_PREFIX = 'whsec_';
const STANDARD_SECRET_BYTES = 32;

/**
 * Pipe signs the webhook URL exactly as the customer entered it (not a normalised form),
 * immediately followed by the JSON text, so receivers can recompute it from their own copy.
 */
export function pipeSignature(webhookKey: string, url: string, jsonText: string): string {
  return createHmac('sha1', webhookKey).update(url + jsonText, 'utf8').digest('base64');
}

function standardKey(secret: string): Buffer {
  const encoded = secret.startsWith(STANDARD_SECRET_PREFIX)
    ? secret.slice(STANDARD_SECRET_PREFIX.length)
    : secret;
  const key = Buffer.from(encoded, 'base64');
  if (key.length === 0) throw new Error('webhook signing secret is empty');
  return key;
}

function standardDigest(key: Buffer, msgId: string, timestampSec: number, body: string | Buffer) {
  return createHmac('sha256', key)
    .update(`${msgId}.${timestampSec}.`, 'utf8')
    .update(body)
    .digest();
}

/**
 * Standard Webhooks signature, "v1,<base64>". `body` must be the exact text sent: the JSON
 * text for JSON webhooks, the encoded form body for form webhooks.
 */
export function standardWebhookSignature(
  secret: string,
  msgId: string,
  timestampSec: number,
  body: string,
): string {
  if (!Number.isSafeInteger(timestampSec)) {
    throw new Error('webhook timestamp must be a whole number of seconds');
  }
  return `v1,${standardDigest(standardKey(secret), msgId, timestampSec, body).toString('base64')}`;
}

export function newStandardWebhookSecret(): string {
  return STANDARD_SECRET_PREFIX + randomBytes(STANDARD_SECRET_BYTES).toString('base64');
}

type HeaderBag = Record<string, string | string[] | undefined>;

function header(headers: HeaderBag, name: string): string | undefined {
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() !== name) continue;
    return Array.isArray(value) ? value.join(' ') : value;
  }
  return undefined;
}

/**
 * Checks webhook-id, webhook-timestamp and webhook-signature against `body` (the raw body
 * text or bytes as received). The header may list several space-separated signatures, as it
 * does while a secret is being rotated; any one that matches is enough.
 */
export function verifyStandardWebhook(
  secret: string,
  headers: HeaderBag,
  body: string | Buffer,
  toleranceSec = 300,
  nowSec: number = Math.floor(Date.now() / 1000),
): boolean {
  const msgId = header(headers, 'webhook-id');
  const timestampText = header(headers, 'webhook-timestamp');
  const signatures = header(headers, 'webhook-signature');
  if (msgId === undefined || timestampText === undefined || signatures === undefined) {
    return false;
  }

  if (!/^\d{1,15}$/.test(timestampText)) return false;
  const timestampSec = Number(timestampText);
  if (Math.abs(nowSec - timestampSec) > toleranceSec) return false;

  let key: Buffer;
  try {
    key = standardKey(secret);
  } catch {
    return false;
  }
  const expected = standardDigest(key, msgId, timestampSec, body);

  let matched = false;
  for (const candidate of signatures.split(' ')) {
    const [version, encoded] = candidate.split(',', 2);
    if (version !== 'v1' || encoded === undefined) continue;
    const given = Buffer.from(encoded, 'base64');
    // Every candidate is compared so the time taken does not tell which one matched.
    if (given.length === expected.length && timingSafeEqual(given, expected)) matched = true;
  }
  return matched;
}
