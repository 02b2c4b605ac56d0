import type { FastifyReply, FastifyRequest } from 'fastify';

import { AppError } from '../lib/errors.js';

/**
 * The method an answer names: a HEAD request is told what GET would say, so that the headers
 * it gets, Content-Length among them, are GET's.
 */
export function shownMethod(method: string): string {
  return method === 'HEAD' ? 'GET' : method;
}

/** Pipe's success envelope, followed by the resource key and anything extra. */
export function ok(
  request: FastifyRequest,
  reply: FastifyReply,
  body: Record<string, unknown>,
  statusCode = 200,
) {
  return reply.code(statusCode).send({
    status: 'OK',
    status_code: statusCode,
    message: 'Request successful',
    request_method: shownMethod(request.method),
    ...body,
  });
}

export function errorBody(method: string, statusCode: number, message: string) {
  return { status: 'ERROR', status_code: statusCode, message,
    request_method: shownMethod(method) };
}

/** Parses a numeric path id; anything else is treated as an id that does not exist. */
export function parseId(value: string | undefined, what: string): number {
  if (value === undefined || !/^[1-9]\d{0,15}$/.test(value)) {
    throw new AppError('not_found', `${what} not found`);
  }
  return Number(value);
}
