#!/usr/bin/env node
// Records test/fixtures/chromium-3s.webm with a real browser MediaRecorder, so the media tests
// see the quirks of browser WebM (no duration in the header, variable frame timing) that
// ffmpeg-made clips do not have. Run with plain node: `node scripts/record-fixture.mjs`.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const RECORD_MS = 3000;
const OUT = join(dirname(fileURLToPath(import.meta.url)), '..', 'test', 'fixtures',
  'chromium-3s.webm');

// The page records camera and microphone (fake devices) and hands the clip back as base64.
const PAGE = `<!doctype html><meta charset="utf-8"><title>record</title>
<script>
async function record(ms) {
  const stream = await navigator.mediaDevices.getUserMedia({
    video: { width: 320, height: 240, frameRate: 15 },
    audio: true,
  });
  const preferred = 'video/webm;codecs=vp8,opus';
  const mimeType = MediaRecorder.isTypeSupported(preferred) ? preferred : 'video/webm';
  const recorder = new MediaRecorder(stream, {
    mimeType, videoBitsPerSecond: 250000, audioBitsPerSecond: 32000,
  });
  const chunks = [];
  recorder.ondataavailable = (e) => { if (e.data.size > 0) chunks.push(e.data); };
  const stopped = new Promise((resolve) => { recorder.onstop = resolve; });
  recorder.start(250);
  await new Promise((resolve) => setTimeout(resolve, ms));
  recorder.stop();
  await stopped;
  stream.getTracks().forEach((t) => t.stop());
  const bytes = new Uint8Array(await new Blob(chunks).arrayBuffer());
  let bin = '';
  for (let i = 0; i < bytes.length; i += 0x8000) {
    bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return { mimeType, base64: btoa(bin) };
}
</script>`;

async function main() {
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(PAGE);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(undefined)));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('server has no port');

  const profile = await mkdtemp(join(tmpdir(), 'standpipe-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--use-fake-ui-for-media-stream',
      '--use-fake-device-for-media-stream',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });

  try {
    const page = await context.newPage();
    await page.goto(`http://127.0.0.1:${address.port}/`);
    const clip = await page.evaluate((ms) => globalThis.record(ms), RECORD_MS);
    const data = Buffer.from(clip.base64, 'base64');
    await writeFile(OUT, data);
    console.log(`wrote ${OUT} (${data.length} bytes, ${clip.mimeType})`);
  } finally {
    await context.close();
    server.close();
    await rm(profile, { recursive: true, force: true });
  }
}

await main();
