import type { FastifyInstance } from 'fastify';

import type { Context } from '../../context.js';
import { badRequest, notFound } from '../../lib/errors.js';
import {
  findCredentials, insertCredentials, listCredentials, updateCredentials,
} from '../../repositories/credentials.js';
import type { CredentialTable } from '../../repositories/credentials.js';
import { findEnvironmentByEnvId } from '../../repositories/environments.js';
import { ok, parseId } from '../envelope.js';
import { envIdRule, oneOfRule, parseBody, portRule, textRule } from '../validate.js';
import type { FieldRule, Rules } from '../validate.js';

type Row = Record<string, unknown> & { id: number; env_id: number };

interface CredentialResource {
  path: string;
  table: CredentialTable;
  key: string;
  rules: Rules;
  /** Write-only fields and the column that keeps each one encrypted. */
  secrets: Record<string, string>;
  /** The fields shown, in the seed's order; numbers become strings. */
  shown: string[];
}

const hostRule: FieldRule<string> = (value, field) => {
  const text = textRule(253)(value, field);
  if (text !== '' && !/^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$|^\[[0-9a-fA-F:.]+\]$/.test(text)) {
    throw badRequest(field, `field "${field}" must be a host name or address, without scheme`);
  }
  return text;
};

/** A folder on the customer's storage: relative segments only, never a way out of it. */
const folderRule: FieldRule<string> = (value, field) => {
  const text = textRule(500)(value, field);
  if (text.split(/[\\/]/).some((segment) => segment === '..')) {
    throw badRequest(field, `field "${field}" must not contain ".." segments`);
  }
  return text;
};

const bucketRule: FieldRule<string> = (value, field) => {
  const text = textRule(63)(value, field);
  // Buckets made before 2018 in us-east-1 may hold capitals and underscores.
  if (text !== '' && !/^[A-Za-z0-9][A-Za-z0-9._-]{1,61}[A-Za-z0-9]$/.test(text)) {
    throw badRequest(field, `field "${field}" must be a valid S3 bucket name`);
  }
  return text;
};

const regionRule: FieldRule<string> = (value, field) => {
  const text = textRule(40)(value, field);
  if (text !== '' && !/^[a-z0-9-]+$/.test(text)) {
    throw badRequest(field, `field "${field}" must be a region name such as us-east-1`);
  }
  return text;
};

const RESOURCES: CredentialResource[] = [
  {
    path: '/amazon',
    table: 'amazon_credentials',
    key: 'amazon_details',
    rules: {
      amz_key: textRule(256), amz_secret: textRule(256), amz_bucket: bucketRule,
      amz_bucket_region: regionRule, amz_folder: folderRule,
      amz_acl: oneOfRule(['private', 'public-read', 'bucket-owner-full-control'] as const),
    },
    secrets: { amz_key: 'amz_key_enc', amz_secret: 'amz_secret_enc' },
    shown: ['id', 'amz_bucket', 'amz_bucket_region', 'amz_acl', 'amz_folder', 'env_id'],
  },
  {
    path: '/ftp',
    table: 'ftp_credentials',
    key: 'ftp_details',
    rules: {
      ftp_host: hostRule, ftp_port: portRule, ftp_username: textRule(256),
      ftp_password: textRule(256), ftp_dir: folderRule,
      sftp_host: hostRule, sftp_port: portRule, sftp_username: textRule(256),
      sftp_password: textRule(256), sftp_dir: folderRule,
    },
    secrets: { ftp_password: 'ftp_password_enc', sftp_password: 'sftp_password_enc' },
    shown: ['id', 'ftp_host', 'ftp_port', 'ftp_username', 'ftp_dir', 'sftp_host', 'sftp_port',
      'sftp_username', 'sftp_dir', 'env_id'],
  },
  {
    path: '/dropbox',
    table: 'dropbox_credentials',
    key: 'dropbox_details',
    rules: { dbox_token: textRule(2048), dbox_folder: folderRule },
    secrets: { dbox_token: 'dbox_token_enc' },
    shown: ['id', 'dbox_folder', 'env_id'],
  },
];

export async function credentialRoutes(app: FastifyInstance, ctx: Context) {
  for (const resource of RESOURCES) registerResource(app, ctx, resource);
}

function registerResource(app: FastifyInstance, ctx: Context, res: CredentialResource) {
  const db = ctx.db.kysely;
  const show = (row: Row) =>
    Object.fromEntries(res.shown.map((name) => [name, text(row[name])]));

  /** Secrets are sealed before they reach the database and never read back out. */
  const toColumns = (body: Record<string, unknown>) => {
    const columns: Record<string, unknown> = {};
    for (const [name, value] of Object.entries(body)) {
      if (value === undefined) continue;
      const sealedColumn = res.secrets[name];
      if (sealedColumn === undefined) columns[name] = value;
      else columns[sealedColumn] = value === '' ? null : ctx.secrets.seal(text(value));
    }
    return columns;
  };

  app.get(res.path, async (request, reply) => {
    const rows = await listCredentials(db, res.table, request.account.id);
    return ok(request, reply, { [res.key]: rows.map((r) => show(r as unknown as Row)) });
  });

  app.put<{ Params: { id: string } }>(`${res.path}/:id`, async (request, reply) => {
    const id = parseId(request.params.id, 'credentials');
    const found = await findCredentials(db, res.table, request.account.id, id);
    if (found === undefined) throw notFound('credentials');
    const body = parseBody(request.body, res.rules, { atLeastOne: true });
    await updateCredentials(db, res.table, request.account.id, id, toColumns(body) as never);
    const row = await findCredentials(db, res.table, request.account.id, id);
    return ok(request, reply, { [res.key]: [show((row ?? found) as unknown as Row)] });
  });

  // Extension: add a set of credentials for an environment.
  app.post(res.path, async (request, reply) => {
    const body = parseBody(request.body, { ...res.rules, env_id: envIdRule });
    const envId = (body.env_id as number | undefined) ?? 1;
    if ((await findEnvironmentByEnvId(db, request.account.id, envId)) === undefined) {
      throw badRequest('env_id', `no environment with env_id ${envId}`);
    }
    const { env_id: _ignored, ...fields } = body;
    const row = await insertCredentials(db, res.table, {
      ...toColumns(fields),
      account_id: request.account.id,
      env_id: envId,
      created_at: ctx.clock(),
    } as never);
    return ok(request, reply, { [res.key]: [show(row as unknown as Row)] }, 201);
  });
}

function text(value: unknown): string {
  return typeof value === 'string' || typeof value === 'number' ? String(value) : '';
}
