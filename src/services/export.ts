import type { Context } from '../context.js';
import type { Account, Environment, Webhook } from '../db/schema.js';
import { notFound } from '../lib/errors.js';
import { formatDateTime } from '../lib/format.js';
import { findAccountByHash } from '../repositories/accounts.js';
import { listEnvironments } from '../repositories/environments.js';
import { listRecordingsPage } from '../repositories/recordings.js';
import { listWebhooks } from '../repositories/webhooks.js';
import { toPipeVideo } from './recording-view.js';
import { toPipeEnvironment, toPipeWebhook } from './views.js';

const PAGE = 500;

/** Where the export's text goes, a chunk at a time; resolves once the chunk is taken. */
export type ExportSink = (chunk: string) => Promise<void>;

/**
 * Fields are listed one by one rather than copied from the rows, so that a secret column
 * added later cannot slip into an export: the API key hash, the webhook keys and webhook
 * secrets are never written.
 */
function accountPart(account: Account) {
  return {
    id: String(account.id),
    name: account.name,
    email: account.email,
    account_hash: account.account_hash,
    api_requests: String(account.api_requests),
    created: formatDateTime(account.created_at),
  };
}

function environmentPart(env: Environment) {
  return { ...toPipeEnvironment(env), created: formatDateTime(env.created_at) };
}

function webhookPart(hook: Webhook) {
  return { ...toPipeWebhook(hook), created: formatDateTime(hook.created_at) };
}

/**
 * Writes one JSON document with an account, its environments, its webhooks and the metadata
 * of its recordings as the API shows them (deleted ones are gone). Recordings are read a
 * page at a time, so an account of any size is exported in bounded memory.
 */
export async function exportAccount(
  ctx: Context,
  accountHash: string,
  write: ExportSink,
): Promise<{ recordings: number }> {
  const db = ctx.db.kysely;
  const account = await findAccountByHash(db, accountHash);
  if (account === undefined) throw notFound('account');
  const environments = await listEnvironments(db, account.id);
  const webhooks = await listWebhooks(db, account.id);

  const head = JSON.stringify({
    exported: formatDateTime(ctx.clock()),
    account: accountPart(account),
    environments: environments.map(environmentPart),
    webhooks: webhooks.map(webhookPart),
  });
  await write(`${head.slice(0, -1)},"recordings":[`);
  let after = 0;
  let count = 0;
  for (;;) {
    const page = await listRecordingsPage(db, account.id, after, PAGE);
    if (page.length === 0) break;
    const parts = page.map((rec) => JSON.stringify(toPipeVideo(rec, account, ctx.config)));
    await write((count === 0 ? '\n' : ',\n') + parts.join(',\n'));
    count += page.length;
    after = page[page.length - 1]?.id ?? after;
    if (page.length < PAGE) break;
  }
  await write(']}\n');
  return { recordings: count };
}
