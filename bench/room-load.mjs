// Room publishers for bench/room.sh: N pages of the plain WHIP publisher (tests/players/whip.html) in one Debian
// Chromium, each a WxH canvas of its own colour and a tone, publishing into a channel's live room with its stream key.
// Waits until every page is connected, prints "connected N" on stdout, keeps publishing SECONDS, then prints one JSON
// line (each page's state) and DELETEs every session.
// Usage: node bench/room-load.mjs WHIP_URL STREAM_KEY N SECONDS [WxH]
import { chromium } from 'playwright-core';
import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import { join, dirname, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';

const [whip, key, countArg, secondsArg, size = '1280x720'] = process.argv.slice(2);
const count = Number(countArg);
const seconds = Number(secondsArg);
if (!whip || !key || !(count >= 1 && count <= 8) || !(seconds >= 1 && seconds <= 3600)) {
  console.error('usage: node room-load.mjs WHIP_URL STREAM_KEY N(1-8) SECONDS [WxH]');
  process.exit(2);
}
const players = join(dirname(fileURLToPath(import.meta.url)), '..', 'tests', 'players');
const server = createServer(async (req, res) => {
  const path = normalize(join(players, new URL(req.url, 'http://x').pathname));
  if (!path.startsWith(players)) { res.writeHead(403).end(); return; }
  let body;
  try { body = await readFile(path); } catch { res.writeHead(404).end(); return; }
  res.writeHead(200, { 'Content-Type': 'text/html' }).end(body);
});
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const base = `http://127.0.0.1:${server.address().port}`;
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
    '--autoplay-policy=no-user-gesture-required', '--disable-features=WebRtcHideLocalIpsWithMdns',
    '--disable-background-timer-throttling', '--disable-renderer-backgrounding', '--disable-backgrounding-occluded-windows'],
});
const colours = ['red', 'blue', 'lime', 'yellow', 'magenta', 'cyan', 'white', 'orange'];
const pages = [];
try {
  for (let i = 0; i < count; i++) {
    const page = await browser.newPage();
    await page.goto(`${base}/whip.html?url=${encodeURIComponent(whip)}&token=${encodeURIComponent(key)}&colour=${colours[i]}&tone=${300 + 200 * i}&size=${size}&motion=1`);
    await page.waitForFunction(() => window.__whip.error !== null || window.__whip.connectionState === 'connected', null, { timeout: 60000 });
    const error = await page.evaluate(() => window.__whip.error);
    if (error) throw new Error(`publisher ${i + 1}: ${error}`);
    pages.push(page);
  }
  console.log(`connected ${pages.length}`);
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  const states = [];
  for (const page of pages) states.push(await page.evaluate(() => window.__whip));
  console.log(JSON.stringify(states));
  for (const page of pages) await page.evaluate(() => window.__whipStop());
} finally {
  await browser.close();
  server.close();
}
