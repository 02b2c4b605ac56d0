import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { noneMatchHolds } from '../../src/http/static-file.js';
import { startTestServer } from '../helpers/harness.js';
import type { TestServer } from '../helpers/harness.js';

describe('If-None-Match on files served from memory', () => {
  const etag = '"abc123"';

  it('matches the tag, weak or strong, alone or in a list, and *', () => {
    expect(noneMatchHolds('"abc123"', etag)).toBe(true);
    expect(noneMatchHolds('W/"abc123"', etag)).toBe(true);
    expect(noneMatchHolds('"old", "abc123"', etag)).toBe(true);
    expect(noneMatchHolds('"old",W/"abc123" , "x"', etag)).toBe(true);
    expect(noneMatchHolds(' * ', etag)).toBe(true);
  });

  it('does not match other tags, parts of tags, or nothing', () => {
    expect(noneMatchHolds(undefined, etag)).toBe(false);
    expect(noneMatchHolds('', etag)).toBe(false);
    expect(noneMatchHolds('"abc12"', etag)).toBe(false);
    expect(noneMatchHolds('abc123', etag)).toBe(false);
    expect(noneMatchHolds('"abc123 "', etag)).toBe(false);
    expect(noneMatchHolds('"x", "y"', etag)).toBe(false);
  });

  describe('through the server', () => {
    let srv: TestServer;
    beforeAll(async () => {
      srv = await startTestServer('sqlite', { workers: false });
    });
    afterAll(async () => {
      await srv.close();
    });

    it("answers 304 to a client that holds the recorder script's version, 200 otherwise", async () => {
      const first = await fetch(`${srv.url}/2.0/pipe.js`);
      expect(first.status).toBe(200);
      const tag = first.headers.get('etag') ?? '';
      expect(tag).toMatch(/^"[^"]+"$/);
      for (const held of [tag, `W/${tag}`, `"stale", ${tag}`, '*']) {
        const again = await fetch(`${srv.url}/2.0/pipe.js`, { headers: { 'if-none-match': held } });
        expect(again.status, held).toBe(304);
        expect(again.headers.get('etag')).toBe(tag);
        expect((await again.arrayBuffer()).byteLength).toBe(0);
      }
      const other = await fetch(`${srv.url}/2.0/pipe.js`, { headers: { 'if-none-match':
        '"stale"' } });
      expect(other.status).toBe(200);
      expect((await other.text()).length).toBeGreaterThan(1000);
    });
  });
});
