import pg from 'pg';

const PG_URL = process.env.STANDPIPE_TEST_POSTGRES_URL ??
  'postgres://postgres@127.0.0.1:5432/test';

/**
 * Decides once which database dialects the suite runs on. PostgreSQL is required in CI; on
 * a machine without it the suite runs on SQLite alone and says so, rather than failing.
 */
export default async function setup(): Promise<(() => Promise<void>) | undefined> {
  // Every PostgreSQL schema a test makes carries this run's prefix, and all of them are
  // dropped once the whole run has ended, never while other files may still use the catalogue.
  const prefix = `sp_test_${Date.now().toString(36)}_`;
  process.env.STANDPIPE_TEST_SCHEMA_PREFIX = prefix;
  const teardown = async () => dropSchemas(prefix);
  if (process.env.STANDPIPE_TEST_DIALECTS !== undefined) return teardown;
  const url = PG_URL;
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query('select 1');
    process.env.STANDPIPE_TEST_DIALECTS = 'sqlite,postgres';
    return teardown;
  } catch (err) {
    if (process.env.CI === 'true') {
      throw new Error(`PostgreSQL is required in CI and is not reachable at ${url}`,
        { cause: err });
    }
    process.stderr.write(`\nPostgreSQL not reachable at ${url}; running on SQLite only. ` +
      'Set STANDPIPE_TEST_POSTGRES_URL to include PostgreSQL.\n\n');
    process.env.STANDPIPE_TEST_DIALECTS = 'sqlite';
    return undefined;
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function dropSchemas(prefix: string): Promise<void> {
  if (!(process.env.STANDPIPE_TEST_DIALECTS ?? '').includes('postgres')) return;
  const client = new pg.Client({ connectionString: PG_URL });
  try {
    await client.connect();
    const { rows } = await client.query<{ name: string }>(
      'select nspname as name from pg_namespace where starts_with(nspname, $1)', [prefix]);
    for (const { name } of rows) await client.query(`drop schema if exists "${name}" cascade`);
  } finally {
    await client.end().catch(() => undefined);
  }
}
