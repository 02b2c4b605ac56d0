import type { FastifyInstance } from 'fastify';

import type { Context } from '../../context.js';
import type { RecordingDelivery } from '../../db/schema.js';
import type { DeliveryTarget } from '../../delivery/types.js';
import { badRequest, notFound } from '../../lib/errors.js';
import { formatDateTime } from '../../lib/format.js';
import { listRecordingDeliveries } from '../../repositories/recording-deliveries.js';
import { findRecording } from '../../repositories/recordings.js';
import { testCredentials } from '../../services/credential-test.js';
import type { CredentialTestResult } from '../../services/credential-test.js';
import { ok, parseId } from '../envelope.js';
import { oneOfRule, parseBody } from '../validate.js';

const time = (ms: number | null) => (ms === null ? null : formatDateTime(ms));

function showDelivery(d: RecordingDelivery) {
  const files = d.files === null ? [] : JSON.parse(d.files) as
    { name: string; size: number; url: string | null }[];
  return {
    id: String(d.id),
    target: d.target,
    credentials_id: String(d.credentials_id),
    status: d.status,
    attempts: String(d.attempts),
    last_error: d.last_error,
    last_attempt_time: time(d.last_attempt_at),
    next_attempt_time: time(d.next_attempt_at),
    delivered_time: time(d.delivered_at),
    files: files.map((f) => ({ name: f.name, size: String(f.size), url: f.url })),
  };
}

function showTest(r: CredentialTestResult) {
  return { target: r.target, success: r.success ? '1' : '0', step: r.step, message: r.message,
    retryable: r.retryable ? '1' : '0' };
}

/** Extensions: where each copy of a recording stands, and a test of a set of credentials. */
export async function deliveryRoutes(app: FastifyInstance, ctx: Context) {
  app.get<{ Params: { id: string } }>('/video/:id/deliveries', async (request, reply) => {
    const id = parseId(request.params.id, 'recording');
    const rec = await findRecording(ctx.db.kysely, request.account.id, id);
    if (rec === undefined) throw notFound('recording');
    const rows = await listRecordingDeliveries(ctx.db.kysely, rec.id);
    return ok(request, reply, { deliveries: rows.map(showDelivery) });
  });

  const test = (path: string, target: (body: unknown) => DeliveryTarget) => {
    app.post<{ Params: { id: string } }>(`${path}/:id/test`, async (request, reply) => {
      const id = parseId(request.params.id, 'credentials');
      const chosen = target(request.body ?? {});
      const result = await testCredentials(ctx, request.account, chosen, id);
      return ok(request, reply, { test_result: showTest(result) });
    });
  };
  const noBody = (t: DeliveryTarget) => (body: unknown) => {
    parseBody(body, {});
    return t;
  };
  test('/amazon', noBody('s3'));
  test('/dropbox', noBody('dbox'));
  test('/ftp', (body) => {
    const parsed = parseBody(body, { protocol: oneOfRule(['ftp', 'sftp'] as const) });
    if (parsed.protocol === undefined) {
      throw badRequest('protocol', 'field "protocol" is required: "ftp" or "sftp"');
    }
    return parsed.protocol;
  });
}
