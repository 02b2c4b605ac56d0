import { createRequire } from 'node:module';

import type PgModule from 'pg';

let loaded: typeof PgModule | undefined;

/**
 * The PostgreSQL driver, loaded when a PostgreSQL database is first opened: a server on
 * SQLite, the default, never needs it and starts that much sooner.
 */
export function pgDriver(): typeof PgModule {
  if (loaded === undefined) {
    loaded = createRequire(import.meta.url)('pg') as typeof PgModule;
    // int8 columns hold millisecond times and ids; both fit a JavaScript number exactly.
    loaded.types.setTypeParser(20, (value: string) => Number(value));
  }
  return loaded;
}
