import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { filesUnder, startTestServer, DIALECTS } from '../helpers/harness.js';
import type { TestServer } from '../helpers/harness.js';
import type { NewAccountResult } from '../../src/services/accounts.js';
import {
  SEED_AMAZON, SEED_DROPBOX, SEED_FTP, expectError, expectOk, expectSameShape,
} from '../helpers/seed-shapes.js';
import type { SeedShape } from '../helpers/seed-shapes.js';

type Table = 'amazon_credentials' | 'ftp_credentials' | 'dropbox_credentials';

interface Resource {
  path: '/amazon' | '/ftp' | '/dropbox';
  table: Table;
  shape: SeedShape;
  /** The seed's PUT scheme with values this server accepts, secrets left out. */
  put: Record<string, string>;
  /** Write-only fields and the column that keeps each sealed. */
  secrets: Record<string, string>;
  folders: string[];
  /** Bodies of the wrong type, and the field the 400 must name. */
  wrongTypes: [Record<string, unknown>, string][];
}

const RESOURCES: Resource[] = [
  {
    path: '/amazon',
    table: 'amazon_credentials',
    shape: SEED_AMAZON,
    put: { amz_bucket: 'the-bucket', amz_bucket_region: 'us-east-1' },
    secrets: { amz_key: 'amz_key_enc', amz_secret: 'amz_secret_enc' },
    folders: ['amz_folder'],
    wrongTypes: [
      [{ amz_bucket: 5 }, 'amz_bucket'],
      [{ amz_key: 12345 }, 'amz_key'],
      [{ amz_secret: null }, 'amz_secret'],
      [{ amz_bucket_region: ['us-east-1'] }, 'amz_bucket_region'],
      [{ amz_acl: 'everyone' }, 'amz_acl'],
    ],
  },
  {
    path: '/ftp',
    table: 'ftp_credentials',
    shape: SEED_FTP,
    put: {
      ftp_host: 'FtpHost', ftp_port: '21', ftp_username: 'FtpUsername',
      ftp_dir: '/dir/to/saved_videos', sftp_host: 'SftpHost', sftp_port: '22',
      sftp_username: 'SftpUser', sftp_dir: '/dir/to/saved_videos',
    },
    secrets: { ftp_password: 'ftp_password_enc', sftp_password: 'sftp_password_enc' },
    folders: ['ftp_dir', 'sftp_dir'],
    wrongTypes: [
      [{ ftp_host: 1 }, 'ftp_host'],
      [{ ftp_port: 'twenty-one' }, 'ftp_port'],
      [{ sftp_port: '70000' }, 'sftp_port'],
      [{ ftp_password: 42 }, 'ftp_password'],
      [{ sftp_username: { name: 'x' } }, 'sftp_username'],
    ],
  },
  {
    path: '/dropbox',
    table: 'dropbox_credentials',
    shape: SEED_DROPBOX,
    put: { dbox_folder: 'YourDropboxFolder' },
    secrets: { dbox_token: 'dbox_token_enc' },
    folders: ['dbox_folder'],
    wrongTypes: [
      [{ dbox_folder: 7 }, 'dbox_folder'],
      [{ dbox_token: true }, 'dbox_token'],
    ],
  },
];

const HOSTILE_FOLDERS = ['../x', 'a/../b', '..', 'a\\..\\b', 'x/..'];
const ODD_FOLDERS = [
  'My Videos', 'a+b', 'Q&A', 'it\'s "quoted"', 'Überprüfung/日本語 ✓', 'per cent %20 #1',
];

