import multipart from '@fastify/multipart';
import type { FastifyInstance, FastifyRequest } from 'fastify';

import type { Context } from '../../context.js';
import type { Account, Environment, Recording } from '../../db/schema.js';
import { AppError, badRequest } from '../../lib/errors.js';
import {
  checkPayload, createRecording, discard, receiveUpload,
} from '../../services/ingest.js';
import type { ReceivedFile, UploadMeta } from '../../services/ingest.js';
import { checkText } from '../validate.js';

/**
 * Registers `routes` in a scope of their own that reads multipart bodies. The multipart
 * plugin hooks every request of the scope it is registered in, so it is kept to the routes
 * that take uploads; elsewhere a multipart body is refused as any unknown type is.
 */
export async function withMultipart(
  app: FastifyInstance,
  ctx: Context,
  routes: (scope: FastifyInstance) => void,
): Promise<void> {
  await app.register(async (scope) => {
    await scope.register(multipart, {
      limits: {
        fileSize: ctx.config.maxUploadBytes,
        files: 1,
        fields: 20,
        fieldSize: 64 * 1024,
        parts: 25,
      },
    });
    routes(scope);
  });
}

export interface UploadSpec {
  fileField: string;
  /** Text fields the form may carry; any other name is refused. */
  fields: readonly string[];
  resolve(fields: Record<string, string>): Promise<{ account: Account; environment: Environment }>;
  /** Whether the fields that say where the upload goes have all arrived. */
  identified(fields: Record<string, string>): boolean;
  source: UploadMeta['source'];
}

/**
 * Reads a multipart upload. When the identifying fields come before the file, they are
 * checked before a single byte is stored; when they come after it, the file waits in a
 * private temporary file and is discarded unless they check out.
 */
export async function readUpload(
  ctx: Context,
  request: FastifyRequest,
  spec: UploadSpec,
): Promise<Recording> {
  if (!request.isMultipart()) {
    throw new AppError('unsupported_media', 'send the recording as multipart/form-data');
  }
  const fields: Record<string, string> = {};
  let target: { account: Account; environment: Environment } | null = null;
  let file: ReceivedFile | null = null;
  try {
    for await (const part of request.parts()) {
      if (part.type === 'file') {
        if (part.fieldname !== spec.fileField || file !== null) {
          part.file.resume();
          throw badRequest(part.fieldname, `unexpected file field "${part.fieldname}"; ` +
            `send one file as "${spec.fileField}"`);
        }
        if (target === null && spec.identified(fields)) {
          target = await spec.resolve(fields).catch((err: unknown) => {
            part.file.resume();
            throw err;
          });
        }
        file = await receiveUpload(ctx, {
          stream: part.file,
          filename: part.filename,
          truncated: () => part.file.truncated,
        });
        continue;
      }
      if (!spec.fields.includes(part.fieldname)) {
        throw badRequest(part.fieldname, `unknown field "${part.fieldname}"; accepted: ` +
          `${[...spec.fields, spec.fileField].join(', ')}`);
      }
      if (typeof part.value !== 'string') throw badRequest(part.fieldname, 'must be text');
      checkText(part.fieldname, part.value);
      if (part.fieldname === 'payload') checkPayload(ctx, part.value);
      fields[part.fieldname] = part.value;
    }
    if (file === null) throw badRequest(spec.fileField, `no file in "${spec.fileField}"`);
    target ??= await spec.resolve(fields);
    const mrt = fields.mrt === undefined ? undefined : Number(fields.mrt);
    if (mrt !== undefined && (!Number.isInteger(mrt) || mrt < 0 || mrt > 86_400)) {
      throw badRequest('mrt', 'mrt must be a whole number of seconds');
    }
    const received = file;
    file = null;
    return await createRecording(ctx, target.account, target.environment, received, {
      ip: request.ip,
      userAgent: request.headers['user-agent'],
      referer: request.headers.referer,
      cameraName: fields.camera_name ?? fields.cameraName,
      microphoneName: fields.microphone_name ?? fields.micName,
      payload: fields.payload,
      mrt,
      source: spec.source,
    });
  } finally {
    await discard(file);
  }
}
