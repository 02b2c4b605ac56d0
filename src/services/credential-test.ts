import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

import type { Context } from '../context.js';
import type { Account } from '../db/schema.js';
import { TARGET_TABLE, destinationFor, isConfigured } from '../delivery/index.js';
import type { CredentialsRow } from '../delivery/index.js';
import type { DeliveryTarget, DestinationSession } from '../delivery/types.js';
import { AppError, notFound } from '../lib/errors.js';
import { findCredentials } from '../repositories/credentials.js';

export interface CredentialTestResult {
  target: DeliveryTarget;
  success: boolean;
  /** The step that failed, or "done". */
  step: 'settings' | 'connect' | 'write' | 'verify' | 'remove' | 'done';
  message: string;
  /** Whether trying again unchanged might help (a time-out) or something must change first. */
  retryable: boolean;
}

const NOT_SET: Record<DeliveryTarget, string> = {
  s3: 'amz_bucket is not set',
  ftp: 'ftp_host is not set',
  sftp: 'sftp_host is not set',
  dbox: 'dbox_token is not set',
};

/**
 * Tries a set of credentials the way a delivery uses them: connects, writes a small file in
 * the configured folder, reads its size back and removes it. Failures are results, told in
 * words that say what to change, not errors of the request.
 */
export async function testCredentials(
  ctx: Context,
  account: Account,
  target: DeliveryTarget,
  credentialsId: number,
): Promise<CredentialTestResult> {
  const found = await findCredentials(ctx.db.kysely, TARGET_TABLE[target], account.id,
    credentialsId);
  if (found === undefined) throw notFound('credentials');
  const row = found as unknown as CredentialsRow;
  const result = (step: CredentialTestResult['step'], message: string, retryable = false) =>
    ({ target, success: step === 'done', step, message, retryable });
  if (!isConfigured(target, row)) return result('settings', NOT_SET[target]);

  const dir = await mkdtemp(path.join(tmpdir(), 'standpipe-test-'));
  const name = `standpipe-test-${randomBytes(6).toString('hex')}.txt`;
  const content = Buffer.from(`standpipe connection test ${new Date(ctx.clock()).toISOString()}\n`);
  const file = { path: path.join(dir, name), name, size: content.length,
    contentType: 'text/plain' };
  await writeFile(file.path, content);

  let step: CredentialTestResult['step'] = 'settings';
  let session: DestinationSession | null = null;
  const signal = AbortSignal.timeout(ctx.config.delivery.timeoutMs * 2);
  try {
    const dest = await destinationFor(target, row, ctx);
    step = 'connect';
    session = await dest.open(signal);
    step = 'write';
    await session.put(file, signal);
    step = 'verify';
    const size = await session.size(name);
    if (size !== file.size) {
      throw new AppError('upstream', `${name} was written but reads back as ` +
        `${size === null ? 'missing' : `${size} bytes`} instead of ${file.size}`);
    }
    step = 'remove';
    await session.remove(name);
    return result('done', `connected to ${dest.label}, wrote ${name} (${file.size} bytes), ` +
      'read its size back and removed it');
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    return result(step, message, err instanceof AppError && err.code === 'timeout');
  } finally {
    await session?.close().catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  }
}
