import type { Logger } from 'pino';

import type { Config } from './config/index.js';
import type { Db } from './db/connect.js';
import type { JobQueue } from './jobs/queue.js';
import type { SecretBox } from './lib/secrets.js';
import type { MediaBinaries } from './media/binaries.js';
import type { Metrics } from './metrics/standpipe.js';
import type { MediaStore } from './storage/media-store.js';

/** What services need from the running process, passed in so tests can build their own. */
export interface Context {
  readonly config: Config;
  readonly db: Db;
  readonly log: Logger;
  readonly store: MediaStore;
  readonly secrets: SecretBox;
  readonly media: MediaBinaries;
  readonly queue: JobQueue;
  readonly clock: () => number;
  /** This process's counters for /metrics. */
  readonly metrics: Metrics;
}
