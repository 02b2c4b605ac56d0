/**
 * On PostgreSQL a job enqueued by one process wakes the workers of the others through
 * LISTEN/NOTIFY, so that an API process and a worker behave as one process would.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { jobsChannel } from '../../src/db/listen.js';
import type { Account } from '../../src/db/schema.js';
import { findAccountById } from '../../src/repositories/accounts.js';
import { insertRecording } from '../../src/repositories/recordings.js';
import { createAccount } from '../../src/services/accounts.js';
import { emitEvent } from '../../src/services/events.js';
import { DIALECTS, PG_URL, eventually } from '../helpers/harness.js';
import { startReceiver } from '../helpers/receiver.js';
import type { Receiver } from '../helpers/receiver.js';
import { sharedServices, startNode } from './cluster.js';
import type { Node, Shared } from './cluster.js';

describe.skipIf(!DIALECTS.includes('postgres'))('job announcements on PostgreSQL', () => {
  let shared: Shared;
  let api: Node;
  let worker: Node;
  let receiver: Receiver;
  let account: Account;
  let admin: pg.Client;

  beforeAll(async () => {
    shared = await sharedServices('postgres', false);
    receiver = await startReceiver();
    api = await startNode(shared, 'api');
    // A poll so rare that only an announcement can explain a prompt delivery.
    worker = await startNode(shared, 'worker', { STANDPIPE_JOB_POLL_MS: '60000' });
    const created = await createAccount(api.server.ctx, { name: 'Wake', email: 'w@example.com' });
    const hook = await fetch(`${api.url}/webhook`, { method: 'POST',
      headers: { 'x-pipe-auth': created.api_key, 'content-type': 'application/json' },
      body: JSON.stringify({ webhook: receiver.url('/wake') }) });
    expect(hook.status).toBe(201);
    const row = await findAccountById(api.server.ctx.db.kysely, created.id);
    if (row === undefined) throw new Error('account missing');
    account = row;
    admin = new pg.Client({ connectionString: PG_URL });
    await admin.connect();
  });

  afterAll(async () => {
    await admin?.end();
    await worker?.stop();
    await api?.stop();
    await receiver?.close();
    await shared?.close();
  });

  /** The worker's listening connection, once it is there. */
  async function listenerPid(): Promise<number> {
    const channel = jobsChannel(shared.testDb.schema ?? undefined);
    return eventually(async () => {
      const res = await admin.query<{ pid: number }>('select pid from pg_stat_activity ' +
        'where query = $1', [`LISTEN "${channel}"`]);
      return res.rows[0]?.pid;
    }, 10_000, 'the worker to listen');
  }

  async function emitOne(n: number): Promise<number> {
    const { ctx } = api.server;
    await ctx.db.kysely.transaction().execute(async (trx) => {
      const rec = await insertRecording(trx, {
        account_id: account.id, env_id: 1, name: `vswake${n}_${Date.now()}`,
        status: 'recorded', original_ext: 'webm', original_container: 'webm',
        created_at: Date.now(), ipv4: '', ua: '', http_referer: '', camera_name: '',
        microphone_name: '', payload: '', mrt: null, source: 'DESK', original_size: 1,
        region: 'local',
      });
      await emitEvent(ctx, trx, 'video_recorded', rec, account);
    });
    const t0 = Date.now();
    ctx.queue.notify();
    return t0;
  }

  it('wakes a worker in another process at once, and again after its connection was cut',
    async () => {
      const first = await listenerPid();
      const t0 = await emitOne(1);
      const got = await receiver.waitFor(1, 10_000);
      expect(got.receivedAt - t0).toBeLessThan(3000);

      await admin.query('select pg_terminate_backend($1)', [first]);
      const second = await eventually(async () => {
        const pid = await listenerPid();
        return pid !== first ? pid : undefined;
      }, 10_000, 'the worker to listen again');
      expect(second).not.toBe(first);
      const t1 = await emitOne(2);
      const again = await receiver.waitFor(2, 10_000);
      expect(again.receivedAt - t1).toBeLessThan(3000);
    }, 40_000);
});
