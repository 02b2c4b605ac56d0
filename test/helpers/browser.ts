import { accessSync, constants } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { chromium } from 'playwright-core';
import type { BrowserContext, Page } from 'playwright-core';
import { describe, it } from 'vitest';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export const SCREENSHOTS = fileURLToPath(new URL('../../test-output/screenshots/',
  import.meta.url));

function chromiumPresent(): boolean {
  try {
    accessSync(CHROMIUM, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * A describe block that needs Chromium. Without it the block fails in CI, where .ci/run
 * installs it, and is skipped with a notice elsewhere.
 */
export function describeWithChromium(name: string, body: () => void): void {
  if (chromiumPresent()) {
    describe(name, body);
    return;
  }
  const message = `Chromium not found at ${CHROMIUM}: install Debian's chromium package ` +
    '(.ci/run does) or set CHROMIUM_PATH';
  if (process.env.CI === 'true') {
    describe(name, () => {
      it('needs Chromium', () => {
        throw new Error(message);
      });
    });
    return;
  }
  process.stderr.write(`\n${message}; skipping "${name}".\n\n`);
  describe.skip(name, body);
}

export interface TestBrowser {
  context: BrowserContext;
  close(): Promise<void>;
}

/** Headless Chromium with a fresh profile and fake camera and microphone. */
export async function launchBrowser(): Promise<TestBrowser> {
  const profile = await mkdtemp(path.join(tmpdir(), 'standpipe-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1280, height: 860 },
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--use-fake-ui-for-media-stream',
      '--use-fake-device-for-media-stream', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-first-run',
      '--autoplay-policy=no-user-gesture-required',
    ],
  });
  return {
    context,
    close: async () => {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}

export interface PageServer {
  url: string;
  close(): Promise<void>;
}

/** A customer's site on another origin: serves one HTML page at /. */
export async function servePage(html: string): Promise<PageServer> {
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(html);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}

export async function screenshot(page: Page, name: string): Promise<string> {
  await mkdir(SCREENSHOTS, { recursive: true });
  const file = path.join(SCREENSHOTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

/** The page a customer puts the embed code on, as Pipe's embed code 2.0 reads. */
export function embedPage(server: string, attrs: Record<string, string>): string {
  const attributes = Object.entries(attrs).map(([k, v]) => `${k}="${v.replace(/"/g, '&quot;')}"`)
    .join(' ');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Northwind Outfitters: video review</title>
<link rel="stylesheet" href="${server}/2.0/pipe.css">
<script src="${server}/2.0/pipe.js"></script>
<style>
  body { margin: 0; font: 16px/1.5 Georgia, serif; background: #f6f1ea; color: #2b2118; }
  header { padding: 18px 40px; background: #2b2118; color: #f6f1ea; font-weight: bold; }
  main { max-width: 720px; margin: 32px auto; padding: 0 20px; }
  h1 { font-size: 28px; margin: 0 0 6px; }
</style></head>
<body><header>Northwind Outfitters</header>
<main><h1>How do you like your new boots?</h1>
<p>Record a short video review. It takes less than a minute.</p>
<piperecorder ${attributes}></piperecorder></main>
<script>
  window.pipeEvents = [];
  PipeSDK.onRecordersInserted = function () {
    var recorder = PipeSDK.getRecorderById('${attrs.id ?? ''}');
    ['onReadyToRecord', 'onCamAccess', 'onRecordingStarted', 'onRecordingStopped',
      'onUploadProgress', 'onUploadDone', 'onSaveOk', 'onUploadError'].forEach(function (name) {
      recorder[name] = function () {
        window.pipeEvents.push([name].concat(Array.prototype.slice.call(arguments)));
      };
    });
  };
</script></body></html>`;
}
