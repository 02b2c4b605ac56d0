import { badRequest } from '../lib/errors.js';
import { checkText } from '../http/validate.js';

/** What a resumable upload keeps about itself until it becomes a recording. */
export interface StoredUploadMeta {
  filename: string;
  filetype: string;
  payload: string;
  cameraName?: string | undefined;
  microphoneName?: string | undefined;
  mrt?: number | undefined;
  ip?: string | undefined;
  userAgent?: string | undefined;
  referer?: string | undefined;
}

const MAX_PAIRS = 32;
const MAX_VALUE = 4096;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Parses tus's Upload-Metadata: comma-separated pairs of a key and a base64 value (or a key
 * alone). Generic tus clients add keys of their own (name, type, relativePath), so unknown
 * keys are accepted and ignored rather than refused; the values kept are checked as text.
 */
export function parseUploadMetadata(header: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (header === undefined || header.trim() === '') return out;
  const pairs = header.split(',');
  if (pairs.length > MAX_PAIRS) {
    throw badRequest('Upload-Metadata', `Upload-Metadata holds at most ${MAX_PAIRS} pairs`);
  }
  for (const pair of pairs) {
    const [key = '', value = '', ...extra] = pair.trim().split(' ');
    if (!/^[A-Za-z0-9_.-]{1,64}$/.test(key) || extra.length > 0) {
      throw badRequest('Upload-Metadata', 'Upload-Metadata must be "key base64value" pairs');
    }
    if (Object.hasOwn(out, key)) {
      throw badRequest('Upload-Metadata', `Upload-Metadata names "${key}" twice`);
    }
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(value) || value.length % 4 === 1) {
      throw badRequest('Upload-Metadata', `Upload-Metadata value of "${key}" is not base64`);
    }
    let text: string;
    try {
      text = utf8.decode(Buffer.from(value, 'base64'));
    } catch {
      throw badRequest('Upload-Metadata', `Upload-Metadata value of "${key}" is not UTF-8 text`);
    }
    if (text.length > MAX_VALUE) {
      throw badRequest(key, `metadata "${key}" must be at most ${MAX_VALUE} characters`);
    }
    checkText(key, text);
    out[key] = text;
  }
  return out;
}

/** The metadata a HEAD answers with: what the client sent that was kept. */
export function encodeUploadMetadata(
  meta: Partial<StoredUploadMeta>,
  extra: Record<string, string>,
): string {
  const fields: Record<string, string | undefined> = {
    ...extra,
    filename: meta.filename,
    filetype: meta.filetype,
    payload: meta.payload,
    cameraName: meta.cameraName,
    micName: meta.microphoneName,
  };
  return Object.entries(fields)
    .filter((entry): entry is [string, string] => entry[1] !== undefined && entry[1] !== '')
    .map(([key, value]) => `${key} ${Buffer.from(value, 'utf8').toString('base64')}`)
    .join(',');
}

/** The recorder's `mrt`: absent, or a whole number of seconds. */
export function parseMrt(value: string | undefined): number | undefined {
  if (value === undefined || value === '') return undefined;
  const mrt = Number(value);
  if (!/^\d{1,5}$/.test(value) || mrt > 86_400) {
    throw badRequest('mrt', 'mrt must be a whole number of seconds');
  }
  return mrt;
}
