import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { Db } from '../../src/db/connect.js';
import { migrate } from '../../src/db/migrations.js';
import {
  findAccountByKeyHash, findUploadTarget, insertAccount,
} from '../../src/repositories/accounts.js';
import {
  credentialsForEnvironment, findCredentials, insertCredentials, updateCredentials,
} from '../../src/repositories/credentials.js';
import { insertEnvironment, nextEnvId } from '../../src/repositories/environments.js';
import {
  countRecordings, findRecording, insertRecording, listRecordingsPage, markRecordingDeleted,
} from '../../src/repositories/recordings.js';
import { subscribedWebhooks, insertWebhook } from '../../src/repositories/webhooks.js';
import { DIALECTS, createTestDb } from '../helpers/harness.js';
import type { TestDb } from '../helpers/harness.js';

describe.each(DIALECTS)('repositories (%s)', (dialect) => {
  let dir: string;
  let testDb: TestDb;
  let db: Db;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'standpipe-repo-'));
    testDb = await createTestDb(dialect, dir);
    db = testDb.db;
  });

  afterAll(async () => {
    await db.close();
    await testDb.drop();
    await rm(dir, { recursive: true, force: true });
  });

  it('migrates once, and a second run applies nothing', async () => {
    const applied = await migrate(db);
    expect(applied[0]).toBe('0001_initial');
    expect(applied).toEqual([...applied].sort());
    expect(await migrate(db)).toEqual([]);
  });

  async function account(n: number) {
    const acct = await insertAccount(db.kysely, {
      name: `A${n}`, email: `a${n}@example.com`, api_key_hash: `hash${n}`,
      account_hash: String(n).repeat(32).slice(0, 32), webhook_key_enc: 'x',
      previous_webhook_key_enc: null, previous_webhook_key_until: null, password_hash: null,
      created_at: 1,
    });
    const env = await insertEnvironment(db.kysely, {
      account_id: acct.id, env_id: await nextEnvId(db.kysely, acct.id), env_code: `code${n}`,
      env_name: 'Production', do_not_store: 0, send_video_email: 0, region: 'local',
      created_at: 1,
    });
    return { acct, env };
  }

  function recording(accountId: number, name: string) {
    return insertRecording(db.kysely, {
      account_id: accountId, env_id: 1, name, status: 'recorded', original_ext: 'webm',
      original_container: 'webm', created_at: 1_700_000_000_000, ipv4: null, ua: null,
      http_referer: null, camera_name: null, microphone_name: null, payload: '', mrt: null,
      source: 'DESK', original_size: 10, region: 'local',
    });
  }

  it('scopes every lookup to the account', async () => {
    const a = await account(1);
    const b = await account(2);
    expect((await findAccountByKeyHash(db.kysely, 'hash1'))?.id).toBe(a.acct.id);
    expect(await findUploadTarget(db.kysely, a.acct.account_hash, 'code2')).toBeUndefined();
    expect((await findUploadTarget(db.kysely, a.acct.account_hash, 'code1'))?.environment.id)
      .toBe(a.env.id);
    expect((await findUploadTarget(db.kysely, a.acct.account_hash, '1'))?.environment.id)
      .toBe(a.env.id);

    const rec = await recording(a.acct.id, 'vs1_a');
    expect(await findRecording(db.kysely, b.acct.id, rec.id)).toBeUndefined();
    expect((await findRecording(db.kysely, a.acct.id, rec.id))?.name).toBe('vs1_a');
    expect(await markRecordingDeleted(db.kysely, b.acct.id, rec.id, 2)).toBe(false);
    expect(await markRecordingDeleted(db.kysely, a.acct.id, rec.id, 2)).toBe(true);
    expect(await findRecording(db.kysely, a.acct.id, rec.id)).toBeUndefined();
    expect(await countRecordings(db.kysely, a.acct.id)).toBe(0);

    const cred = await insertCredentials(db.kysely, 'ftp_credentials', {
      account_id: a.acct.id, env_id: 1, ftp_host: 'files.example', created_at: 1,
    });
    expect(cred.ftp_port).toBe(21);
    await updateCredentials(db.kysely, 'ftp_credentials', b.acct.id, cred.id, { ftp_port: 2121 });
    expect((await findCredentials(db.kysely, 'ftp_credentials', a.acct.id, cred.id))?.ftp_port)
      .toBe(21);
    expect(await findCredentials(db.kysely, 'ftp_credentials', b.acct.id, cred.id))
      .toBeUndefined();
    expect(await credentialsForEnvironment(db.kysely, 'ftp_credentials', a.acct.id, 1))
      .toHaveLength(1);
  });

  it('pages through recordings in id order and keeps numbers as numbers', async () => {
    const { acct } = await account(3);
    for (let i = 0; i < 7; i += 1) await recording(acct.id, `vs3_${i}`);
    const first = await listRecordingsPage(db.kysely, acct.id, 0, 4);
    const second = await listRecordingsPage(db.kysely, acct.id, first[3]?.id ?? 0, 4);
    expect(first.map((r) => r.name)).toEqual(['vs3_0', 'vs3_1', 'vs3_2', 'vs3_3']);
    expect(second.map((r) => r.name)).toEqual(['vs3_4', 'vs3_5', 'vs3_6']);
    expect(typeof first[0]?.created_at).toBe('number');
    expect(first[0]?.created_at).toBe(1_700_000_000_000);
    expect(typeof first[0]?.id).toBe('number');
  });

  it('finds only active webhooks that subscribe to the event', async () => {
    const { acct } = await account(4);
    const base = { account_id: acct.id, env_id: 1, format: 'json', secret_enc: 's',
      created_at: 1, webhook_transcoded: 0, webhook_copied_pipe_s3: 0, webhook_copied_s3: 0,
      webhook_copied_ftp: 0, webhook_copied_dbox: 0 };
    await insertWebhook(db.kysely, { ...base, webhook: 'http://a.example/', active: 1,
      webhook_recorded: 1, webhook_converted: 0 });
    await insertWebhook(db.kysely, { ...base, webhook: 'http://b.example/', active: 0,
      webhook_recorded: 1, webhook_converted: 1 });
    await insertWebhook(db.kysely, { ...base, webhook: 'http://c.example/', active: 1,
      webhook_recorded: 0, webhook_converted: 1, env_id: 2 });
    const hooks = await subscribedWebhooks(db.kysely, acct.id, 1, 'video_recorded');
    expect(hooks.map((h) => h.webhook)).toEqual(['http://a.example/']);
    expect(await subscribedWebhooks(db.kysely, acct.id, 1, 'video_converted')).toEqual([]);
  });
});
