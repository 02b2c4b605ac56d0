import type { Account, Recording } from '../db/schema.js';
import { formatDateTime, uintToIpv4 } from '../lib/format.js';
import type { WebhookEvent } from '../repositories/webhooks.js';
import { mediaKeys, mediaUrl } from '../services/recording-view.js';
import type { ViewContext } from '../services/recording-view.js';

/**
 * The `data` of each event, field for field as Pipe sends it. Receivers in the wild parse
 * these strictly, so no field is ever missing or null: unknown text is "", unknown numbers 0.
 */
export function eventData(
  event: WebhookEvent,
  rec: Recording,
  account: Account,
  ctx: ViewContext & { region: string },
): Record<string, unknown> {
  const keys = mediaKeys(account.account_hash, rec);
  const common = {
    videoName: rec.name,
    id: rec.id,
    dateTime: formatDateTime(rec.created_at, ctx.timeZone),
    timeZone: ctx.timeZone,
    payload: rec.payload,
  };
  const converted = {
    videoName: rec.name,
    duration: Math.round(rec.length ?? 0),
    audioCodec: rec.has_audio === 1 ? 'AAC' : '',
    videoCodec: rec.audio_only === 1 ? '' : 'H.264',
    type: 'mp4',
    size: rec.size ?? 0,
    width: String(rec.width ?? 0),
    height: String(rec.height ?? 0),
    orientation: (rec.height ?? 0) > (rec.width ?? 0) ? 'portrait' : 'landscape',
    id: rec.id,
    dateTime: common.dateTime,
    timeZone: ctx.timeZone,
    payload: rec.payload,
  };

  switch (event) {
    case 'video_recorded':
      return {
        videoName: rec.name,
        audioCodec: rec.audio_codec ?? '',
        videoCodec: rec.video_codec ?? '',
        type: rec.original_container ?? rec.original_ext,
        id: rec.id,
        dateTime: common.dateTime,
        timeZone: ctx.timeZone,
        payload: rec.payload,
        httpReferer: rec.http_referer ?? '',
        cam_name: rec.camera_name ?? '',
        mic_name: rec.microphone_name ?? '',
        ip: uintToIpv4(rec.ipv4),
        ua: rec.ua ?? '',
      };
    case 'video_converted':
      return converted;
    case 'video_transcoded':
      return { ...converted, url: mediaUrl(ctx, keys.mp4) };
    case 'video_copied_pipe_s3': {
      const urls = {
        url: mediaUrl(ctx, keys.mp4),
        rawRecordingUrl: mediaUrl(ctx, keys.original),
        snapshotUrl: mediaUrl(ctx, keys.snapshot),
        filmstripUrl: mediaUrl(ctx, keys.filmstrip),
      };
      return {
        storedStatus: 'stored successful',
        videoName: rec.name,
        size: rec.size ?? 0,
        checksum_md5: rec.checksum_md5 ?? '',
        checksum_sha1: rec.checksum_sha1 ?? '',
        id: rec.id,
        ...urls,
        cdn: {
          cdnRecordingUrl: urls.url,
          cdnRawRecordingUrl: urls.rawRecordingUrl,
          cdnSnapshotUrl: urls.snapshotUrl,
          cdnFilmstripUrl: urls.filmstripUrl,
        },
        bucket: 'standpipe',
        region: ctx.region,
        payload: rec.payload,
      };
    }
    case 'video_copied_s3':
    case 'video_copied_ftp':
    case 'video_copied_dbox':
      throw new Error(`${event} is built by its delivery target`);
  }
}

export function eventBody(event: WebhookEvent, data: Record<string, unknown>): string {
  return JSON.stringify({ version: '1.0', event, data });
}
