import { CompiledQuery } from 'kysely';
import type { Compilable, Kysely } from 'kysely';

import type { Database } from './schema.js';

type Exec = Kysely<Database>;

interface Plan {
  sql: string;
  /** For each compiled parameter: the index of the caller's value, or -1 for a constant. */
  slots: number[];
  constants: readonly unknown[];
}

/**
 * A query built and compiled once per database handle, then run with new values. Kysely
 * otherwise builds and compiles the query tree on every call, which costs more than the
 * primary-key lookup it describes; the hottest reads of the API are written this way.
 *
 * The builder is called once with marker values in place of the parameters; each compiled
 * parameter that is a marker is replaced by the caller's value when the query runs, and any
 * value the builder wrote itself stays as compiled.
 */
export function compiledOnce<P extends unknown[], R>(
  build: (db: Exec, ...params: P) => Compilable<R>,
): (db: Exec, ...params: P) => Promise<R[]> {
  const plans = new WeakMap<Exec, Plan>();

  const plan = (db: Exec, arity: number): Plan => {
    let found = plans.get(db);
    if (found !== undefined) return found;
    const markers = Array.from({ length: arity }, (_, i) => `\u0000param:${i}\u0000`);
    const compiled = build(db, ...(markers as unknown as P)).compile();
    const slots = compiled.parameters.map((value) => markers.indexOf(value as string));
    for (let i = 0; i < arity; i += 1) {
      if (!slots.includes(i)) throw new Error(`parameter ${i} does not reach the query`);
    }
    found = { sql: compiled.sql, slots, constants: compiled.parameters };
    plans.set(db, found);
    return found;
  };

  return async (db, ...params) => {
    const { sql, slots, constants } = plan(db, params.length);
    const values = slots.map((slot, i) => (slot < 0 ? constants[i] : params[slot]));
    const result = await db.executeQuery<R>(CompiledQuery.raw(sql, values));
    return result.rows;
  };
}
