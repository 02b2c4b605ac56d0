import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

import type { Context } from '../../context.js';
import { AppError, badRequest } from '../../lib/errors.js';
import {
  TUS_VERSION, appendToUpload, createUpload, terminateUpload, uploadState,
} from '../../services/tus.js';
import type { UploadState } from '../../services/tus.js';
import { encodeUploadMetadata, parseUploadMetadata } from '../../services/tus-metadata.js';
import type { StoredUploadMeta } from '../../services/tus-metadata.js';

const OFFSET_TYPE = 'application/offset+octet-stream';
const EXTENSIONS = 'creation,termination,expiration';

/** Recorders run on customers' pages, so every answer is readable from any origin. */
const CORS = {
  'access-control-allow-origin': '*',
  'access-control-expose-headers': [
    'Location', 'Upload-Offset', 'Upload-Length', 'Upload-Metadata', 'Upload-Expires',
    'Tus-Resumable', 'Tus-Version', 'Tus-Extension', 'Tus-Max-Size', 'Standpipe-Video-Id',
    'Standpipe-Video-Name',
  ].join(', '),
};

type IdRequest = FastifyRequest<{ Params: { id: string } }>;

/**
 * tus 1.0 resumable uploads (core, creation, termination, expiration) at /tus. Creation
 * checks the account hash and environment code in Upload-Metadata before any byte is
 * accepted; the last PATCH turns the upload into a recording as POST /upload would.
 */
export async function tusRoutes(app: FastifyInstance, ctx: Context) {
  await app.register(async (tus) => {
    // PATCH bodies are streamed to disk by the handler, never buffered by a parser.
    tus.addContentTypeParser(OFFSET_TYPE, (_request, _payload, done) => done(null));

    tus.addHook('onRequest', async (request, reply) => {
      void reply.headers({ ...CORS, 'tus-resumable': TUS_VERSION });
      if (request.method === 'OPTIONS') return;
      if (request.headers['tus-resumable'] !== TUS_VERSION) {
        void reply.header('tus-version', TUS_VERSION);
        throw new AppError('precondition_failed', `send Tus-Resumable: ${TUS_VERSION}`);
      }
    });

    const options = async (_request: FastifyRequest, reply: FastifyReply) => {
      return reply.code(204).headers({
        'tus-version': TUS_VERSION,
        'tus-extension': EXTENSIONS,
        'tus-max-size': String(ctx.config.maxUploadBytes),
        'access-control-allow-methods': 'POST, HEAD, PATCH, DELETE, OPTIONS',
        'access-control-allow-headers': 'Tus-Resumable, Upload-Length, Upload-Metadata, ' +
          'Upload-Offset, Content-Type, X-HTTP-Method-Override, X-Requested-With',
        'access-control-max-age': '86400',
      }).send();
    };
    tus.options('/tus', options);
    tus.options('/tus/:id', options);

    tus.post('/tus', async (request, reply) => {
      const upload = await createUpload(ctx, {
        length: header(request, 'upload-length'),
        metadata: parseUploadMetadata(header(request, 'upload-metadata')),
        ip: request.ip,
        userAgent: header(request, 'user-agent'),
        referer: header(request, 'referer'),
      });
      return reply.code(201).headers({
        location: `/tus/${upload.id}`,
        'upload-expires': new Date(upload.expires_at).toUTCString(),
      }).send();
    });

    tus.head('/tus/:id', async (request: IdRequest, reply) => {
      const state = await uploadState(ctx, request.params.id);
      const meta = JSON.parse(state.upload.metadata) as Partial<StoredUploadMeta>;
      return reply.code(200).headers({
        ...stateHeaders(state),
        'upload-length': String(state.upload.upload_length),
        'upload-metadata': encodeUploadMetadata(meta, {}),
        'cache-control': 'no-store',
      }).send();
    });

    const patch = async (request: IdRequest, reply: FastifyReply) => {
      const type = (header(request, 'content-type') ?? '').split(';')[0]?.trim().toLowerCase();
      if (type !== OFFSET_TYPE) {
        throw new AppError('unsupported_media', `send PATCH bodies as ${OFFSET_TYPE}`);
      }
      const raw = header(request, 'upload-offset');
      if (raw === undefined || !/^\d{1,16}$/.test(raw)) {
        throw badRequest('Upload-Offset', 'Upload-Offset must be a number of bytes');
      }
      const length = header(request, 'content-length');
      const state = await appendToUpload(ctx, request.params.id, Number(raw), request.raw,
        length === undefined ? undefined : Number(length));
      return reply.code(204).headers(stateHeaders(state)).send();
    };
    const terminate = async (request: IdRequest, reply: FastifyReply) => {
      await terminateUpload(ctx, request.params.id);
      return reply.code(204).send();
    };
    tus.patch('/tus/:id', patch);
    tus.delete('/tus/:id', terminate);

    // For networks that only let GET and POST through, as tus allows.
    tus.post('/tus/:id', async (request: IdRequest, reply) => {
      const method = header(request, 'x-http-method-override')?.toUpperCase();
      if (method === 'PATCH') return patch(request, reply);
      if (method === 'DELETE') return terminate(request, reply);
      throw new AppError('method_not_allowed', 'POST to an upload needs X-HTTP-Method-Override: ' +
        'PATCH or DELETE');
    });
  });
}

function stateHeaders(state: UploadState): Record<string, string> {
  const headers: Record<string, string> = {
    'upload-offset': String(state.upload.upload_offset),
    'upload-expires': new Date(state.upload.expires_at).toUTCString(),
  };
  if (state.recording !== null) {
    headers['standpipe-video-id'] = String(state.recording.id);
    headers['standpipe-video-name'] = state.recording.name;
  }
  return headers;
}

function header(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}
