import Type from 'typebox';
import type { TProperties, TSchema } from 'typebox';

/** The parts of an OpenAPI 3.1 document this server's description uses. */
export interface Ref {
  $ref: string;
}

export interface Header {
  description: string;
  required?: boolean;
  schema: TSchema;
}

export interface MediaType {
  schema: TSchema;
}

export interface Response {
  description: string;
  headers?: Record<string, Header | Ref>;
  content?: Record<string, MediaType>;
}

export interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header' | 'cookie';
  description?: string;
  required?: boolean;
  schema: TSchema;
}

export interface RequestBody {
  description?: string;
  required: boolean;
  content: Record<string, MediaType>;
}

export type Security = Record<string, string[]>[];

export interface Operation {
  operationId: string;
  summary: string;
  description?: string;
  tags: string[];
  security?: Security;
  parameters?: (Parameter | Ref)[];
  requestBody?: RequestBody;
  responses: Record<string, Response | Ref>;
}

export type Method = 'get' | 'put' | 'post' | 'delete' | 'options' | 'head' | 'patch';

export type PathItem = Partial<Record<Method, Operation>>;

export type Paths = Record<string, PathItem>;

/** Open to anyone: no API key, no session. */
export const PUBLIC: Security = [];

/** Pipe's dates: "YYYY-MM-DD HH:MM:SS". */
export const DATETIME = '^\\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2}:\\d{2}$';

export const text = (description?: string, options: { maxLength?: number } = {}) =>
  Type.String({ ...(description === undefined ? {} : { description }), ...options });

/** Text the server sends as null when it has none, as Pipe does. */
export const nullableText = (description: string) =>
  Type.Unsafe<string | null>({ type: ['string', 'null'], description });

/** A whole number written as a string, as Pipe writes every number. */
export const digits = (description: string) =>
  Type.String({ pattern: '^\\d+$', description });

export const nullableDigits = (description: string) =>
  Type.Unsafe<string | null>({ type: ['string', 'null'], pattern: '^\\d+$', description });

/** "0" or "1". */
export const flag = (description: string) =>
  Type.Unsafe<string>({ type: 'string', enum: ['0', '1'], description });

export const dateTime = (description: string) =>
  Type.String({ pattern: DATETIME, description });

export const nullableDateTime = (description: string) =>
  Type.Unsafe<string | null>({ type: ['string', 'null'], pattern: DATETIME, description });

export const oneOf = <T extends string>(values: readonly T[], description: string) =>
  Type.Unsafe<T>({ type: 'string', enum: [...values], description });

/** An object with exactly these fields, in this order: nothing missing, nothing more. */
export const exact = <P extends TProperties>(properties: P, description?: string) =>
  Type.Object(properties, {
    additionalProperties: false,
    ...(description === undefined ? {} : { description }),
  });

export const schemaRef = (name: string) =>
  Type.Unsafe<unknown>({ $ref: `#/components/schemas/${name}` });

export const json = (schema: TSchema): Record<string, MediaType> => ({
  'application/json': { schema },
});

/** The HTTP status again, as a JSON integer. */
const statusCode = <C extends number>(code: C) => Type.Unsafe<C>({ type: 'integer', const: code });

const OK_MESSAGE = Type.Literal('Request successful');

/**
 * Pipe's success envelope: status, status_code, message and request_method, then the
 * resource. Every answer of this shape is a whole object, so a field the server adds
 * without a word here makes the answer invalid.
 */
export function okEnvelope(
  code: 200 | 201 | 202,
  method: string,
  resource: TProperties,
  message: TSchema = OK_MESSAGE,
) {
  return exact({
    status: Type.Literal('OK'),
    status_code: statusCode(code),
    message,
    request_method: Type.Literal(method.toUpperCase()),
    ...resource,
  });
}

/** One answer of Pipe's envelope with its resource key. */
export function ok(
  code: 200 | 201 | 202,
  method: string,
  description: string,
  resource: TProperties,
  message?: TSchema,
): Record<string, Response> {
  return {
    [String(code)]: { description, content: json(okEnvelope(code, method, resource, message)) },
  };
}

/** Error answers by status, each described once under components.responses. */
export const ERROR_RESPONSES = {
  400: ['BadRequest', 'A bad parameter or body; the message names the field.'],
  401: ['Unauthorized', 'No API key, or one that is not valid.'],
  403: ['Forbidden', 'Signed in by the dashboard session cookie, but without its ' +
    'X-CSRF-Token header on a request that changes something.'],
  404: ['NotFound', 'No such object in this account (another account\'s id answers the same).'],
  405: ['MethodNotAllowed', 'The path exists, but not with this method; Allow lists the ' +
    'methods it takes.'],
  409: ['Conflict', 'The request does not match the resource\'s current state.'],
  410: ['Gone', 'The resource existed but is no longer available.'],
  412: ['PreconditionFailed', 'A tus request without Tus-Resumable: 1.0.0.'],
  413: ['PayloadTooLarge', 'The body or the upload is over the limit.'],
  415: ['UnsupportedMediaType', 'The body is not of a type this endpoint takes.'],
  429: ['TooManyRequests', 'Over the rate limit; Retry-After says when to try again.'],
  500: ['InternalError', 'Something failed on the server.'],
} as const;

export type ErrorStatus = keyof typeof ERROR_RESPONSES;

/** Refers to the shared error answers for these statuses. */
export function errors(...codes: ErrorStatus[]): Record<string, Ref> {
  return Object.fromEntries(codes.map((code) =>
    [String(code), { $ref: `#/components/responses/${ERROR_RESPONSES[code][0]}` }]));
}

/** Pipe's error envelope with this status. */
export const errorEnvelope = (code: number) => exact({
  status: Type.Literal('ERROR'),
  status_code: statusCode(code),
  message: text('What went wrong, in words; for a 400, the field it concerns.'),
  request_method: text('The request\'s method.'),
});

export const pathId = (name: string, description: string): Parameter => ({
  name, in: 'path', required: true, description, schema: Type.String(),
});
