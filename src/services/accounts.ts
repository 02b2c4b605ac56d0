import type { Context } from '../context.js';
import type { Account, Environment } from '../db/schema.js';
import { badRequest } from '../lib/errors.js';
import { hashApiKey, randomCode, randomHex } from '../lib/secrets.js';
import { insertAccount, updateAccount } from '../repositories/accounts.js';
import { insertEnvironment, nextEnvId } from '../repositories/environments.js';

export interface NewAccountResult {
  id: number;
  name: string;
  email: string;
  api_key: string;
  account_hash: string;
  webhook_key: string;
  environment: { id: number; env_id: number; env_code: string; env_name: string };
}

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/** Creates an account with its first environment; the API key is shown here only. */
export async function createAccount(
  ctx: Context,
  input: { name: string; email: string },
): Promise<NewAccountResult> {
  const name = input.name.trim();
  const email = input.email.trim();
  if (name === '' || name.length > 200) throw badRequest('name', 'name must be 1-200 characters');
  if (!EMAIL.test(email) || email.length > 254) throw badRequest('email', 'email is not valid');

  const apiKey = randomHex(32);
  const webhookKey = randomHex(16);
  const now = ctx.clock();
  return ctx.db.kysely.transaction().execute(async (trx) => {
    const account = await insertAccount(trx, {
      name,
      email,
      api_key_hash: hashApiKey(apiKey),
      account_hash: randomHex(16),
      webhook_key_enc: ctx.secrets.seal(webhookKey),
      previous_webhook_key_enc: null,
      previous_webhook_key_until: null,
      password_hash: null,
      created_at: now,
    });
    const env = await createEnvironmentIn(ctx, trx, account, 'Production');
    return {
      id: account.id,
      name: account.name,
      email: account.email,
      api_key: apiKey,
      account_hash: account.account_hash,
      webhook_key: webhookKey,
      environment: { id: env.id, env_id: env.env_id, env_code: env.env_code,
        env_name: env.env_name },
    };
  });
}

export async function createEnvironmentIn(
  ctx: Context,
  trx: Context['db']['kysely'],
  account: Account,
  envName: string,
): Promise<Environment> {
  const envId = await nextEnvId(trx, account.id, ctx.db.dialect === 'postgres');
  return insertEnvironment(trx, {
    account_id: account.id,
    env_id: envId,
    env_code: randomCode(6),
    env_name: envName,
    do_not_store: 0,
    send_video_email: 0,
    region: ctx.config.region,
    created_at: ctx.clock(),
  });
}

/** Issues a new API key; the old one stops working at once. */
export async function rotateApiKey(ctx: Context, account: Account): Promise<string> {
  const apiKey = randomHex(32);
  await updateAccount(ctx.db.kysely, account.id, { api_key_hash: hashApiKey(apiKey) });
  return apiKey;
}
