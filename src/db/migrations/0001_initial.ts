import type { Kysely } from 'kysely';

import type { DialectName } from '../connect.js';

type AnyDb = Kysely<unknown>;

export async function up(db: AnyDb, dialect: DialectName): Promise<void> {
  const idType = dialect === 'postgres' ? 'bigserial' : 'integer';
  const bigint = dialect === 'postgres' ? 'bigint' : 'integer';
  const table = (name: string) =>
    db.schema
      .createTable(name)
      .addColumn('id', idType, (c) =>
        dialect === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement(),
      );
  const flag = 'integer' as const;

  await table('accounts')
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('email', 'text', (c) => c.notNull())
    .addColumn('api_key_hash', 'text', (c) => c.notNull().unique())
    .addColumn('account_hash', 'text', (c) => c.notNull().unique())
    .addColumn('webhook_key_enc', 'text', (c) => c.notNull())
    .addColumn('previous_webhook_key_enc', 'text')
    .addColumn('previous_webhook_key_until', bigint)
    .addColumn('password_hash', 'text')
    .addColumn('api_requests', bigint, (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', bigint, (c) => c.notNull())
    .execute();

  await table('environments')
    .addColumn('account_id', bigint, (c) => c.notNull().references('accounts.id'))
    .addColumn('env_id', 'integer', (c) => c.notNull())
    .addColumn('env_code', 'text', (c) => c.notNull().unique())
    .addColumn('env_name', 'text', (c) => c.notNull())
    .addColumn('do_not_store', flag, (c) => c.notNull().defaultTo(0))
    .addColumn('send_video_email', flag, (c) => c.notNull().defaultTo(0))
    .addColumn('region', 'text', (c) => c.notNull())
    .addColumn('created_at', bigint, (c) => c.notNull())
    .addUniqueConstraint('environments_account_env', ['account_id', 'env_id'])
    .execute();

  await table('webhooks')
    .addColumn('account_id', bigint, (c) => c.notNull().references('accounts.id'))
    .addColumn('env_id', 'integer', (c) => c.notNull())
    .addColumn('webhook', 'text', (c) => c.notNull())
    .addColumn('webhook_recorded', flag, (c) => c.notNull().defaultTo(0))
    .addColumn('webhook_transcoded', flag, (c) => c.notNull().defaultTo(0))
    .addColumn('webhook_converted', flag, (c) => c.notNull().defaultTo(0))
    .addColumn('webhook_copied_pipe_s3', flag, (c) => c.notNull().defaultTo(0))
    .addColumn('webhook_copied_s3', flag, (c) => c.notNull().defaultTo(0))
    .addColumn('webhook_copied_ftp', flag, (c) => c.notNull().defaultTo(0))
    .addColumn('webhook_copied_dbox', flag, (c) => c.notNull().defaultTo(0))
    .addColumn('active', flag, (c) => c.notNull().defaultTo(1))
    .addColumn('format', 'text', (c) => c.notNull().defaultTo('json'))
    .addColumn('secret_enc', 'text', (c) => c.notNull())
    .addColumn('created_at', bigint, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('webhooks_account').on('webhooks').columns(['account_id', 'env_id'])
    .execute();

  await table('amazon_credentials')
    .addColumn('account_id', bigint, (c) => c.notNull().references('accounts.id'))
    .addColumn('env_id', 'integer', (c) => c.notNull())
    .addColumn('amz_key_enc', 'text')
    .addColumn('amz_secret_enc', 'text')
    .addColumn('amz_bucket', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('amz_bucket_region', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('amz_acl', 'text', (c) => c.notNull().defaultTo('private'))
    .addColumn('amz_folder', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('created_at', bigint, (c) => c.notNull())
    .execute();

  await table('ftp_credentials')
    .addColumn('account_id', bigint, (c) => c.notNull().references('accounts.id'))
    .addColumn('env_id', 'integer', (c) => c.notNull())
    .addColumn('ftp_host', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('ftp_port', 'integer', (c) => c.notNull().defaultTo(21))
    .addColumn('ftp_username', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('ftp_password_enc', 'text')
    .addColumn('ftp_dir', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('sftp_host', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('sftp_port', 'integer', (c) => c.notNull().defaultTo(22))
    .addColumn('sftp_username', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('sftp_password_enc', 'text')
    .addColumn('sftp_dir', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('created_at', bigint, (c) => c.notNull())
    .execute();

  await table('dropbox_credentials')
    .addColumn('account_id', bigint, (c) => c.notNull().references('accounts.id'))
    .addColumn('env_id', 'integer', (c) => c.notNull())
    .addColumn('dbox_token_enc', 'text')
    .addColumn('dbox_folder', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('created_at', bigint, (c) => c.notNull())
    .execute();

  await createRecordings(db, table('recordings'), bigint);
  await createJobs(db, table('jobs'), bigint);
  await createDeliveries(db, table('webhook_deliveries'), bigint);
}

type TableBuilder = ReturnType<AnyDb['schema']['createTable']>;

async function createRecordings(db: AnyDb, t: TableBuilder, bigint: 'bigint' | 'integer') {
  const flags = [
    'has_audio', 'audio_only', 'converted', 'transcoded', 'has_original', 'has_mp4',
    'has_snapshot', 'has_filmstrip', 'ftped', 's3ed', 'sftped', 'dboxed', 'not_stored',
    'anonymized', 'recovered',
  ];
  let builder = t
    .addColumn('account_id', bigint, (c) => c.notNull().references('accounts.id'))
    .addColumn('env_id', 'integer', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull().unique())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('failure_reason', 'text')
    .addColumn('original_ext', 'text', (c) => c.notNull())
    .addColumn('original_container', 'text')
    .addColumn('length', 'double precision')
    .addColumn('created_at', bigint, (c) => c.notNull())
    .addColumn('ipv4', 'text')
    .addColumn('ua', 'text')
    .addColumn('http_referer', 'text')
    .addColumn('camera_name', 'text')
    .addColumn('microphone_name', 'text')
    .addColumn('payload', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('mrt', 'integer')
    .addColumn('source', 'text', (c) => c.notNull())
    .addColumn('orig_width', 'integer')
    .addColumn('orig_height', 'integer')
    .addColumn('width', 'integer')
    .addColumn('height', 'integer')
    .addColumn('size', bigint)
    .addColumn('original_size', bigint, (c) => c.notNull())
    .addColumn('rotation', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('retry_interval', 'integer', (c) => c.notNull().defaultTo(-1))
    .addColumn('last_retry_time', bigint)
    .addColumn('date_anonymized', bigint)
    .addColumn('checksum_md5', 'text')
    .addColumn('checksum_sha1', 'text')
    .addColumn('region', 'text', (c) => c.notNull())
    .addColumn('audio_codec', 'text')
    .addColumn('video_codec', 'text')
    .addColumn('deleted_at', bigint);
  for (const name of flags) {
    builder = builder.addColumn(name, 'integer', (c) => c.notNull().defaultTo(0));
  }
  await builder.execute();
  await db.schema.createIndex('recordings_account').on('recordings')
    .columns(['account_id', 'deleted_at', 'id']).execute();
}

async function createJobs(db: AnyDb, t: TableBuilder, bigint: 'bigint' | 'integer') {
  await t
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('payload', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('run_at', bigint, (c) => c.notNull())
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('max_attempts', 'integer', (c) => c.notNull())
    .addColumn('locked_by', 'text')
    .addColumn('locked_until', bigint)
    .addColumn('last_error', 'text')
    .addColumn('recording_id', bigint)
    .addColumn('created_at', bigint, (c) => c.notNull())
    .addColumn('updated_at', bigint, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('jobs_claim').on('jobs').columns(['status', 'type', 'run_at'])
    .execute();
  await db.schema.createIndex('jobs_recording').on('jobs').column('recording_id').execute();
}

async function createDeliveries(db: AnyDb, t: TableBuilder, bigint: 'bigint' | 'integer') {
  await t
    .addColumn('account_id', bigint, (c) => c.notNull())
    .addColumn('webhook_id', bigint, (c) => c.notNull())
    .addColumn('recording_id', bigint)
    .addColumn('event', 'text', (c) => c.notNull())
    .addColumn('body', 'text', (c) => c.notNull())
    .addColumn('message_id', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('last_status_code', 'integer')
    .addColumn('last_error', 'text')
    .addColumn('last_duration_ms', 'integer')
    .addColumn('next_attempt_at', bigint)
    .addColumn('created_at', bigint, (c) => c.notNull())
    .addColumn('delivered_at', bigint)
    .execute();
  await db.schema.createIndex('deliveries_webhook').on('webhook_deliveries')
    .columns(['webhook_id', 'id']).execute();
  await db.schema.createIndex('deliveries_recording').on('webhook_deliveries')
    .column('recording_id').execute();
}
