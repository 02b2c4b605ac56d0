import pg from 'pg';

/**
 * Decides once which database dialects the suite runs on. PostgreSQL is required in CI; on
 * a machine without it the suite runs on SQLite alone and says so, rather than failing.
 */
export default async function setup(): Promise<void> {
  if (process.env.STANDPIPE_TEST_DIALECTS !== undefined) return;
  const url = process.env.STANDPIPE_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query('select 1');
    process.env.STANDPIPE_TEST_DIALECTS = 'sqlite,postgres';
  } catch (err) {
    if (process.env.CI === 'true') {
      throw new Error(`PostgreSQL is required in CI and is not reachable at ${url}`,
        { cause: err });
    }
    process.stderr.write(`\nPostgreSQL not reachable at ${url}; running on SQLite only. ` +
      'Set STANDPIPE_TEST_POSTGRES_URL to include PostgreSQL.\n\n');
    process.env.STANDPIPE_TEST_DIALECTS = 'sqlite';
  } finally {
    await client.end().catch(() => undefined);
  }
}
