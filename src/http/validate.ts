import { badRequest } from '../lib/errors.js';

/** A field's check: returns the stored value, or throws a 400 that names the field. */
export type FieldRule<T> = (value: unknown, field: string) => T;

export type Rules = Record<string, FieldRule<unknown>>;

export type Parsed<R extends Rules> = { [K in keyof R]?: ReturnType<R[K]> };

/**
 * Checks a JSON body of name/value pairs: an object, only known names, at least one name
 * when `atLeastOne`, and each value by its rule. Unknown names are refused, never ignored,
 * so a misspelt field cannot look like a successful change.
 */
export function parseBody<R extends Rules>(
  body: unknown,
  rules: R,
  options: { atLeastOne?: boolean; required?: (keyof R)[] } = {},
): Parsed<R> {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw badRequest('body', 'the body must be a JSON object');
  }
  const entries = Object.entries(body as Record<string, unknown>);
  const out: Record<string, unknown> = {};
  for (const [name, value] of entries) {
    // Own keys only: `toString` or `constructor` must not pass for a known field.
    const rule = Object.hasOwn(rules, name) ? rules[name] : undefined;
    if (rule === undefined) {
      throw badRequest(name, `unknown field "${name}"; accepted: ${Object.keys(rules).join(', ')}`);
    }
    out[name] = rule(value, name);
  }
  for (const name of options.required ?? []) {
    if (!(name in out)) throw badRequest(String(name), `field "${String(name)}" is required`);
  }
  if (options.atLeastOne === true && entries.length === 0) {
    throw badRequest('body', `send at least one of: ${Object.keys(rules).join(', ')}`);
  }
  return out as Parsed<R>;
}

export const flagRule: FieldRule<number> = (value, field) => {
  if (value === '0' || value === '1' || value === 0 || value === 1) return Number(value);
  throw badRequest(field, `field "${field}" must be "0" or "1"`);
};

export function textRule(max: number, options: { allowEmpty?: boolean } = {}): FieldRule<string> {
  return (value, field) => {
    if (typeof value !== 'string') throw badRequest(field, `field "${field}" must be a string`);
    if (value.length > max) {
      throw badRequest(field, `field "${field}" must be at most ${max} characters`);
    }
    if (options.allowEmpty === false && value.trim() === '') {
      throw badRequest(field, `field "${field}" must not be empty`);
    }
    checkText(field, value);
    return value;
  };
}

export const portRule: FieldRule<number> = (value, field) => {
  const n = typeof value === 'string' && /^\d{1,5}$/.test(value) ? Number(value) : value;
  if (typeof n === 'number' && Number.isInteger(n) && n >= 1 && n <= 65535) return n;
  throw badRequest(field, `field "${field}" must be a port number from 1 to 65535`);
};

export const envIdRule: FieldRule<number> = (value, field) => {
  const n = typeof value === 'string' && /^\d{1,9}$/.test(value) ? Number(value) : value;
  if (typeof n === 'number' && Number.isInteger(n) && n >= 1 && n <= 2_147_483_647) return n;
  throw badRequest(field, `field "${field}" must be an environment's env_id`);
};

export function oneOfRule<T extends string>(values: readonly T[]): FieldRule<T> {
  return (value, field) => {
    if (typeof value === 'string' && (values as readonly string[]).includes(value)) {
      return value as T;
    }
    throw badRequest(field, `field "${field}" must be one of: ${values.join(', ')}`);
  };
}

export const wholeNumberRule: FieldRule<number> = (value, field) => {
  const n = typeof value === 'string' && /^\d{1,9}$/.test(value) ? Number(value) : value;
  if (typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= 2_147_483_647) return n;
  throw badRequest(field, `field "${field}" must be a whole number`);
};

// eslint-disable-next-line no-control-regex -- control characters are what it looks for
const CONTROL = /[\u0000-\u001f\u007f]/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Text every database keeps exactly: no control characters (PostgreSQL cannot hold NUL) and
 * no lone UTF-16 surrogates (each database would store a different replacement).
 */
export function checkText(field: string, value: string): void {
  if (CONTROL.test(value)) {
    throw badRequest(field, `field "${field}" must not contain control characters`);
  }
  if (LONE_SURROGATE.test(value)) {
    throw badRequest(field, `field "${field}" must be well-formed Unicode text`);
  }
}
