import type { FastifyInstance } from 'fastify';

import type { Context } from '../../context.js';
import { AppError } from '../../lib/errors.js';
import { checkKey } from '../../storage/media-store.js';

const TYPES: Record<string, string> = {
  mp4: 'video/mp4', jpg: 'image/jpeg', webm: 'video/webm', mov: 'video/quicktime',
  m4a: 'audio/mp4', ogg: 'audio/ogg', wav: 'audio/wav', mp3: 'audio/mpeg', mkv: 'video/x-matroska',
};

/**
 * Serves stored files at the links the API and webhooks give out. Names carry 50 random
 * bits beside the time, so a link is as hard to guess as a Pipe storage link.
 */
export async function mediaRoutes(app: FastifyInstance, ctx: Context) {
  app.get<{ Params: { hash: string; file: string } }>('/media/:hash/:file', async (req, reply) => {
    let key: string;
    try {
      key = checkKey(`${req.params.hash}/${req.params.file}`);
    } catch {
      throw new AppError('not_found', 'file not found');
    }
    const size = await ctx.store.size(key);
    if (size === null) throw new AppError('not_found', 'file not found');

    const ext = key.slice(key.lastIndexOf('.') + 1).toLowerCase();
    void reply.header('content-type', TYPES[ext] ?? 'application/octet-stream');
    void reply.header('accept-ranges', 'bytes');
    void reply.header('cache-control', 'private, max-age=3600');
    void reply.header('x-content-type-options', 'nosniff');

    const range = parseRange(req.headers.range, size);
    if (range === 'invalid') {
      void reply.header('content-range', `bytes */${size}`);
      return reply.code(416).send();
    }
    if (range === null) {
      void reply.header('content-length', String(size));
      return reply.send(await ctx.store.open(key));
    }
    void reply.header('content-range', `bytes ${range.start}-${range.end}/${size}`);
    void reply.header('content-length', String(range.end - range.start + 1));
    return reply.code(206).send(await ctx.store.open(key, range));
  });
}

/** One byte range (`bytes=a-b`, `a-`, `-n`); several ranges are served as the whole file. */
export function parseRange(header: string | undefined, size: number) {
  if (header === undefined) return null;
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (match === null) return null;
  const [, a = '', b = ''] = match;
  let start: number;
  let end: number;
  if (a === '') {
    if (b === '') return 'invalid' as const;
    start = Math.max(0, size - Number(b));
    end = size - 1;
  } else {
    start = Number(a);
    end = b === '' ? size - 1 : Math.min(Number(b), size - 1);
  }
  if (start > end || start >= size) return 'invalid' as const;
  return { start, end };
}
