import Type from 'typebox';
import type { TProperties, TSchema } from 'typebox';

import { json } from './kit.js';
import type { RequestBody } from './kit.js';

/** The forms JSON bodies take, as the route's field rules accept them. */
export const flagIn = (description: string) =>
  Type.Unsafe<string | number>({ enum: ['0', '1', 0, 1], description });

export const wholeIn = (description: string, max: number, min = 0) =>
  Type.Unsafe<string | number>({
    anyOf: [
      { type: 'string', pattern: `^\\d{1,${String(max).length}}$` },
      { type: 'integer', minimum: min, maximum: max },
    ],
    description: `${description} A number from ${min} to ${max}, or the same as a string.`,
  });

export const envIdIn = wholeIn('The env_id of an environment; 1 when left out.', 2_147_483_647,
  1);

export const textIn = (description: string, maxLength: number) =>
  Type.String({ maxLength, description });

export const choiceIn = (values: readonly string[], description: string) =>
  Type.Unsafe<string>({ type: 'string', enum: [...values], description });

/** A JSON object of name/value pairs; unknown names are refused with 400. */
export function jsonBody(
  properties: TProperties,
  options: { required?: string[]; atLeastOne?: boolean; optional?: boolean } = {},
): RequestBody {
  const schema = Type.Unsafe<unknown>({
    type: 'object',
    properties,
    ...(options.required === undefined ? {} : { required: options.required }),
    ...(options.atLeastOne === true ? { minProperties: 1 } : {}),
    additionalProperties: false,
  });
  return { required: options.optional !== true, content: json(schema) };
}

/** A multipart/form-data upload: text fields and one file. */
export function multipartBody(
  description: string,
  file: string,
  fields: Record<string, string>,
  required: string[],
): RequestBody {
  const properties: Record<string, TSchema> = {};
  for (const [name, what] of Object.entries(fields)) {
    properties[name] = Type.String({ description: what });
  }
  properties[file] = Type.String({ contentMediaType: 'application/octet-stream',
    description: 'The recording (WebM, MP4, MOV, audio, …).' });
  return {
    description,
    required: true,
    content: {
      'multipart/form-data': {
        schema: Type.Unsafe<unknown>({ type: 'object', properties, required: [...required, file],
          additionalProperties: false }),
      },
    },
  };
}
