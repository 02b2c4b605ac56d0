import { closeSync, openSync } from 'node:fs';
import path from 'node:path';

import BetterSqlite3 from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect } from 'kysely';
import type { SqliteDatabase } from 'kysely';

import { makeDirectories } from '../lib/directories.js';
import { pgDriver } from './pg.js';
import type { Database } from './schema.js';

export type DialectName = 'sqlite' | 'postgres';

export interface Db {
  readonly kysely: Kysely<Database>;
  readonly dialect: DialectName;
  /** The PostgreSQL schema the tables live in, when not the default. */
  readonly schema?: string | undefined;
  /** A redacted form of the URL, safe for logs. */
  readonly description: string;
  /**
   * SQLite only: a number that changes whenever a row may have changed, by this process or by
   * any other; unchanged, every row read before still holds. Lets a hot read be answered from
   * memory without asking the database again.
   */
  readonly changeStamp?: () => number;
  close(): Promise<void>;
}


/**
 * Opens the database named by a URL: `postgres://…` for PostgreSQL, otherwise a SQLite file
 * path or `sqlite:` URL. `schema` puts PostgreSQL tables in a schema of their own.
 */
export function openDatabase(
  url: string,
  options: { schema?: string; poolSize?: number } = {},
): Db {
  if (/^postgres(ql)?:\/\//.test(url)) {
    // `?schema=NAME` keeps standpipe's tables in a schema of their own.
    const parsed = new URL(url);
    const schema = parsed.searchParams.get('schema');
    if (schema !== null) {
      if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) throw new Error(`invalid schema "${schema}"`);
      parsed.searchParams.delete('schema');
      return openPostgres(parsed.toString(), { ...options, schema });
    }
    return openPostgres(url, options);
  }
  return openSqlite(url.replace(/^sqlite:(\/\/)?/, ''));
}

function openSqlite(file: string): Db {
  if (file !== ':memory:') {
    makeDirectories(path.dirname(path.resolve(file)));
    // Made readable by its owner only: it holds personal data and key hashes. SQLite gives
    // its -wal and -shm files the database file's mode.
    closeSync(openSync(file, 'a', 0o600));
  }
  const sqlite = new BetterSqlite3(file);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('busy_timeout = 5000');
  // Erased personal data is overwritten on its page, not merely unlinked from it.
  sqlite.pragma('secure_delete = ON');
  const writes = { count: 0 };
  const kysely = new Kysely<Database>({
    dialect: new SqliteDialect({ database: withStatementCache(sqlite, writes) }),
  });
  // data_version moves when another connection commits; this connection's own writes are
  // counted as they run, since they do not move it.
  const dataVersion = sqlite.prepare('pragma data_version').pluck();
  const seen = { version: -1, writes: 0, stamp: 0 };
  const changeStamp = () => {
    const version = dataVersion.get() as number;
    if (version !== seen.version || writes.count !== seen.writes) {
      seen.version = version;
      seen.writes = writes.count;
      seen.stamp += 1;
    }
    return seen.stamp;
  };
  return {
    kysely,
    dialect: 'sqlite',
    description: `sqlite:${file}`,
    changeStamp,
    close: () => kysely.destroy(),
  };
}

function openPostgres(url: string, options: { schema?: string; poolSize?: number }): Db {
  const pool = new (pgDriver().Pool)({
    connectionString: url,
    max: options.poolSize ?? 10,
    ...(options.schema === undefined ? {} : { options: `-c search_path=${options.schema}` }),
  });
  const kysely = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  const redacted = url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@');
  return {
    kysely,
    dialect: 'postgres',
    schema: options.schema,
    description: options.schema === undefined ? redacted : `${redacted} (schema ${options.schema})`,
    close: () => kysely.destroy(),
  };
}

/**
 * Kysely prepares every statement anew; preparing costs more than running a short query,
 * and an API answers the same few queries over and over. Statements are kept by their SQL.
 */
function withStatementCache(
  sqlite: BetterSqlite3.Database,
  writes: { count: number },
): SqliteDatabase {
  const cache = new Map<string, SqliteStatement>();
  return {
    close: () => sqlite.close(),
    prepare: (sql: string) => {
      let stmt = cache.get(sql);
      if (stmt === undefined) {
        stmt = rowsAsArrays(sqlite.prepare(sql), sql, writes);
        // Generated SQL of bulk inserts varies with the row count; keep the cache bounded.
        if (cache.size >= 1000) cache.clear();
        cache.set(sql, stmt);
      }
      return stmt;
    },
  };
}

type SqliteStatement = ReturnType<SqliteDatabase['prepare']>;

/**
 * Writes to tables that only the service reads (request counts per window, the job queue,
 * periodic schedules) are not counted as changes: with a rate limit on, every API request
 * writes one, and no answer shown to a user is built from them. Nor is the once-a-second
 * addition to an account's API request count (see addApiRequests), which no kept answer
 * shows; under API traffic it would otherwise empty every cache each second.
 */
const BOOKKEEPING = new RegExp('^((insert into|update|delete from) "(rate_limits|jobs|schedules)"' +
  '|update "accounts" set "api_requests" = api_requests \\+ \\? where "id" = \\?$)');

/**
 * better-sqlite3 builds each row object key by key in C++, which costs more than the query
 * for a wide table (a recording has about fifty columns). Rows are fetched as arrays and
 * given their keys here, in one order, so every row of a statement shares one object shape.
 * Statements that may write are counted in `writes` when they change a row, or when SQLite
 * cannot say (a write that returns rows); see BOOKKEEPING for the exceptions.
 */
function rowsAsArrays(
  stmt: BetterSqlite3.Statement,
  sql: string,
  writes: { count: number },
): SqliteStatement {
  const writer = !stmt.readonly && !BOOKKEEPING.test(sql);
  if (!stmt.reader) {
    return {
      reader: false,
      all: () => { throw new Error('not a reader'); },
      iterate: () => { throw new Error('not a reader'); },
      run: (parameters: ReadonlyArray<unknown>) => {
        const result = stmt.run(parameters);
        if (writer && result.changes !== 0) writes.count += 1;
        return result;
      },
    };
  }
  const columns = stmt.columns().map((c) => c.name);
  const raw = stmt.raw(true);
  const toObject = (values: unknown[]) => {
    const row: Record<string, unknown> = {};
    for (let i = 0; i < columns.length; i += 1) row[columns[i] as string] = values[i];
    return row;
  };
  return {
    reader: true,
    all: (parameters: ReadonlyArray<unknown>) => {
      if (writer) writes.count += 1;
      return (raw.all(parameters) as unknown[][]).map(toObject);
    },
    run: (parameters: ReadonlyArray<unknown>) => {
      if (writer) writes.count += 1;
      return raw.run(parameters);
    },
    iterate: function* iterate(parameters: ReadonlyArray<unknown>) {
      if (writer) writes.count += 1;
      for (const values of raw.iterate(parameters) as IterableIterator<unknown[]>) {
        yield toObject(values);
      }
    },
  };
}
