import type { Account, Recording } from '../db/schema.js';
import { flag, formatDateTime, str } from '../lib/format.js';

export interface ViewContext {
  publicUrl: string;
  timeZone: string;
}

export const mediaKeys = (accountHash: string, rec: Pick<Recording, 'name' | 'original_ext'>) => ({
  mp4: `${accountHash}/${rec.name}.mp4`,
  snapshot: `${accountHash}/${rec.name}.jpg`,
  filmstrip: `${accountHash}/${rec.name}_filmstrip.jpg`,
  original: `${accountHash}/${rec.name}_raw.${rec.original_ext}`,
});

/** An absolute URL of a stored file, as webhooks send it. */
export function mediaUrl(ctx: ViewContext, key: string): string {
  return `${ctx.publicUrl}/media/${key}`;
}

/** The seed's link form: host and path, no scheme. */
export function mediaLink(ctx: ViewContext, key: string): string {
  return mediaUrl(ctx, key).replace(/^https?:\/\//, '');
}

/**
 * A recording as the REST API v1 shows it: every number a string, unknowns null, keys in the
 * seed's order so that a diff against Pipe's answer reads cleanly.
 */
export function toPipeVideo(rec: Recording, account: Account, ctx: ViewContext) {
  const keys = mediaKeys(account.account_hash, rec);
  return {
    id: String(rec.id),
    env_id: String(rec.env_id),
    length: rec.length === null ? null : rec.length.toFixed(2),
    size: str(rec.size),
    width: str(rec.width),
    height: str(rec.height),
    hasAudio: flag(rec.has_audio),
    ytubed: '0',
    rotation: String(rec.rotation),
    not_stored: flag(rec.not_stored),
    retry_interval: String(rec.retry_interval),
    has_original: flag(rec.has_original),
    has_mp4: flag(rec.has_mp4),
    has_snapshot: flag(rec.has_snapshot),
    has_filmstrip: flag(rec.has_filmstrip),
    anonymized: flag(rec.anonymized),
    datetime: formatDateTime(rec.created_at),
    last_retry_time: rec.last_retry_time === null ? null : formatDateTime(rec.last_retry_time),
    orig_width: str(rec.orig_width),
    orig_height: str(rec.orig_height),
    mrt: str(rec.mrt),
    audio_only: flag(rec.audio_only),
    recovered: flag(rec.recovered),
    transcoded: flag(rec.transcoded),
    date_anonymized: rec.date_anonymized === null ? null : formatDateTime(rec.date_anonymized),
    name: rec.name,
    original_container: rec.original_container,
    source: rec.source,
    payload: rec.payload,
    region: rec.region,
    ipv4: rec.ipv4,
    ua: rec.ua,
    http_referer: rec.http_referer,
    camera_name: rec.camera_name,
    microphone_name: rec.microphone_name,
    checksum_md5: rec.checksum_md5,
    checksum_sha1: rec.checksum_sha1,
    converted: flag(rec.converted),
    datetimeAdjusted: formatDateTime(rec.created_at, ctx.timeZone),
    timezone: ctx.timeZone,
    // With not_stored the files live only at the customer's destinations.
    pipeS3Link: rec.has_mp4 === 1 && rec.not_stored === 0 ? mediaLink(ctx, keys.mp4) : null,
    snapshotURL: rec.has_snapshot === 1 && rec.not_stored === 0
      ? mediaLink(ctx, keys.snapshot) : null,
    ftped: flag(rec.ftped),
    s3ed: flag(rec.s3ed),
    sftped: flag(rec.sftped),
    dboxed: flag(rec.dboxed),
    conversion_status: rec.status,
    failure_reason: rec.failure_reason,
    // Extension: the original upload's SHA-256, so a client can check what was received.
    original_sha256: rec.original_sha256,
  };
}

export type PipeVideo = ReturnType<typeof toPipeVideo>;
