import { readdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';

import type { Context } from '../context.js';
import type { JobHandler } from '../jobs/worker.js';
import { deleteUpload, findUpload, listExpiredUploads } from '../repositories/uploads.js';

/** An upload untouched this long is abandoned: its bytes and row are removed. */
export const UPLOAD_TTL_MS = 24 * 3600_000;

const EXPIRE_BATCH = 100;
/** A finishing upload's second name lives for moments; an old one was left by a crash. */
const STAGED_MAX_AGE_MS = 3600_000;

export function partDir(ctx: Context): string {
  return path.join(ctx.config.dataDir, 'uploads', 'tus');
}

export function partPath(ctx: Context, id: string): string {
  return path.join(partDir(ctx), `${id}.part`);
}

/**
 * Removes uploads nobody touched for a day, bytes first, so no row outlives its file; then
 * files a killed process left in this data directory without a row to account for them.
 */
export function expireUploadsHandler(ctx: Context): JobHandler {
  return {
    async run(_job, signal) {
      let removed = 0;
      for (;;) {
        const rows = await listExpiredUploads(ctx.db.kysely, ctx.clock(), EXPIRE_BATCH);
        for (const row of rows) {
          await rm(partPath(ctx, row.id), { force: true });
          if (await deleteUpload(ctx.db.kysely, row.id)) removed += 1;
        }
        if (rows.length < EXPIRE_BATCH || signal.aborted) break;
      }
      const orphans = signal.aborted ? 0 : await removeOrphans(ctx);
      ctx.log.info({ removed, orphans }, 'expired uploads removed');
    },
  };
}

async function removeOrphans(ctx: Context): Promise<number> {
  const names = await readdir(partDir(ctx)).catch(() => [] as string[]);
  const now = ctx.clock();
  let removed = 0;
  for (const name of names) {
    const file = path.join(partDir(ctx), name);
    const info = await stat(file).catch(() => null);
    if (info === null || !info.isFile()) continue;
    const age = now - info.mtimeMs;
    const part = /^([a-f0-9]{32})\.part$/.exec(name);
    const orphan = part !== null && age > UPLOAD_TTL_MS &&
      (await findUpload(ctx.db.kysely, part[1] ?? '')) === undefined;
    const staged = /^[a-f0-9]{32}\.part\.[a-z0-9]{8}$/.test(name) && age > STAGED_MAX_AGE_MS;
    if (!orphan && !staged) continue;
    await rm(file, { force: true });
    removed += 1;
  }
  return removed;
}
