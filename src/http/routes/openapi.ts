import type { FastifyInstance } from 'fastify';

import type { Context } from '../../context.js';
import { sendStatic } from '../static-file.js';
import type { StaticFile } from '../static-file.js';

/**
 * GET /openapi.json. The document's schemas take longer to load than the rest of the server
 * together, so they are loaded on the first request for it, not at start-up.
 */
export async function openApiRoutes(app: FastifyInstance, ctx: Context) {
  let file: Promise<StaticFile> | undefined;
  app.get('/openapi.json', async (request, reply) => {
    file ??= import('../openapi/document.js').then((m) => m.openApiFile(ctx), (err: unknown) => {
      file = undefined;
      throw err;
    });
    return sendStatic(request, reply, await file, { 'access-control-allow-origin': '*' });
  });
}