describe.each(DIALECTS)('storage credentials (%s)', (dialect) => {
  let srv: TestServer;
  let a: NewAccountResult;
  let b: NewAccountResult;
  const ids = new Map<string, string>();
  const theirIds = new Map<string, string>();

  const list = async (key: string, res: Resource) =>
    expectOk(await srv.api(key, 'GET', res.path), 'GET', res.shape.key);

  const rows = async (table: Table): Promise<Record<string, unknown>[]> =>
    srv.server.ctx.db.kysely.selectFrom(table).selectAll().execute() as
      Promise<Record<string, unknown>[]>;

  beforeAll(async () => {
    srv = await startTestServer(dialect, { workers: false });
    a = await srv.account();
    b = await srv.account();
  });

  afterAll(async () => {
    await srv?.close();
  });

  describe.each(RESOURCES)('$path', (res) => {
    it(`GET ${res.path} lists nothing for a new account`, async () => {
      expect(await list(a.api_key, res)).toEqual([]);
    });

    it(`POST ${res.path} (extension) creates a set with the seed shape`, async () => {
      const created = await srv.api(a.api_key, 'POST', res.path, {});
      const [row] = expectOk(created, 'POST', res.shape.key, 201);
      expectSameShape(row, res.shape);
      expect(row?.env_id).toBe(String(a.environment.env_id));
      ids.set(res.path, String(row?.id));

      const theirs = await srv.api(b.api_key, 'POST', res.path, res.put);
      const [other] = expectOk(theirs, 'POST', res.shape.key, 201);
      expect(other).toMatchObject(res.put);
      theirIds.set(res.path, String(other?.id));
    });

    it(`POST ${res.path} needs an existing env_id of the same account`, async () => {
      for (const envId of ['99', String(b.environment.env_id + 100), 'abc', 0]) {
        const r = await srv.api(a.api_key, 'POST', res.path, { env_id: envId });
        expect(expectError(r, 400, 'POST')).toMatch(/env_id/);
      }
      const env = await srv.api(a.api_key, 'POST', '/environment', {
        env_name: `For ${res.path}`, do_not_store: '0',
      });
      const [details] = expectOk(env, 'POST', 'environment_details', 201);
      const r = await srv.api(a.api_key, 'POST', res.path, { env_id: details?.env_id });
      const [row] = expectOk(r, 'POST', res.shape.key, 201);
      expect(row?.env_id).toBe(details?.env_id);
    });

    it(`GET ${res.path} has the seed envelope and shape, only own sets`, async () => {
      const mine = await list(a.api_key, res);
      expect(mine.length).toBe(2);
      for (const row of mine) expectSameShape(row, res.shape);
      expect(mine.map((r) => r.id)).toContain(ids.get(res.path));
      expect(mine.map((r) => r.id)).not.toContain(theirIds.get(res.path));
    });

    it(`PUT ${res.path}/:id takes the seed's scheme and keeps secrets write-only`, async () => {
      const id = ids.get(res.path) ?? '';
      const secrets = Object.fromEntries(Object.keys(res.secrets).map((name) =>
        [name, `${name}-${randomBytes(12).toString('hex')}`]));
      // A plain value written with them shows that the search below can find what is stored.
      const marker = `marker-${randomBytes(8).toString('hex')}`;
      const folder = res.folders[0] ?? '';
      const put = await srv.api(a.api_key, 'PUT', `${res.path}/${id}`, {
        ...res.put, ...secrets, [folder]: marker,
      });
      const [row] = expectOk(put, 'PUT', res.shape.key);
      expectSameShape(row, res.shape);
      expect(row).toMatchObject({ id, ...res.put, [folder]: marker });

      const got = await srv.api(a.api_key, 'GET', res.path);
      const again = await srv.api(a.api_key, 'PUT', `${res.path}/${id}`, res.put);
      for (const [name, value] of Object.entries(secrets)) {
        for (const text of [put.text, got.text, again.text]) {
          expect(text).not.toContain(value);
          expect(text).not.toContain(`"${name}"`);
        }
      }

      const stored = (await rows(res.table)).find((r) => String(r.id) === id);
      const dump = JSON.stringify(stored);
      for (const [name, column] of Object.entries(res.secrets)) {
        const value = secrets[name] ?? '';
        expect(dump).not.toContain(value);
        const sealed = stored?.[column];
        expect(typeof sealed).toBe('string');
        expect(srv.server.ctx.secrets.open(sealed as string)).toBe(value);
      }

      if (dialect === 'sqlite') {
        let markerFound = false;
        for (const file of await filesUnder(srv.dataDir)) {
          const bytes = await readFile(file);
          markerFound ||= bytes.includes(Buffer.from(marker));
          for (const value of Object.values(secrets)) {
            expect(bytes.includes(Buffer.from(value)), `${value} in ${file}`).toBe(false);
          }
        }
        expect(markerFound).toBe(true);
      }
    });

    it(`POST ${res.path} does not echo secrets either`, async () => {
      const secrets = Object.fromEntries(Object.keys(res.secrets).map((name) =>
        [name, `${name}-${randomBytes(12).toString('hex')}`]));
      const r = await srv.api(a.api_key, 'POST', res.path, secrets);
      expectOk(r, 'POST', res.shape.key, 201);
      for (const value of Object.values(secrets)) expect(r.text).not.toContain(value);
    });

    it(`PUT ${res.path}/:id refuses bad bodies naming the field`, async () => {
      const id = ids.get(res.path) ?? '';
      const before = await srv.api(a.api_key, 'GET', res.path);
      const cases: [unknown, RegExp][] = [
        [{}, new RegExp(Object.keys(res.put)[0] ?? '')],
        [{ unknown_field: 'x' }, /unknown_field/],
        [{ ...res.put, bogus: '1' }, /bogus/],
        ['{"oops"', /JSON|body/],
        ['[]', /body|object/],
        ['"x"', /body|object/],
        ['42', /body|object/],
        ...res.wrongTypes.map(([body, field]): [unknown, RegExp] => [body, new RegExp(field)]),
        [{ [res.folders[0] ?? '']: 'ok', ...res.wrongTypes[0]?.[0] },
          new RegExp(res.wrongTypes[0]?.[1] ?? '')],
      ];
      for (const [body, pattern] of cases) {
        const r = await srv.api(a.api_key, 'PUT', `${res.path}/${id}`, body);
        expect(expectError(r, 400, 'PUT'), JSON.stringify(body)).toMatch(pattern);
      }
      const after = await srv.api(a.api_key, 'GET', res.path);
      expect(after.json[res.shape.key]).toEqual(before.json[res.shape.key]);
    });

    it(`PUT ${res.path}/:id of another account is a 404 like a missing id`, async () => {
      const theirs = theirIds.get(res.path) ?? '';
      const body = { [res.folders[0] ?? '']: 'taken-over' };
      const other = await srv.api(a.api_key, 'PUT', `${res.path}/${theirs}`, body);
      const missing = await srv.api(a.api_key, 'PUT', `${res.path}/987654321`, body);
      expectError(other, 404, 'PUT');
      expectError(missing, 404, 'PUT');
      expect(other.text).toBe(missing.text);
      for (const id of ['0', 'abc', '-3']) {
        expect((await srv.api(a.api_key, 'PUT', `${res.path}/${id}`, body)).text)
          .toBe(missing.text);
      }
      const [row] = await list(b.api_key, res);
      expect(row).toMatchObject(res.put);
    });

    it(`PUT ${res.path}/:id refuses folders that climb out with ..`, async () => {
      const id = ids.get(res.path) ?? '';
      for (const field of res.folders) {
        for (const folder of HOSTILE_FOLDERS) {
          const r = await srv.api(a.api_key, 'PUT', `${res.path}/${id}`, { [field]: folder });
          expect(expectError(r, 400, 'PUT'), folder).toContain(field);
          const p = await srv.api(a.api_key, 'POST', res.path, { [field]: folder });
          expect(expectError(p, 400, 'POST'), folder).toContain(field);
        }
      }
    });

    it(`PUT ${res.path}/:id keeps odd but harmless folder names unchanged`, async () => {
      const id = ids.get(res.path) ?? '';
      for (const field of res.folders) {
        for (const folder of ODD_FOLDERS) {
          const r = await srv.api(a.api_key, 'PUT', `${res.path}/${id}`, { [field]: folder });
          expect(expectOk(r, 'PUT', res.shape.key)[0]?.[field]).toBe(folder);
          const got = (await list(a.api_key, res)).find((row) => row.id === id);
          expect(got?.[field]).toBe(folder);
        }
      }
    });
  });
});
