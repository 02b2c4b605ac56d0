import { createHash } from 'node:crypto';

import type { FastifyReply, FastifyRequest } from 'fastify';

export interface StaticFile {
  body: string;
  type: string;
  etag: string;
}

export function staticFile(body: string, type: string): StaticFile {
  const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`;
  return { body, type, etag };
}

/** Answers with a file held in memory, or 304 when the client has this version already. */
export function sendStatic(
  request: FastifyRequest,
  reply: FastifyReply,
  file: StaticFile,
  headers: Record<string, string> = {},
) {
  void reply.headers({
    'content-type': file.type,
    etag: file.etag,
    'cache-control': 'public, max-age=300',
    'x-content-type-options': 'nosniff',
    ...headers,
  });
  if (request.headers['if-none-match'] === file.etag) return reply.code(304).send();
  return reply.send(file.body);
}
