import type { FastifyInstance } from 'fastify';

import type { Context } from '../../context.js';
import type { Account } from '../../db/schema.js';
import { AppError, badRequest } from '../../lib/errors.js';
import { findUploadTarget } from '../../repositories/accounts.js';
import { toPipeVideo } from '../../services/recording-view.js';
import { ok } from '../envelope.js';
import { readUpload, withMultipart } from './multipart.js';

const UPLOAD_FIELDS = [
  'accountHash', 'eid', 'payload', 'capabilities', 'cameraName', 'micName', 'camera_name',
  'microphone_name', 'mrt', 'recorderId', 'streamName', 'source',
];

/**
 * The recorder's upload: no API key, the account hash and environment code say where the
 * recording goes. Both are public (they are in the page's embed code), so a wrong pair gets
 * the same answer whichever of the two is wrong.
 */
export async function uploadRoutes(app: FastifyInstance, ctx: Context) {
  const view = ctx.config;
  await withMultipart(app, ctx, (uploads) => {
    uploads.post('/upload', async (request, reply) => {
      let account: Account | undefined;
      const rec = await readUpload(ctx, request, {
        fileField: 'FileInput',
        fields: UPLOAD_FIELDS,
        identified: (fields) => fields.accountHash !== undefined && fields.eid !== undefined,
        resolve: async (fields) => {
          const accountHash = fields.accountHash;
          const eid = fields.eid;
          if (accountHash === undefined || !/^[a-f0-9]{32}$/.test(accountHash)) {
            throw badRequest('accountHash', 'accountHash must be the 32-character account hash');
          }
          if (eid === undefined || !/^[A-Za-z0-9]{1,32}$/.test(eid)) {
            throw badRequest('eid', 'eid must be the environment code');
          }
          const target = await findUploadTarget(ctx.db.kysely, accountHash, eid);
          if (target === undefined) {
            throw new AppError('not_found', 'no environment with this accountHash and eid');
          }
          account = target.account;
          return target;
        },
        source: 'DESK',
      });
      if (account === undefined) throw new AppError('internal', 'upload target lost');
      const videos = [toPipeVideo(rec, account, view)];
      return ok(request, reply, { total_videos: 1, videos }, 201);
    });
  });
}
