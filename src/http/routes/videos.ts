import { Readable } from 'node:stream';

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

import type { Context } from '../../context.js';
import { badRequest, notFound } from '../../lib/errors.js';
import { findEnvironmentByEnvId } from '../../repositories/environments.js';
import { countRecordings, listRecordingsPage } from '../../repositories/recordings.js';
import { RecordingAnswers } from '../../services/recording-answers.js';
import { deleteRecording } from '../../services/recordings.js';
import { toPipeVideo } from '../../services/recording-view.js';
import { ok, parseId, shownMethod } from '../envelope.js';
import { readUpload, withMultipart } from './multipart.js';

const PAGE = 500;

export async function videoRoutes(app: FastifyInstance, ctx: Context) {
  const view = ctx.config;

  // The list is streamed page by page, so its size does not bound the server's memory.
  const listAll = async (request: FastifyRequest, reply: FastifyReply) => {
    const account = request.account;
    const total = await countRecordings(ctx.db.kysely, account.id);
    const head = JSON.stringify({
      status: 'OK', status_code: 200, message: 'Request successful',
      request_method: shownMethod(request.method), total_videos: total,
    });
    async function* body() {
      // Sent on its own, so the client has the first byte before the first page is read.
      yield `${head.slice(0, -1)},"videos":[`;
      let after = 0;
      let first = true;
      for (;;) {
        const page = await listRecordingsPage(ctx.db.kysely, account.id, after, PAGE);
        if (page.length === 0) break;
        const parts = page.map((rec) => JSON.stringify(toPipeVideo(rec, account, view)));
        yield (first ? '' : ',') + parts.join(',');
        first = false;
        after = page[page.length - 1]?.id ?? after;
        if (page.length < PAGE) break;
      }
      yield ']}';
    }
    return reply.type('application/json; charset=utf-8').send(Readable.from(body()));
  };
  app.get('/video', listAll);
  app.get('/video/all', listAll);

  // The most frequent call of all: the answer is kept as bytes while the database has not
  // changed (see RecordingAnswers), and a kept one is sent without waiting for anything.
  // HEAD is answered with GET's envelope, so that its Content-Length is GET's.
  const head = JSON.stringify({ status: 'OK', status_code: 200, message: 'Request successful',
    request_method: 'GET', total_videos: 1 }).slice(0, -1);
  const answers = new RecordingAnswers(ctx, (video) => `${head},"videos":[${video}]}`);
  const sendAnswer = (reply: FastifyReply, body: Buffer | undefined) => {
    if (body === undefined) throw notFound('recording');
    return reply.type('application/json; charset=utf-8').send(body);
  };
  app.get<{ Params: { id: string } }>('/video/:id', (request, reply) => {
    const id = parseId(request.params.id, 'recording');
    const kept = answers.kept(request.account, id);
    if (kept !== undefined) return sendAnswer(reply, kept);
    return answers.read(request.account, id).then((body) => sendAnswer(reply, body));
  });

  app.delete<{ Params: { id: string } }>('/video/:id', async (request, reply) => {
    const id = parseId(request.params.id, 'recording');
    const rec = await deleteRecording(ctx, request.account, id);
    return ok(request, reply, { message: `Recording ${rec.id} deleted` });
  });

  // Extension: upload a file as a recording with the API key (multipart `file`, `env_id`).
  await withMultipart(app, ctx, (uploads) => {
    uploads.post('/video', async (request, reply) => {
      const account = request.account;
      const rec = await readUpload(ctx, request, {
        fileField: 'file',
        fields: ['env_id', 'payload', 'camera_name', 'microphone_name', 'mrt'],
        identified: (fields) => fields.env_id !== undefined,
        resolve: async (fields) => {
          const raw = fields.env_id ?? '1';
          if (!/^\d{1,9}$/.test(raw)) throw badRequest('env_id', 'env_id must be a number');
          const env = await findEnvironmentByEnvId(ctx.db.kysely, account.id, Number(raw));
          if (env === undefined) throw badRequest('env_id', `no environment with env_id ${raw}`);
          return { account, environment: env };
        },
        source: 'API',
      });
      const videos = [toPipeVideo(rec, account, view)];
      return ok(request, reply, { total_videos: 1, videos }, 201);
    });
  });
}
