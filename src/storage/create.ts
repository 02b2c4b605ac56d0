import path from 'node:path';

import type { Config } from '../config/index.js';
import { LocalMediaStore } from './media-store.js';
import type { MediaStore } from './media-store.js';

/**
 * The media store the configuration names: the data directory, or an S3 bucket. The S3 SDK
 * is loaded only for an S3 store, so that a server on local disk starts quickly.
 */
export async function createMediaStore(
  config: Pick<Config, 'dataDir' | 'mediaStore'>,
): Promise<MediaStore> {
  const o = config.mediaStore;
  if (o.kind === 'local') return new LocalMediaStore(path.join(config.dataDir, 'media'));
  const { createS3Client } = await import('./s3.js');
  const { S3MediaStore } = await import('./s3-store.js');
  return new S3MediaStore(createS3Client(o), { bucket: o.bucket });
}
