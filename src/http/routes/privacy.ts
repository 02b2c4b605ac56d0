import type { FastifyInstance } from 'fastify';

import type { Context } from '../../context.js';
import { badRequest } from '../../lib/errors.js';
import { anonymizeEnvironment, anonymizeRecording } from '../../services/privacy.js';
import { toPipeVideo } from '../../services/recording-view.js';
import { ok, parseId } from '../envelope.js';
import { parseBody } from '../validate.js';
import type { FieldRule } from '../validate.js';

const PIPE_DATETIME = /^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2})$/;
const ISO_DATE = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})?)?$/;

/** Whether a YYYY-MM-DD prefix names a day of the calendar (Date.parse rolls 02-31 over). */
function realDay(text: string): boolean {
  const [y, m, d] = text.slice(0, 10).split('-').map(Number);
  if (y === undefined || m === undefined || d === undefined) return false;
  const day = new Date(Date.UTC(y, m - 1, d));
  return day.getUTCMonth() === m - 1 && day.getUTCDate() === d;
}

/**
 * A moment as Pipe writes `datetime` ("YYYY-MM-DD HH:MM:SS", UTC) or as an ISO 8601 date or
 * date-time; one without a zone is UTC, like every date the API shows.
 */
export const beforeRule: FieldRule<number> = (value, field) => {
  if (typeof value === 'string' && (PIPE_DATETIME.test(value) || ISO_DATE.test(value))) {
    let text = value.replace(' ', 'T');
    if (text.includes('T') && !/(Z|[+-]\d{2}:\d{2})$/.test(text)) text += 'Z';
    const ms = Date.parse(text);
    if (Number.isFinite(ms) && realDay(value)) return ms;
  }
  throw badRequest(field, `field "${field}" must be a date, "YYYY-MM-DD HH:MM:SS" (UTC) ` +
    'or ISO 8601');
};

/** Extensions: erase the recorder's personal data from recordings, keeping their media. */
export async function privacyRoutes(app: FastifyInstance, ctx: Context) {
  app.post<{ Params: { id: string } }>('/video/:id/anonymize', async (request, reply) => {
    const id = parseId(request.params.id, 'recording');
    const rec = await anonymizeRecording(ctx, request.account, id);
    return ok(request, reply, {
      total_videos: 1,
      videos: [toPipeVideo(rec, request.account, ctx.config)],
    });
  });

  app.post<{ Params: { id: string } }>('/environment/:id/anonymize', async (request, reply) => {
    const id = parseId(request.params.id, 'environment');
    const body = parseBody(request.body, { before: beforeRule }, { required: ['before'] });
    const count = await anonymizeEnvironment(ctx, request.account, id, body.before ?? 0);
    return ok(request, reply, {
      message: `${count} recordings anonymized`,
      total_videos: count,
    });
  });
}
