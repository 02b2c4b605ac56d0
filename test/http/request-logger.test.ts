import { Writable } from 'node:stream';

import Fastify, { LogController } from 'fastify';
import type { FastifyBaseLogger } from 'fastify';
import pino from 'pino';
import { describe, expect, it } from 'vitest';

import { lazyRequestLogger } from '../../src/http/request-logger.js';

/** A pino logger with redaction, as the server's, writing its lines into an array. */
function capture(level: string) {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) {
        if (line !== '') lines.push(JSON.parse(line) as Record<string, unknown>);
      }
      done();
    },
  });
  const log = pino({ level, redact: { paths: ['*.api_key'], remove: true } }, sink);
  return { log, lines };
}

async function serverWith(log: FastifyBaseLogger) {
  const app = Fastify({ loggerInstance: log, childLoggerFactory: lazyRequestLogger,
    logController: new LogController({ disableRequestLogging: true }) });
  app.setErrorHandler((err, request, reply) => {
    request.log.error({ err }, 'request failed');
    return reply.code(500).send({ error: 'internal' });
  });
  app.get('/quiet', async () => {
    app.log.info('not a request line');
    return { ok: true };
  });
  app.get('/speaks', async (request) => {
    request.log.debug({ hidden: 1 }, 'below the level');
    request.log.warn({ user: { api_key: 'secret', name: 'Ann' } }, 'a warning');
    request.log.child({ step: 'inner' }).error('from a child');
    return { level: request.log.level };
  });
  app.get('/fails', async () => {
    throw new Error('broken');
  });
  return app;
}

describe('request loggers made on first use', () => {
  it('writes lines with the request id and redaction, as a pino child would', async () => {
    const { log, lines } = capture('warn');
    const app = await serverWith(log);
    const res = await app.inject({ method: 'GET', url: '/speaks' });
    expect(res.json()).toEqual({ level: 'warn' });
    const warned = lines.find((l) => l.msg === 'a warning');
    expect(warned).toMatchObject({ level: 40, reqId: 'req-1', user: { name: 'Ann' } });
    expect(JSON.stringify(warned)).not.toContain('secret');
    expect(lines.find((l) => l.msg === 'from a child')).toMatchObject({ reqId: 'req-1',
      step: 'inner' });
    expect(lines.some((l) => l.msg === 'below the level')).toBe(false);
    await app.close();
  });

  it("logs a failing request's error with its request id", async () => {
    const { log, lines } = capture('info');
    const app = await serverWith(log);
    const res = await app.inject({ method: 'GET', url: '/fails' });
    expect(res.statusCode).toBe(500);
    const failed = lines.find((l) => (l.err as { message?: string } | undefined)?.message ===
      'broken');
    expect(failed).toMatchObject({ level: 50, reqId: 'req-1' });
    await app.close();
  });

  it('makes no pino child for a request that logs nothing at an enabled level', async () => {
    const { log } = capture('warn');
    let children = 0;
    const counting = Object.create(log) as typeof log;
    Object.defineProperty(counting, 'child', { value: (bindings: Record<string, unknown>) => {
      children += 1;
      return log.child(bindings);
    } });
    const made = lazyRequestLogger(counting, { reqId: 'r' }, {});
    made.info('dropped');
    made.debug('dropped');
    expect(children).toBe(0);
    made.error('kept');
    made.warn('kept too');
    expect(children).toBe(1);
  });

  it('gives a route with a level of its own a real child at once', () => {
    const { log } = capture('warn');
    const made = lazyRequestLogger(log, { reqId: 'r' }, { level: 'debug' });
    expect(made.level).toBe('debug');
  });
});
