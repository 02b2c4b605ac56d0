import type { Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';

import type { NewAccountResult } from '../../src/services/accounts.js';
import {
  describeWithChromium, embedPage, launchBrowser, screenshot, servePage,
} from '../helpers/browser.js';
import type { PageServer, TestBrowser } from '../helpers/browser.js';
import { DIALECTS, startTestServer } from '../helpers/harness.js';
import type { TestServer } from '../helpers/harness.js';
import { startReceiver } from '../helpers/receiver.js';
import type { Receiver } from '../helpers/receiver.js';

type PipeEvent = [string, ...unknown[]];

const events = (page: Page) => page.evaluate<PipeEvent[]>('window.pipeEvents');
const focused = (page: Page) => page.evaluate<string>('document.activeElement.textContent');

describeWithChromium('the recorder in Chromium, from embed code to webhooks', () => {
  let t: TestServer;
  let browser: TestBrowser;
  let hooks: Receiver;
  let site: PageServer;
  let acct: NewAccountResult;
  let recorded: { id: number; name: string } | null = null;

  beforeAll(async () => {
    t = await startTestServer(DIALECTS[0] ?? 'sqlite');
    hooks = await startReceiver();
    acct = await t.account('Northwind Outfitters');
    const res = await t.api(acct.api_key, 'POST', '/webhook', { webhook: hooks.url('/pipe'),
      webhook_recorded: '1', webhook_converted: '1', webhook_copied_pipe_s3: '1' });
    expect(res.status).toBe(201);
    site = await servePage(embedPage(t.url, {
      id: 'review-recorder', 'pipe-width': '640', 'pipe-height': '430',
      'pipe-accounthash': acct.account_hash, 'pipe-eid': acct.environment.env_code,
      'pipe-mrt': '3', 'pipe-avrec': '1', 'pipe-payload': '{"order":1234}',
    }));
    browser = await launchBrowser();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await site?.close();
    await hooks?.close();
    await t?.close();
  });

  it('records 3 seconds from the keyboard, uploads, and the webhooks arrive', async () => {
    const page = await browser.context.newPage();
    await page.goto(site.url);
    const recorder = page.locator('.pipe-recorder');
    await expect.poll(() => events(page)).toContainEqual(['onReadyToRecord',
      'review-recorder', 'desktop']);
    await screenshot(page, 'recorder-1-start');

    await page.keyboard.press('Tab');
    expect(await focused(page)).toBe('Record video');
    await page.keyboard.press('Enter');
    await expect.poll(() => recorder.getAttribute('data-state')).toBe('recording');
    await page.waitForTimeout(1500);
    await screenshot(page, 'recorder-2-recording');

    // mrt is 3: the recorder stops by itself and moves focus to Save.
    await expect.poll(() => recorder.getAttribute('data-state'), { timeout: 10_000 })
      .toBe('recorded');
    await expect.poll(() => page.getByRole('status').textContent())
      .toMatch(/Recording stopped after 3 seconds/);
    await screenshot(page, 'recorder-3-recorded');
    expect(await focused(page)).toBe('Save');
    await page.keyboard.press('Enter');
    await expect.poll(() => recorder.getAttribute('data-state'), { timeout: 30_000 })
      .toBe('saved');
    await screenshot(page, 'recorder-4-saved');

    const all = await events(page);
    const names = all.map((e) => e[0]);
    expect(names).toEqual(expect.arrayContaining(['onCamAccess', 'onRecordingStarted',
      'onRecordingStopped', 'onUploadProgress', 'onUploadDone', 'onSaveOk']));
    expect(all.filter((e) => e[0] === 'onUploadProgress').at(-1)?.[2]).toBe(100);
    const saveOk = all.find((e) => e[0] === 'onSaveOk') ?? [];
    const [, recorderId, streamName, duration, camera, mic, audioCodec, videoCodec, type,
      videoId, audioOnly] = saveOk;
    expect(recorderId).toBe('review-recorder');
    expect(streamName).toMatch(/^vs\d+_[a-z0-9]{10}$/);
    expect(Number(duration)).toBeGreaterThanOrEqual(2.8);
    expect(Number(duration)).toBeLessThanOrEqual(3.2);
    expect(String(camera)).not.toBe('');
    expect(String(mic)).not.toBe('');
    expect([audioCodec, videoCodec, type, audioOnly]).toEqual(['opus', 'vp8', 'webm', false]);
    expect(await page.evaluate<string>(
      'PipeSDK.getRecorderById("review-recorder").getStreamName()')).toBe(streamName);

    const got = await t.api(acct.api_key, 'GET', `/video/${String(videoId)}`);
    const video = (got.json.videos as Record<string, string>[])[0];
    expect(video).toMatchObject({ name: streamName, payload: '{"order":1234}', source: 'DESK',
      camera_name: camera, microphone_name: mic, original_container: 'webm' });
    expect(video?.http_referer).toBe(site.url);

    const received = await Promise.all([1, 2, 3].map((n) => hooks.waitFor(n, 60_000)));
    const bodies = received.map((r) => r.json as { event: string;
      data: { id: number; payload: string; videoName: string; duration?: number } });
    expect(bodies.map((b) => b.event)).toEqual(['video_recorded', 'video_converted',
      'video_copied_pipe_s3']);
    for (const body of bodies) {
      expect(body.data).toMatchObject({ id: Number(videoId), payload: '{"order":1234}',
        videoName: streamName });
    }
    expect(bodies[1]?.data.duration).toBe(3);
    recorded = { id: Number(videoId), name: String(streamName) };
    await page.close();
  }, 120_000);

  it('shows the recording in the dashboard as converted, with its webhooks, and plays it',
    async () => {
      expect(recorded).not.toBeNull();
      const page = await browser.context.newPage();
      await page.goto(`${t.url}/dashboard`);
      await page.getByLabel('API key').fill(acct.api_key);
      await page.getByRole('button', { name: 'Sign in with API key' }).click();
      await page.waitForURL(/\/dashboard\/recordings$/);

      const row = page.locator('tr', { hasText: recorded?.name ?? '' });
      await expect.poll(() => row.count()).toBe(1);
      expect(await row.locator('.badge', { hasText: 'Converted' }).count()).toBe(1);
      expect(await row.locator('.badge', { hasText: 'Webhooks 3/3' }).count()).toBe(1);
      expect(await row.locator('td.num').first().textContent()).toBe('0:03');
      await expect.poll(() => page.evaluate<number>(
        'document.querySelector("tr img.thumb")?.naturalWidth ?? 0')).toBeGreaterThan(0);
      await screenshot(page, 'dashboard-recordings');

      await row.getByRole('link', { name: recorded?.name ?? '' }).click();
      await page.waitForURL(new RegExp(`/dashboard/recordings/${recorded?.id ?? 0}$`));
      const video = (expression: string) =>
        page.evaluate<number>(`(() => { const v = document.querySelector('video.player'); ` +
          `return ${expression}; })()`);
      await video('(v.muted = true, v.play(), 0)');
      await expect.poll(() => video('v.currentTime'), { timeout: 10_000 }).toBeGreaterThan(0.5);
      expect(await video('v.duration')).toBeCloseTo(3, 0);
      expect(await video('v.videoWidth')).toBeGreaterThan(0);
      await video('(v.pause(), v.currentTime = 1.5, 0)');
      expect(await page.locator('tr', { hasText: 'video_converted' })
        .locator('.badge', { hasText: 'Delivered' }).count()).toBe(1);
      await page.waitForTimeout(300);
      await screenshot(page, 'dashboard-recording');
      await page.close();
    }, 60_000);
});
