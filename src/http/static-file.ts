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
  if (noneMatchHolds(request.headers['if-none-match'], file.etag)) return reply.code(304).send();
  return reply.send(file.body);
}

/**
 * Whether If-None-Match names this version (RFC 9110, 13.1.2): `*`, or a list in which one
 * tag equals ours when weakness is ignored, as the weak comparison this check uses does.
 */
export function noneMatchHolds(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  if (header.trim() === '*') return true;
  const ours = etag.replace(/^W\//, '');
  for (const tag of header.match(/(?:W\/)?"[^"]*"/g) ?? []) {
    if (tag.replace(/^W\//, '') === ours) return true;
  }
  return false;
}
