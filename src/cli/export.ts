import { randomBytes } from 'node:crypto';
import { open, rename, rm } from 'node:fs/promises';
import type { Writable } from 'node:stream';

import type { Context } from '../context.js';
import { exportAccount } from '../services/export.js';
import type { ExportSink } from '../services/export.js';

function sinkOf(stream: Writable): ExportSink {
  return (chunk) => new Promise<void>((resolve, reject) => {
    stream.write(chunk, (err) => (err === null || err === undefined ? resolve() : reject(err)));
  });
}

/**
 * `standpipe account export`: the account's data as JSON on stdout, or in `out`. The file
 * holds personal data, so it is readable by its owner only, and it appears under its name
 * only once complete.
 */
export async function runAccountExport(
  ctx: Context,
  accountHash: string,
  out: string | undefined,
  stdout: Writable = process.stdout,
): Promise<{ recordings: number }> {
  if (out === undefined) return exportAccount(ctx, accountHash, sinkOf(stdout));

  const temp = `${out}.${randomBytes(4).toString('hex')}.part`;
  const file = await open(temp, 'wx', 0o600);
  try {
    const result = await exportAccount(ctx, accountHash, (chunk) => file.writeFile(chunk));
    await file.sync();
    await file.close();
    await rename(temp, out);
    return result;
  } catch (err) {
    await file.close().catch(() => undefined);
    await rm(temp, { force: true });
    throw err;
  }
}
