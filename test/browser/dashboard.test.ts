import { readFile } from 'node:fs/promises';

import type { Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';

import type { NewAccountResult } from '../../src/services/accounts.js';
import { setAccountPassword } from '../../src/services/sessions.js';
import { describeWithChromium, launchBrowser, screenshot } from '../helpers/browser.js';
import type { TestBrowser } from '../helpers/browser.js';
import { DIALECTS, eventually, startTestServer, uploadFile } from '../helpers/harness.js';
import type { TestServer } from '../helpers/harness.js';
import { CHROMIUM_WEBM } from '../helpers/media-fixtures.js';
import { startReceiver } from '../helpers/receiver.js';
import type { Receiver } from '../helpers/receiver.js';

const PASSWORD = 'boots and laces 42';

describeWithChromium('the dashboard in Chromium', () => {
  let t: TestServer;
  let browser: TestBrowser;
  let hooks: Receiver;
  let acct: NewAccountResult;
  let page: Page;
  let failing = true;
  const notice = () => page.locator('.notice').textContent();
  const nav = (name: string) => page.getByRole('navigation').getByRole('link', { name });

  beforeAll(async () => {
    t = await startTestServer(DIALECTS[0] ?? 'sqlite');
    hooks = await startReceiver();
    // The first recording's video_recorded fails until the test lets it through, so the
    // delivery log has a failure to show and to redeliver, however long setup takes.
    hooks.setDefault((req) => {
      const body = req.json as { event?: string; data?: { payload?: string } } | undefined;
      return failing && body?.event === 'video_recorded' &&
        body.data?.payload === '{"order":1201}'
        ? { status: 500, body: 'receiver restarting' } : { status: 200 };
    });
    acct = await t.account('Northwind Outfitters');
    await setAccountPassword(t.server.ctx, acct.account_hash, PASSWORD);
    await t.api(acct.api_key, 'POST', '/webhook', { webhook: hooks.url('/pipe/recordings'),
      webhook_recorded: '1', webhook_converted: '1', webhook_copied_pipe_s3: '1' });
    const staging = await t.api(acct.api_key, 'POST', '/environment', { env_name: 'Staging' });
    const code = (staging.json.environment_details as { env_code: string }[])[0]?.env_code ?? '';
    await t.api(acct.api_key, 'POST', '/amazon', { env_id: '2', amz_bucket: 'northwind-video',
      amz_bucket_region: 'eu-west-1', amz_key: 'AKIAEXAMPLE', amz_secret: 'example-secret' });
    const clip = await readFile(CHROMIUM_WEBM);
    for (const [eid, payload] of [[acct.environment.env_code, '{"order":1201}'],
      [code, '{"order":1202}']] as const) {
      await uploadFile(t.url, { accountHash: acct.account_hash, eid, payload,
        cameraName: 'FaceTime HD Camera', micName: 'MacBook Pro Microphone' },
      { name: 'review.webm', data: clip }, { 'user-agent': 'Mozilla/5.0 (Macintosh)' });
    }
    await eventually(async () => {
      const list = await t.api(acct.api_key, 'GET', '/video/all');
      const videos = list.json.videos as { converted: string }[];
      return videos.every((v) => v.converted === '1') ? true : undefined;
    }, 60_000, 'conversions');
    browser = await launchBrowser();
    await browser.context.grantPermissions(['clipboard-read', 'clipboard-write'],
      { origin: t.url });
    page = await browser.context.newPage();
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
    await hooks?.close();
    await t?.close();
  });

  it('signs in with email and password', async () => {
    await page.goto(`${t.url}/dashboard/webhooks`);
    expect(new URL(page.url()).pathname).toBe('/dashboard/login');
    await page.getByLabel('Email').fill(acct.email);
    await page.getByLabel('Password').fill('not it');
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    expect(await page.getByRole('alert').textContent()).toBe('The email or password is not right.');
    await page.getByLabel('Password').fill(PASSWORD);
    await screenshot(page, 'dashboard-1-sign-in');
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.waitForURL(/\/dashboard\/webhooks$/);
    await nav('Recordings').click();
    expect(await page.locator('tbody tr').count()).toBe(2);
    expect(await page.locator('.badge', { hasText: 'Amazon S3' }).count()).toBe(1);
    await screenshot(page, 'dashboard-2-recordings');
  });

  it('gives each environment its embed code, ready to copy, and saves its settings', async () => {
    await nav('Environments').click();
    const code = page.locator('pre').first();
    expect(await code.textContent()).toContain(`pipe-accounthash="${acct.account_hash}"`);
    expect(await code.textContent()).toContain(`${t.url}/2.0/pipe.js`);
    await page.getByRole('button', { name: 'Copy' }).first().click();
    await expect.poll(() => page.getByRole('button', { name: 'Copied' }).count()).toBe(1);
    expect(await page.evaluate<string>('navigator.clipboard.readText()'))
      .toBe(await code.textContent());
    await screenshot(page, 'dashboard-3-environments');

    const first = page.locator('section.card').first();
    await first.locator('summary', { hasText: 'Settings' }).click();
    await first.getByLabel('Keep visitors’ IP addresses').uncheck();
    await first.getByRole('button', { name: 'Save settings' }).click();
    expect(await notice()).toBe('The settings were saved.');
    const env = await t.api(acct.api_key, 'GET', '/environment');
    expect((env.json.environment_details as { collect_ip: string }[])[0]?.collect_ip).toBe('0');
  });

  it('adds a webhook, shows its secret once, and shows and redelivers its log', async () => {
    await nav('Webhooks').click();
    await page.getByLabel('URL').fill(hooks.url('/staging'));
    await page.getByLabel('Environment').selectOption({ label: 'Staging' });
    await page.getByRole('button', { name: 'Add webhook' }).click();
    expect(await notice()).toBe('The webhook was added.');
    expect(await page.locator('#new-secret').textContent()).toMatch(/^whsec_/);
    await screenshot(page, 'dashboard-4-webhooks');

    await page.getByRole('link', { name: hooks.url('/pipe/recordings') }).click();
    const recorded = page.locator('tbody tr').filter({ hasText: 'video_recorded' })
      .filter({ hasText: '#1' });
    expect(await recorded.locator('td').nth(5).textContent()).toBe('500');
    expect(await recorded.locator('.badge').textContent()).toBe('Pending');
    await page.getByRole('button', { name: 'Send test event' }).click();
    expect(await notice()).toBe('Test video_recorded delivered: HTTP 200.');
    failing = false;
    await recorded.first().getByRole('button', { name: 'Redeliver' }).click();
    expect(await notice()).toBe('The event is being sent again.');
    await expect.poll(async () => {
      await page.reload();
      return recorded.filter({ hasText: 'Delivered' }).count();
    }, { timeout: 15_000 }).toBeGreaterThan(0);
    await screenshot(page, 'dashboard-5-webhook-log');
  });

  it('keeps storage passwords write-only', async () => {
    await nav('Storage').click();
    const ftp = page.locator('section', { hasText: 'FTP and SFTP' });
    const field = (label: string) => ftp.getByLabel(label, { exact: true });
    await field('FTP host').fill('ftp.northwind.example');
    await field('FTP user').fill('recorder');
    await field('FTP password').fill('hunter2-but-longer');
    await ftp.getByRole('button', { name: 'Add' }).click();
    expect(await notice()).toBe('FTP and SFTP was added.');
    expect(await page.content()).not.toContain('hunter2-but-longer');
    expect(await page.locator('input[name="ftp_password"]').first().inputValue()).toBe('');
    await screenshot(page, 'dashboard-6-storage');
  });

  it('rotates the webhook key and shows the new one once', async () => {
    await nav('Account').click();
    page.once('dialog', (dialog) => void dialog.accept());
    await page.getByRole('button', { name: 'Issue a new webhook key' }).click();
    expect(await page.locator('#revealed').textContent()).toMatch(/^[a-f0-9]{32}$/);
    await screenshot(page, 'dashboard-7-account');
  });

  it('deletes a recording after asking, then signs out', async () => {
    await nav('Recordings').click();
    await page.locator('tbody tr a.strong').first().click();
    page.once('dialog', (dialog) => void dialog.accept());
    await page.getByRole('button', { name: 'Delete' }).click();
    expect(await notice()).toBe('The recording was deleted.');
    expect(await page.locator('tbody tr').count()).toBe(1);
    await page.getByRole('button', { name: 'Sign out' }).click();
    expect(await page.getByRole('status').textContent()).toBe('You are signed out.');
    await page.goto(`${t.url}/dashboard/recordings`);
    expect(new URL(page.url()).pathname).toBe('/dashboard/login');
  });
});
