import path from 'node:path';

import type { Config } from '../config/index.js';
import { LocalMediaStore } from './media-store.js';
import type { MediaStore } from './media-store.js';
import { createS3Client } from './s3.js';
import { S3MediaStore } from './s3-store.js';

/** The media store the configuration names: the data directory, or an S3 bucket. */
export function createMediaStore(config: Pick<Config, 'dataDir' | 'mediaStore'>): MediaStore {
  const o = config.mediaStore;
  if (o.kind === 'local') return new LocalMediaStore(path.join(config.dataDir, 'media'));
  return new S3MediaStore(createS3Client(o), { bucket: o.bucket });
}
