import type { Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';

import type { NewAccountResult } from '../../src/services/accounts.js';
import {
  describeWithChromium, embedPage, launchBrowser, screenshot, servePage,
} from '../helpers/browser.js';
import type { PageServer, TestBrowser } from '../helpers/browser.js';
import { DIALECTS, startTestServer } from '../helpers/harness.js';
import type { TestServer } from '../helpers/harness.js';

type PipeEvent = [string, ...unknown[]];

const events = (page: Page) => page.evaluate<PipeEvent[]>('window.pipeEvents');
const focused = (page: Page) => page.evaluate<string>('document.activeElement.textContent');

/** Makes the browser answer the camera request the way a refusal or a missing device does. */
const failCamera = (name: string, message: string) =>
  `navigator.mediaDevices.getUserMedia = () =>
    Promise.reject(new DOMException(${JSON.stringify(message)}, ${JSON.stringify(name)}));`;

describeWithChromium('the recorder when the camera is refused or missing, and audio only', () => {
  let t: TestServer;
  let browser: TestBrowser;
  let acct: NewAccountResult;
  let video: PageServer;
  let audio: PageServer;

  beforeAll(async () => {
    t = await startTestServer(DIALECTS[0] ?? 'sqlite');
    acct = await t.account('States Inc');
    const common = { 'pipe-width': '640', 'pipe-height': '430',
      'pipe-accounthash': acct.account_hash, 'pipe-eid': acct.environment.env_code,
      'pipe-mrt': '120', 'pipe-avrec': '1' };
    video = await servePage(embedPage(t.url, { id: 'states', ...common }));
    audio = await servePage(embedPage(t.url, { id: 'voice', ...common, 'pipe-ao': '1',
      'pipe-asv': '1', 'pipe-payload': 'audio-note' }));
    browser = await launchBrowser();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await video?.close();
    await audio?.close();
    await t?.close();
  });

  it('says clearly that camera access was refused, and offers to try again', async () => {
    const page = await browser.context.newPage();
    await page.addInitScript(failCamera('NotAllowedError', 'Permission denied'));
    await page.goto(video.url);
    await page.getByRole('button', { name: 'Record video' }).click();
    const alert = page.getByRole('alert');
    await expect.poll(() => alert.textContent()).toContain('Camera access was refused');
    expect(await alert.textContent()).toContain('Allow this page to use your camera');
    expect(await focused(page)).toBe('Try again');
    expect(await events(page)).toContainEqual(['onCamAccess', 'states', false]);
    await screenshot(page, 'recorder-6-camera-refused');
    await page.close();
  });

  it('says when there is no camera', async () => {
    const page = await browser.context.newPage();
    await page.addInitScript(failCamera('NotFoundError', 'Requested device not found'));
    await page.goto(video.url);
    await page.getByRole('button', { name: 'Record video' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('No camera found');
    await screenshot(page, 'recorder-7-no-camera');
    await page.close();
  });

  it('records audio only with a level meter and saves by itself when asked to (asv)', async () => {
    const page = await browser.context.newPage();
    await page.goto(audio.url);
    const recorder = page.locator('.pipe-recorder');
    expect(await recorder.getAttribute('aria-label')).toBe('Audio recorder');
    await page.getByRole('button', { name: 'Record audio' }).click();
    await expect.poll(() => recorder.getAttribute('data-state')).toBe('recording');
    await page.waitForTimeout(2000);
    expect(await page.locator('.pipe-meter').isVisible()).toBe(true);
    await screenshot(page, 'recorder-8-audio-only');
    await page.getByRole('button', { name: 'Stop' }).click();
    await expect.poll(() => recorder.getAttribute('data-state'), { timeout: 30_000 })
      .toBe('saved');
    const saveOk = (await events(page)).find((e) => e[0] === 'onSaveOk') ?? [];
    expect(saveOk[4]).toBe('');
    expect(saveOk[7]).toBe('');
    expect(saveOk[10]).toBe(true);
    const got = await t.api(acct.api_key, 'GET', `/video/${String(saveOk[9])}`);
    expect((got.json.videos as Record<string, string>[])[0]).toMatchObject({
      audio_only: '1', payload: 'audio-note', camera_name: '' });
    await page.close();
  });
});
