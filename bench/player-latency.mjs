// Plays a live HLS URL in hls.js (tests/players/hls.html) in Debian's Chromium and samples, once a second,
// the latency hls.js reports (distance to the live edge) and the wall-clock latency (now minus the
// EXT-X-PROGRAM-DATE-TIME of the frame on screen). Prints one JSON line.
// Usage: node bench/player-latency.mjs URL SECONDS [--plain]
// --whep plays URL (a WHEP endpoint) in the plain WHEP page (tests/players/whep.html) instead.
// --stamp takes the wall-clock latency from the clock burned into the picture by bench/whep.sh's publisher (a strip of
// 20 black/white blocks along the bottom 32 of 360 lines: the capture time in ms modulo 2^20, bit k in block k) rather
// than from PROGRAM-DATE-TIME: glass to glass, the publisher's encode included, the same way for every player.
// --plain prints "latency_mean latency_max wall_mean wall_max" ('-' where unknown) for shell scripts.
// --percentiles prints "wall_p50 wall_p95 wall_max samples stalls" instead: the wall-clock latency's median, 95th
// percentile and maximum, and the stalls after the first second of playback (hls.js: tests/players/hls.html), for
// long runs (bench/lowlatency.sh).
import { chromium } from 'playwright-core';
import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import { extname, join, normalize, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

// --dash plays the URL (an MPD) in dash.js (tests/players/dash.html) instead; its latency is against the wall clock
// it synchronises through the MPD's UTCTiming, so both columns carry it.
const plain = process.argv.includes('--plain');
const dash = process.argv.includes('--dash');
// --shaka plays the URL in Shaka Player (tests/players/shaka.html) in its low-latency mode; its wall-clock latency is
// now minus its playhead as a date (PROGRAM-DATE-TIME for HLS).
const shaka = process.argv.includes('--shaka');
// --stock (with --shaka): Shaka Player exactly as it ships, configured by nothing (tests/players/shaka.html without
// lowLatency=1). Shaka 5.2 turns its streaming.lowLatencyMode on by default, so it plays an LL-HLS playlist in parts,
// PART-HOLD-BACK behind the edge (its presentation delay, lib/hls/hls_parser.js), with live sync off: a viewer of
// another site's Shaka gets this.
const shakaStock = process.argv.includes('--stock');
const percentiles = process.argv.includes('--percentiles');
// --events prints the player page's event log (start-up, stalls with the requests before them) to stderr at the end.
const printEvents = process.argv.includes('--events');
const whep = process.argv.includes('--whep');
const stamp = process.argv.includes('--stamp');
const [url, secondsArg] = process.argv.slice(2).filter((a) => !a.startsWith('--'));
// --clearkey-license=URL (hls.js): a protected channel's W3C ClearKey license (tests/players/hls.html's clearKeyLicense):
// hls.js then plays its SAMPLE-AES CMAF through EME, as the watch page does.
const clearKeyArg = process.argv.find((a) => a.startsWith('--clearkey-license='));
const clearKey = clearKeyArg ? `&clearKeyLicense=${encodeURIComponent(clearKeyArg.slice('--clearkey-license='.length))}` : '';
// --watch-page-settings: hls.js as the product's watch page configures it (control/wwwroot/js/watch.js: a catch-up of
// at most 5 % to the live target, moved back 0.25 s per stall, and back to the live edge from beyond hls.js's catch-up
// range: control/wwwroot/js/return-to-live.js), rather than hls.js's defaults.
const watchPageSettings = process.argv.includes('--watch-page-settings') ? '&maxLiveSyncPlaybackRate=1.05&liveSyncOnStallIncrease=0.25&returnToLive=1' : '';
// SHAKA_TARGET_LATENCY=S: Shaka's live-sync target in seconds behind its seek range's end (a trial of another than
// README's 0.3 s).
const shakaTarget = process.env.SHAKA_TARGET_LATENCY ? `targetLatency=${encodeURIComponent(process.env.SHAKA_TARGET_LATENCY)}&` : '';
if (!url) { console.error('usage: node player-latency.mjs URL [SECONDS]'); process.exit(2); }
const seconds = Number(secondsArg ?? 20);
const players = join(dirname(fileURLToPath(import.meta.url)), '..', 'tests', 'players');
// The product's player scripts (control/wwwroot/js) at /product/, as the tests' page server mounts them.
const product = join(dirname(fileURLToPath(import.meta.url)), '..', 'control', 'wwwroot', 'js');
const types = { '.html': 'text/html', '.js': 'text/javascript', '.map': 'application/json' };

const server = createServer(async (req, res) => {
  const path = normalize(decodeURIComponent(new URL(req.url, 'http://x').pathname)).replace(/^(\.\.[/\\])+/, '');
  try {
    const body = path.startsWith('/product/') ? await readFile(join(product, path.slice('/product/'.length))) : await readFile(join(players, path));
    res.writeHead(200, { 'content-type': types[extname(path)] ?? 'application/octet-stream' });
    res.end(body);
  } catch { res.writeHead(404); res.end(); }
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const page = shaka ? (shakaStock ? 'shaka.html?' : `shaka.html?lowLatency=1&${shakaTarget}`) : `${dash ? 'dash' : 'hls'}.html?`;
const page_url = whep
  ? `http://127.0.0.1:${server.address().port}/whep.html?url=${encodeURIComponent(url)}`
  : `http://127.0.0.1:${server.address().port}/${page}src=${encodeURIComponent(url)}${shaka ? '' : watchPageSettings}${shaka || dash ? '' : clearKey}`;

// The burned-in clock of the frame on screen, as now minus it, in seconds (null before a picture).
const readStamp = () => {
  const v = document.querySelector('video');
  if (!v || v.videoWidth === 0) return null;
  const c = window.__stampCanvas || (window.__stampCanvas = document.createElement('canvas'));
  c.width = v.videoWidth; c.height = v.videoHeight;
  const g = c.getContext('2d', { willReadFrequently: true });
  g.drawImage(v, 0, 0);
  const row = g.getImageData(0, Math.floor(v.videoHeight * (1 - 16 / 360)), v.videoWidth, 1).data;
  const block = v.videoWidth / 20;
  let value = 0;
  for (let k = 0; k < 20; k++) if (row[Math.floor(block * k + block / 2) * 4] > 128) value += 2 ** k;
  return (((Date.now() % 1048576) - value + 1048576) % 1048576) / 1000;
};

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
    '--disable-sync', '--autoplay-policy=no-user-gesture-required',
    // WebRTC host candidates as addresses, not mDNS names (Janus on the same machine does not resolve those).
    '--disable-features=WebRtcHideLocalIpsWithMdns'],
});
try {
  const page = await browser.newPage();
  await page.goto(page_url);
  if (whep) {
    await page.waitForFunction(() => window.__whep && (window.__whep.error || window.__whep.framesDecoded > 30), null, { timeout: 60000 });
    const error = await page.evaluate(() => window.__whep.error);
    if (error) throw new Error('WHEP failed: ' + error);
  } else {
    await page.waitForFunction(() => window.__player && window.__player.currentTime > 1, null, { timeout: 60000 });
  }
  const latency = [], wall = [];
  let stalls = 0;
  for (let i = 0; i < seconds; i++) {
    await page.waitForTimeout(1000);
    if (whep || stamp) {
      const w = await page.evaluate(readStamp);
      if (Number.isFinite(w)) wall.push(w);
      if (whep) continue;
    }
    const p = await page.evaluate(() => ({ latency: window.__player.latency, wall: window.__player.wallLatency, fatal: window.__player.fatalErrors, stalls: (window.__player.stalls || []).length }));
    stalls = Math.max(stalls, p.stalls || 0);
    if (p.fatal && p.fatal.length) throw new Error('player fatal error: ' + JSON.stringify(p.fatal));
    if (Number.isFinite(p.latency)) latency.push(p.latency);
    if (stamp) continue;
    if (Number.isFinite(p.wall)) wall.push(p.wall);
    else if (dash && Number.isFinite(p.latency)) wall.push(p.latency);
  }
  const stats = (a) => a.length === 0 ? null : {
    samples: a.length,
    mean: +(a.reduce((x, y) => x + y, 0) / a.length).toFixed(2),
    min: +Math.min(...a).toFixed(2),
    max: +Math.max(...a).toFixed(2),
  };
  const pct = (a, q) => { const s = [...a].sort((x, y) => x - y); return s.length ? s[Math.min(s.length - 1, Math.floor(q * s.length))].toFixed(2) : '-'; };
  if (printEvents) console.error((await page.evaluate(() => window.__player.events)).join('\n'));
  // INTERNALS=1 (hls.js): also hls.js's own stream and buffer controller log (its last lines), for a slow start.
  if (printEvents && process.env.INTERNALS === '1') console.error((await page.evaluate(() => window.__player.internals || [])).join('\n'));
  const result = { hlsjsLatency: stats(latency), wallClockLatency: stats(wall), wallP50: pct(wall, 0.5), wallP95: pct(wall, 0.95), stalls };
  if (whep) {
    result.firstFrameMs = await page.evaluate(() => window.__whep.firstFrameMs);
    // Where the first frame's wait went: the POST's answer, then ICE and DTLS, then the picture.
    console.error(`whep phases: answer ${await page.evaluate(() => window.__whep.answerMs)} ms, connected ${await page.evaluate(() => window.__whep.connectedMs)} ms, first frame ${result.firstFrameMs} ms after the POST`);
  }
  if (percentiles) {
    console.log([result.wallP50, result.wallP95, result.wallClockLatency ? String(result.wallClockLatency.max) : '-', wall.length, whep ? '-' : stalls,
      whep ? result.firstFrameMs : '-'].join(' '));
  } else if (plain) {
    const f = (s, k) => (s ? String(s[k]) : '-');
    console.log([f(result.hlsjsLatency, 'mean'), f(result.hlsjsLatency, 'max'), f(result.wallClockLatency, 'mean'), f(result.wallClockLatency, 'max')].join(' '));
  } else {
    console.log(JSON.stringify(result));
  }
} finally {
  await browser.close();
  server.close();
}
