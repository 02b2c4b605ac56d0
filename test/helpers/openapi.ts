import { Ajv2020 } from 'ajv/dist/2020.js';
import type { ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import type { FastifyInstance } from 'fastify';

import type { ApiResponse } from './harness.js';

// ajv-formats is CommonJS: under ESM its plugin is the default export's `default`.
const addFormats = addFormatsModule.default;

type Json = Record<string, unknown>;

const DOC_ID = 'urn:standpipe:openapi';
const DOCUMENT_KEYWORDS = ['openapi', 'info', 'servers', 'tags', 'security', 'paths', 'webhooks',
  'components'];

/** Every method and path Fastify registered, paths in OpenAPI's form (`{id}` for `:id`). */
export function registeredRoutes(app: FastifyInstance): Set<string> {
  const out = new Set<string>();
  const stack: string[] = [];
  for (const line of app.printRoutes({ commonPrefix: false }).split('\n')) {
    const at = line.indexOf('── ');
    if (at < 0) continue;
    const depth = Math.floor((at - 1) / 4);
    const match = /^(\S+)(?: \(([A-Z, ]+)\))?$/.exec(line.slice(at + 3).trim());
    if (match === null) throw new Error(`unexpected route line: ${line}`);
    stack.length = depth;
    stack.push(match[1] ?? '');
    const path = stack.join('').replace(/:(\w+)/g, '{$1}');
    for (const method of (match[2] ?? '').split(', ').filter((m) => m !== '')) {
      out.add(`${method} ${path}`);
    }
  }
  return out;
}

const pointer = (...parts: string[]) =>
  '#/' + parts.map((p) => encodeURIComponent(p.replace(/~/g, '~0').replace(/\//g, '~1')))
    .join('/');

/** Checks requests and answers against the document, with ajv (JSON Schema 2020-12). */
export class DocumentChecker {
  readonly ajv: Ajv2020;
  readonly #validators = new Map<string, ValidateFunction>();

  constructor(readonly doc: Json) {
    this.ajv = new Ajv2020({ strict: true, allErrors: true, allowUnionTypes: true });
    addFormats(this.ajv);
    this.ajv.addVocabulary(DOCUMENT_KEYWORDS);
    this.ajv.addSchema({ ...doc, $id: DOC_ID });
  }

  /** Validates against the schema at this pointer in the document; the problems, if any. */
  validate(at: string, value: unknown): string[] {
    let validator = this.#validators.get(at);
    if (validator === undefined) {
      validator = this.ajv.compile({ $ref: `${DOC_ID}${at}` });
      this.#validators.set(at, validator);
    }
    const problems = validator(value) ? [] : (validator.errors ?? []).map((e) =>
      `${e.instancePath || '/'} ${e.message ?? ''} ${JSON.stringify(e.params)}`);
    return [...problems, ...this.orderProblems(this.resolve(at), value, '')];
  }

  /** The object at a `#/…` pointer, following `$ref`s. */
  resolve(at: string): Json {
    let node: unknown = this.doc;
    for (const raw of at.replace(/^#\//, '').split('/')) {
      const part = decodeURIComponent(raw).replace(/~1/g, '/').replace(/~0/g, '~');
      node = (node as Json)[part];
      if (node === undefined) throw new Error(`nothing at ${at}`);
    }
    const ref = (node as Json).$ref;
    return typeof ref === 'string' ? this.resolve(ref) : node as Json;
  }

  operation(method: string, path: string): Json {
    const item = (this.doc.paths as Json)[path] as Json | undefined;
    const op = item?.[method.toLowerCase()] as Json | undefined;
    if (op === undefined) throw new Error(`${method} ${path} is not in the document`);
    return op;
  }

  /**
   * Problems with an answer to `method path` (path as in the document): its status must be
   * documented, its required headers sent, and a JSON body must match the schema.
   */
  responseProblems(method: string, path: string, res: ApiResponse): string[] {
    const base = ['paths', path, method.toLowerCase(), 'responses'];
    const responses = this.resolve(pointer(...base));
    const status = String(res.status);
    const key = [status, `${status[0] ?? ''}XX`, 'default'].find((k) => k in responses);
    if (key === undefined) return [`${method} ${path}: status ${status} is not documented`];
    const response = this.resolve(pointer(...base, key));
    return this.answerProblems(response, res, `${method} ${path} ${status}`);
  }

  /** The same for an answer that no operation owns, e.g. 404 for an unknown path. */
  sharedResponseProblems(name: string, res: ApiResponse): string[] {
    const response = this.resolve(pointer('components', 'responses', name));
    return this.answerProblems(response, res, name);
  }

  requestProblems(method: string, path: string, type: string, body: unknown): string[] {
    return this.validate(pointer('paths', path, method.toLowerCase(), 'requestBody', 'content',
      type, 'schema'), body);
  }

  /**
   * Problems with a webhook's body and headers as a receiver got them: every required header
   * sent, and each one documented as it came. `headers` null checks the body alone.
   */
  webhookProblems(event: string, headers: Record<string, unknown> | null, body: unknown):
  string[] {
    const base = ['webhooks', event, 'post'];
    const op = this.resolve(pointer(...base));
    const problems: string[] = [];
    (op.parameters as Json[]).forEach((p, i) => {
      if (headers === null) return;
      const value = headers[String(p.name).toLowerCase()];
      if (value === undefined) {
        if (p.required === true) problems.push(`${event}: header ${String(p.name)} missing`);
        return;
      }
      problems.push(...this.validate(pointer(...base, 'parameters', String(i), 'schema'), value)
        .map((text) => `${event}: header ${String(p.name)}: ${text}`));
    });
    return [...problems, ...this.validate(pointer(...base, 'requestBody', 'content',
      'application/json', 'schema'), body)];
  }

  private answerProblems(response: Json, res: ApiResponse, what: string): string[] {
    const problems: string[] = [];
    for (const [name, header] of Object.entries((response.headers ?? {}) as Json)) {
      const required = (header as Json).required === true;
      if (required && !res.headers.has(name)) problems.push(`${what}: header ${name} missing`);
    }
    const content = response.content as Json | undefined;
    const sent = (res.headers.get('content-type') ?? '').split(';')[0]?.trim() ?? '';
    if (content === undefined) {
      if (res.text !== '') problems.push(`${what}: a body where none is documented`);
      return problems;
    }
    const type = Object.keys(content).find((t) => t.split(';')[0]?.trim() === sent);
    if (type === undefined) return [...problems, `${what}: content type ${sent} not documented`];
    if (type !== 'application/json') return problems;
    const schema = (content[type] as Json).schema as Json;
    const at = typeof schema.$ref === 'string' ? schema.$ref : undefined;
    const found = at ?? this.pointerTo(schema);
    return [...problems, ...this.validate(found, JSON.parse(res.text)).map((p) =>
      `${what}: ${p}`)];
  }

  /** Where a schema object sits in the document, found by identity. */
  private pointerTo(target: Json): string {
    const walk = (node: unknown, parts: string[]): string[] | undefined => {
      if (node === target) return parts;
      if (node === null || typeof node !== 'object') return undefined;
      for (const [k, v] of Object.entries(node)) {
        const found = walk(v, [...parts, k]);
        if (found !== undefined) return found;
      }
      return undefined;
    };
    const parts = walk(this.doc, []);
    if (parts === undefined) throw new Error('schema not in the document');
    return pointer(...parts);
  }

  /** Fields of a closed object must come in the order the schema lists them. */
  private orderProblems(schema: Json, value: unknown, at: string): string[] {
    if (typeof schema.$ref === 'string') return this.orderProblems(this.resolve(schema.$ref),
      value, at);
    if (Array.isArray(value) && schema.items !== undefined) {
      return value.flatMap((v, i) => this.orderProblems(schema.items as Json, v, `${at}/${i}`));
    }
    const props = schema.properties as Record<string, Json> | undefined;
    if (props === undefined || value === null || typeof value !== 'object') return [];
    const problems: string[] = [];
    const keys = Object.keys(value);
    const expected = Object.keys(props).filter((k) => keys.includes(k));
    if (schema.additionalProperties === false && keys.join() !== expected.join()) {
      problems.push(`${at || '/'} fields in the order ${keys.join()}, documented ` +
        expected.join());
    }
    for (const k of expected) {
      const child = props[k];
      if (child !== undefined) {
        problems.push(...this.orderProblems(child, (value as Json)[k], `${at}/${k}`));
      }
    }
    return problems;
  }
}
