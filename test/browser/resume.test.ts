import type { Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';

import type { NewAccountResult } from '../../src/services/accounts.js';
import {
  describeWithChromium, embedPage, launchBrowser, screenshot, servePage,
} from '../helpers/browser.js';
import type { PageServer, TestBrowser } from '../helpers/browser.js';
import { startCutProxy } from '../helpers/cut-proxy.js';
import type { CutProxy } from '../helpers/cut-proxy.js';
import { DIALECTS, eventually, startTestServer } from '../helpers/harness.js';
import type { TestServer } from '../helpers/harness.js';

type PipeEvent = [string, ...unknown[]];

const events = (page: Page) => page.evaluate<PipeEvent[]>('window.pipeEvents');

describeWithChromium('an upload cut halfway through resumes where it stopped', () => {
  let t: TestServer;
  let browser: TestBrowser;
  let proxy: CutProxy;
  let site: PageServer;
  let acct: NewAccountResult;

  beforeAll(async () => {
    t = await startTestServer(DIALECTS[0] ?? 'sqlite');
    acct = await t.account('Resume Ltd');
    proxy = await startCutProxy(Number(new URL(t.url).port));
    // The page loads the recorder through the proxy, so its uploads go that way too.
    site = await servePage(embedPage(proxy.url, {
      id: 'resume-recorder', 'pipe-width': '640', 'pipe-height': '430',
      'pipe-accounthash': acct.account_hash, 'pipe-eid': acct.environment.env_code,
      'pipe-mrt': '4', 'pipe-avrec': '1', 'pipe-payload': 'resume-test',
    }));
    browser = await launchBrowser();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await site?.close();
    await proxy?.close();
    await t?.close();
  });

  it('drops the connection in the middle of the PATCH, asks where it stands, and goes on',
    async () => {
      const page = await browser.context.newPage();
      await page.goto(site.url);
      const recorder = page.locator('.pipe-recorder');
      await page.getByRole('button', { name: 'Record video' }).click();
      await expect.poll(() => recorder.getAttribute('data-state'), { timeout: 10_000 })
        .toBe('recorded');
      await page.getByRole('button', { name: 'Save' }).click();

      // The first retry waits half a second: long enough to see what the visitor sees.
      await expect.poll(() => recorder.getAttribute('data-retries'),
        { interval: 20, timeout: 10_000 }).toBe('1');
      expect(await page.locator('.pipe-progress-text').textContent())
        .toMatch(/Connection lost — retrying in 1 s/);
      await screenshot(page, 'recorder-5-connection-lost');
      await expect.poll(() => recorder.getAttribute('data-state'), { timeout: 30_000 })
        .toBe('saved');

      expect(proxy.cuts).toBe(1);
      const create = proxy.requests.find((r) => r.method === 'POST' && r.path === '/tus');
      const length = Number(create?.headers['upload-length']);
      const seen = proxy.requests.filter((r) => r.method !== 'OPTIONS' && r.method !== 'GET');
      const first = seen.find((r) => r.method === 'PATCH');
      const last = seen.at(-1);
      expect(first?.cut).toBe(true);
      expect(first?.headers['upload-offset']).toBe('0');
      expect(first?.forwarded).toBeGreaterThan(length * 0.4);
      expect(first?.forwarded).toBeLessThan(length * 0.6);
      // It went on from the bytes the server kept, not from the start...
      expect(last?.method).toBe('PATCH');
      expect(Number(last?.headers['upload-offset'])).toBe(first?.forwarded);
      expect(Number(last?.headers['content-length'])).toBe(length - (first?.forwarded ?? 0));
      // ...after asking the server where the upload stood. (Chromium may first resend the
      // cut request by itself on a new connection; the server answers that with 409.)
      const between = seen.slice(seen.indexOf(first ?? seen[0]!) + 1, -1);
      expect(between.map((r) => r.method)).toContain('HEAD');
      expect(between.filter((r) => r.method === 'PATCH')
        .every((r) => r.headers['upload-offset'] === '0')).toBe(true);

      const saveOk = (await events(page)).find((e) => e[0] === 'onSaveOk') ?? [];
      const videoId = Number(saveOk[9]);
      const row = await t.server.ctx.db.kysely.selectFrom('recordings').selectAll()
        .where('id', '=', videoId).executeTakeFirstOrThrow();
      expect(row.original_size).toBe(length);
      expect(row.payload).toBe('resume-test');
      const converted = await eventually(async () => {
        const res = await t.api(acct.api_key, 'GET', `/video/${videoId}`);
        const video = (res.json.videos as Record<string, string>[])[0];
        return video?.converted === '1' ? video : undefined;
      }, 60_000, 'conversion');
      expect(Number(converted.length)).toBeGreaterThan(3);
      await page.close();
    }, 120_000);
});
