import Type from 'typebox';
import type { TSchema } from 'typebox';

import type { Context } from '../../context.js';
import { sessionCookieName } from '../../dashboard/cookies.js';
import { staticFile } from '../static-file.js';
import type { StaticFile } from '../static-file.js';
import { dashboardPaths } from './dashboard-paths.js';
import { webhookEvents } from './events.js';
import { ERROR_RESPONSES, errorEnvelope, json, text } from './kit.js';
import type { Paths, Response } from './kit.js';
import { publicPaths } from './public-paths.js';
import { recordingPaths } from './recording-paths.js';
import { SCHEMAS } from './schemas.js';
import { settingsPaths } from './settings-paths.js';

const DESCRIPTION = `Pipe's REST API v1 at the same paths with the same JSON, and this server's \
extensions (marked as such).

Every number is a string, as in Pipe's answers; \`null\` stays \`null\`. Answers use Pipe's \
envelope: \`status\`, \`status_code\`, \`message\`, \`request_method\`, then the resource. \
Errors use the same envelope with \`"status": "ERROR"\`. Any path answers 405 (with Allow) \
to a method it does not take, and any request may answer 500. A request body that is not \
valid JSON answers 400, one of a type no route reads 415, and a JSON body over 1 MiB 413, \
whatever the route.

Objects are scoped to the API key's account: another account's id answers 404 exactly \
like a missing one. Past the rate limit, requests answer 429 with Retry-After.`;

const TAGS: [string, string][] = [
  ['recordings', 'Recordings: Pipe\'s /video endpoints.'],
  ['account', 'The account and its keys.'],
  ['environments', 'Environments.'],
  ['webhooks', 'Webhooks and their deliveries.'],
  ['storage', 'Credentials for copies to the customer\'s storage.'],
  ['privacy', 'Erasing personal data.'],
  ['uploads', 'Uploads without an API key: the recorder\'s, and tus.'],
  ['recorder', 'The recorder embed\'s files.'],
  ['media', 'Stored files.'],
  ['system', 'Health, metrics and this document.'],
  ['dashboard', 'The web dashboard\'s pages and forms.'],
];

const ERROR: TSchema = Type.Object({
  status: Type.Literal('ERROR'),
  status_code: Type.Integer({ minimum: 400, maximum: 599 }),
  message: text('What went wrong.'),
  request_method: text('The request\'s method.'),
}, { additionalProperties: false, description: 'Pipe\'s error envelope.' });

const READINESS: TSchema = Type.Object({
  status: Type.Unsafe<string>({ type: 'string', enum: ['ok', 'unavailable'] }),
  database: text('The dialect ("sqlite" or "postgres"), or "unreachable".'),
  media_store: text('The store ("local" or "s3"), or "unreachable".'),
}, { additionalProperties: false });

function errorResponses(): Record<string, Response> {
  const out: Record<string, Response> = {};
  for (const [code, [name, description]] of Object.entries(ERROR_RESPONSES)) {
    const response: Response = { description, content: json(errorEnvelope(Number(code))) };
    if (code === '405') {
      response.headers = { Allow: { description: 'The methods the path takes.', required: true,
        schema: Type.String() } };
    }
    if (code === '429') {
      response.headers = {
        'Retry-After': { description: 'Seconds to wait.', required: true, schema: Type.String() },
        'X-RateLimit-Limit': { description: 'Requests a minute.', schema: Type.String() },
        'X-RateLimit-Remaining': { description: 'Requests left this minute.',
          schema: Type.String() },
      };
    }
    out[name] = response;
  }
  return out;
}

/** Path items from several tables, refusing an operation described twice. */
export function mergePaths(...tables: Paths[]): Paths {
  const out: Paths = {};
  for (const table of tables) {
    for (const [path, item] of Object.entries(table)) {
      const existing = out[path] ?? {};
      for (const method of Object.keys(item)) {
        if (method in existing) throw new Error(`${method} ${path} is described twice`);
      }
      out[path] = { ...existing, ...item };
    }
  }
  return out;
}

/** The OpenAPI 3.1 document of this server's HTTP interface. */
export function openApiDocument(ctx: Pick<Context, 'config'>) {
  return {
    openapi: '3.1.0',
    info: { title: 'standpipe', version: '1.0.0', description: DESCRIPTION },
    servers: [{ url: ctx.config.publicUrl }],
    tags: TAGS.map(([name, description]) => ({ name, description })),
    security: [{ apiKey: [] }, { session: [] }],
    paths: mergePaths(recordingPaths, settingsPaths, publicPaths, dashboardPaths),
    webhooks: webhookEvents,
    components: {
      schemas: { ...SCHEMAS, Error: ERROR, Readiness: READINESS },
      responses: errorResponses(),
      securitySchemes: {
        apiKey: { type: 'apiKey', in: 'header', name: 'X-PIPE-AUTH',
          description: 'The account\'s API key; the header name is matched in any case.' },
        session: { type: 'apiKey', in: 'cookie', name: sessionCookieName(ctx.config),
          description: 'The dashboard\'s session. A request that changes anything must also ' +
            'carry the session\'s CSRF token in X-CSRF-Token, else it answers 403.' },
        metricsToken: { type: 'http', scheme: 'bearer',
          description: 'STANDPIPE_METRICS_TOKEN, when the operator sets one.' },
      },
    },
  };
}

/**
 * GET /openapi.json, open to anyone (it holds no secret) and readable cross-origin. Built on
 * the first request, once the server knows the address it listens on.
 */
/** The document as served: built once, on the first request that asks for it. */
export function openApiFile(ctx: Context): StaticFile {
  return staticFile(JSON.stringify(openApiDocument(ctx)), 'application/json; charset=utf-8');
}
