import type { Account, Recording } from '../db/schema.js';
import type { WebhookEvent } from '../repositories/webhooks.js';
import type { ViewContext } from '../services/recording-view.js';
import { eventData } from '../webhooks/events.js';
import type { DeliveryTarget } from './types.js';

export const COPIED_EVENT = {
  s3: 'video_copied_s3',
  ftp: 'video_copied_ftp',
  sftp: 'video_copied_ftp',
  dbox: 'video_copied_dbox',
} as const satisfies Record<DeliveryTarget, WebhookEvent>;

export const TARGET_FLAG = {
  s3: 's3ed',
  ftp: 'ftped',
  sftp: 'sftped',
  dbox: 'dboxed',
} as const satisfies Record<DeliveryTarget, keyof Recording>;

export interface CopiedFacts {
  /** URLs of the MP4 and the snapshot at the destination, where it gives URLs. */
  url: string | null;
  snapshotUrl: string | null;
  bucket?: string;
  region?: string;
  acl?: string;
}

/**
 * The `data` of a copy event, field for field as Pipe documents it. As in every other event,
 * nothing is null: unknown text is "".
 */
export function copiedEventData(
  target: DeliveryTarget,
  rec: Recording,
  account: Account,
  view: ViewContext & { region: string },
  facts: CopiedFacts,
): Record<string, unknown> {
  switch (target) {
    case 's3':
      return {
        s3UploadStatus: 'upload success',
        videoName: rec.name,
        type: 'mp4',
        size: rec.size ?? 0,
        id: rec.id,
        url: facts.url ?? '',
        snapshotUrl: facts.snapshotUrl ?? '',
        bucket: facts.bucket ?? '',
        region: facts.region ?? '',
        acl: facts.acl ?? '',
        payload: rec.payload,
      };
    case 'ftp':
    case 'sftp':
      return {
        ftpUploadStatus: 'upload success',
        ...eventData('video_converted', rec, account, view),
        httpReferer: rec.http_referer ?? '',
      };
    case 'dbox':
      return {
        dboxUploadStatus: 'upload success',
        videoName: rec.name,
        type: 'mp4',
        size: rec.size ?? 0,
        checksum_md5: rec.checksum_md5 ?? '',
        checksum_sha1: rec.checksum_sha1 ?? '',
        id: rec.id,
        payload: rec.payload,
      };
  }
}
