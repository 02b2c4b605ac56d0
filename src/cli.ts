#!/usr/bin/env node
import { parseArgs } from 'node:util';

import { ConfigError, loadConfig } from './config/index.js';
import type { ConfigFlags } from './config/index.js';
import { findMediaBinaries } from './media/binaries.js';

// Each command loads the modules it needs when it runs: `serve` checks ffmpeg in a child
// process while the server's modules load, which is most of its start-up time.

const USAGE = `usage: standpipe <command> [options]

commands:
  serve [--port N] [--host H] [--data DIR] [--no-worker] [--concurrency N]
                                                            run the API and the workers
  worker [--data DIR] [--concurrency N]                     run the workers only
  migrate [--data DIR]                                      apply database migrations
  account create --name NAME --email EMAIL [--data DIR]     create an account (prints JSON)
  account password --account-hash H [--data DIR]             set the dashboard password (stdin)
  account export --account-hash H [--out FILE] [--data DIR]
                                                            an account's data as JSON
  ingest FILE --account-hash H [--env-code C] [--payload P]
         [--url URL | --host H --port N]                    upload a file to a running server

every command that opens the data also takes --database URL
(or STANDPIPE_DATABASE_URL: a SQLite file, sqlite: URL or postgres:// URL)`;

const OPTIONS = {
  port: { type: 'string' },
  host: { type: 'string' },
  data: { type: 'string' },
  database: { type: 'string' },
  'no-worker': { type: 'boolean' },
  concurrency: { type: 'string' },
  name: { type: 'string' },
  email: { type: 'string' },
  'account-hash': { type: 'string' },
  'env-code': { type: 'string' },
  payload: { type: 'string' },
  url: { type: 'string' },
  out: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true });
  } catch (err) {
    const option = /'([^']+)'/.exec((err as Error).message)?.[1] ?? '';
    throw new UsageError(`unknown or incomplete option ${option}\n\n${USAGE}`);
  }
  const { values, positionals } = parsed;
  const [command, ...rest] = positionals;
  if (values.help === true || command === undefined) {
    process.stdout.write(`${USAGE}\n`);
    return command === undefined && values.help !== true ? 2 : 0;
  }
  const flags: ConfigFlags = {
    host: values.host, port: values.port, data: values.data, database: values.database,
    noWorker: values['no-worker'], concurrency: values.concurrency,
  };

  switch (command) {
    case 'serve':
    case 'worker': {
      const config = loadConfig(flags);
      const media = findMediaBinaries();
      media.catch(() => undefined);
      const { startServer } = await import('./runtime.js');
      const server = await startServer(config, { http: command === 'serve', media });
      // Worker timers do not hold the process open (so tests can stop them freely); a
      // worker process without an HTTP listener is kept alive here until it exits, also
      // through a shutdown, while its jobs finish or are released.
      setInterval(() => undefined, 1 << 30);
      const shutdown = (signal: string) => {
        server.ctx.log.info({ signal, graceMs: config.shutdownGraceMs }, 'shutting down');
        server.stop(config.shutdownGraceMs).then(() => process.exit(0), (err: unknown) => {
          server.ctx.log.error({ err }, 'shutdown failed');
          process.exit(1);
        });
      };
      process.once('SIGTERM', () => shutdown('SIGTERM'));
      process.once('SIGINT', () => shutdown('SIGINT'));
      return -1;
    }
    case 'migrate': {
      const config = loadConfig(flags);
      const { openDatabase } = await import('./db/connect.js');
      const { migrate } = await import('./db/migrations.js');
      const db = openDatabase(config.databaseUrl);
      const applied = await migrate(db);
      await db.close();
      process.stdout.write(`${JSON.stringify({ applied })}\n`);
      return 0;
    }
    case 'account': {
      if (rest[0] === 'export') return accountExport(flags, values['account-hash'], values.out);
      if (rest[0] === 'password') {
        const hash = values['account-hash'];
        if (hash === undefined) throw new UsageError('account password needs --account-hash');
        const { accountPassword } = await import('./cli/password.js');
        return accountPassword(flags, hash);
      }
      if (rest[0] !== 'create') {
        throw new UsageError('usage: standpipe account create | password | export ...');
      }
      if (values.name === undefined || values.email === undefined) {
        throw new UsageError('account create needs --name and --email');
      }
      const config = loadConfig(flags);
      const ctx = await quietContext(config);
      const { createAccount } = await import('./services/accounts.js');
      try {
        const created = await createAccount(ctx, { name: values.name, email: values.email });
        process.stdout.write(`${JSON.stringify({
          id: created.id, name: created.name, email: created.email, api_key: created.api_key,
          account_hash: created.account_hash, webhook_key: created.webhook_key,
          env_id: String(created.environment.env_id), env_code: created.environment.env_code,
        })}\n`);
      } finally {
        await ctx.db.close();
      }
      return 0;
    }
    case 'ingest': {
      const file = rest[0];
      const accountHash = values['account-hash'];
      if (file === undefined || accountHash === undefined) {
        throw new UsageError('usage: standpipe ingest FILE --account-hash H [--env-code C] ' +
          '[--payload P] [--url URL | --host H --port N]');
      }
      // The server the settings describe; one listening on every address is reached on
      // loopback.
      const port = values.port ?? process.env.STANDPIPE_PORT ?? '8080';
      const listening = (values.host ?? process.env.STANDPIPE_HOST ?? '127.0.0.1')
        .replace(/^\[(.*)\]$/, '$1');
      const host = listening === '0.0.0.0' || listening === '' ? '127.0.0.1'
        : listening === '::' ? '::1' : listening;
      const url = values.url ?? `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
      const { ingestFile, progressBar } = await import('./cli/ingest.js');
      const result = await ingestFile({
        file, url, accountHash, envCode: values['env-code'] ?? '1', payload: values.payload,
        progress: process.stderr.isTTY ? progressBar(process.stderr) : undefined,
      }).catch((err: unknown) => {
        if ((err as NodeJS.ErrnoException).code === 'ECONNREFUSED') {
          throw new UsageError(`cannot reach standpipe at ${url}: is the server running? ` +
            '(--url, or --host and --port, name another one)');
        }
        throw err;
      });
      process.stdout.write(`${result.id}\n`);
      return 0;
    }
    default:
      throw new UsageError(`unknown command "${command}"\n\n${USAGE}`);
  }
}

async function accountExport(flags: ConfigFlags, accountHash: string | undefined,
  out: string | undefined): Promise<number> {
  if (accountHash === undefined) throw new UsageError('account export needs --account-hash');
  const config = loadConfig(flags);
  const ctx = await quietContext(config);
  const { runAccountExport } = await import('./cli/export.js');
  try {
    const { recordings } = await runAccountExport(ctx, accountHash, out);
    if (out !== undefined) process.stderr.write(`exported ${recordings} recordings to ${out}\n`);
  } finally {
    await ctx.db.close();
  }
  return 0;
}

/** The context of a one-off command, loaded with the modules it needs (see cli/context.ts). */
async function quietContext(config: ReturnType<typeof loadConfig>) {
  const { quietContext: make } = await import('./cli/context.js');
  return make(config);
}

class UsageError extends Error {}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof ConfigError || err instanceof UsageError) {
      process.stderr.write(`standpipe: ${err.message}\n`);
      process.exitCode = 2;
      return;
    }
    process.stderr.write(`standpipe: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
