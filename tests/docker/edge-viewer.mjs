// One viewer of the compose stack, for tests/docker/check.sh: plays URL in hls.js (tests/players/hls.html) in Debian's
// Chromium and samples the player four times a second until SIGTERM or SECONDS, then writes a JSON report to REPORT.
// The script marks what it did to the stack with signals: SIGUSR1 "an origin was killed", SIGUSR2 "the broadcast node
// was killed"; the report cuts the viewing into phases at those marks and gives each its media seconds played, stall
// seconds (sample intervals in which the playhead moved less than a tenth of the wall time) and the requests the
// player saw fail (HTTP status ≥ 400 or no answer), with the player's fatal errors and final state.
// Usage: node tests/docker/edge-viewer.mjs URL SECONDS REPORT
import { chromium } from 'playwright-core';
import { createServer } from 'node:http';
import { readFile, writeFile } from 'node:fs/promises';
import { extname, join, normalize, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const [url, secondsArg, report] = process.argv.slice(2);
if (!url || !secondsArg || !report) { console.error('usage: node edge-viewer.mjs URL SECONDS REPORT'); process.exit(2); }
const players = join(dirname(fileURLToPath(import.meta.url)), '..', 'players');
const types = { '.html': 'text/html', '.js': 'text/javascript', '.map': 'application/json' };
const server = createServer(async (req, res) => {
  const path = normalize(decodeURIComponent(new URL(req.url, 'http://x').pathname)).replace(/^(\.\.[/\\])+/, '');
  try {
    const body = await readFile(join(players, path));
    res.writeHead(200, { 'content-type': types[extname(path)] ?? 'application/octet-stream' });
    res.end(body);
  } catch { res.writeHead(404); res.end(); }
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--autoplay-policy=no-user-gesture-required'],
});
const page = await browser.newPage();
const origin = new URL(url).origin;
const started = Date.now();
const now = () => (Date.now() - started) / 1000;
const failed = [];
page.on('response', (r) => { if (r.url().startsWith(origin) && r.status() >= 400) failed.push({ t: now(), status: r.status(), url: r.url().slice(origin.length) }); });
page.on('requestfailed', (r) => { if (r.url().startsWith(origin)) failed.push({ t: now(), status: 0, error: r.failure()?.errorText, url: r.url().slice(origin.length) }); });
await page.goto(`http://127.0.0.1:${server.address().port}/hls.html?src=${encodeURIComponent(url)}`);

const marks = [{ t: 0, label: 'playing through the edge' }];
process.on('SIGUSR1', () => marks.push({ t: now(), label: 'after an origin was killed' }));
process.on('SIGUSR2', () => marks.push({ t: now(), label: 'after the broadcast node was killed' }));
let stop = false;
process.on('SIGTERM', () => { stop = true; });
const samples = [];
// The picture moves at sample i when the playhead advanced from a sample that was already past the page's first
// position. hls.js first seeks a live stream from 0 to its start position and only then buffers and plays: that seek is
// start-up, not media played, and the wait after it is not a stall (a loaded machine once took 2.2 s there).
const playsAt = (i) => i >= 2 && samples[i - 1].time > samples[0].time + 0.05 && samples[i].time > samples[i - 1].time + 0.05;
const deadline = Date.now() + Number(secondsArg) * 1000;
// A page that dies (the renderer crashed, the browser was killed) ends the sampling; the report says so.
let pageError = null;
let announced = false;
page.on('crash', () => { pageError = 'the page crashed'; });
while (!stop && !pageError && Date.now() < deadline) {
  try {
    const p = await page.evaluate(() => {
      const v = document.getElementById('video');
      const q = window.__player;
      return { state: q.state, time: v.currentTime, fatal: q.fatalErrors.length };
    });
    samples.push({ t: now(), ...p });
    // One line when the picture first moves: tests/docker/check.sh starts its phases from it.
    if (!announced && playsAt(samples.length - 1)) { announced = true; console.log('playing'); }
  } catch (e) {
    pageError = String(e.message || e).split('\n')[0];
    break;
  }
  await new Promise((r) => setTimeout(r, 250));
}
let last = { state: 'unknown', fatalErrors: [], stalls: [] };
// hls.js's stall reports (buffers, last requests and playlist reloads at each stall once playing), for a failure's log.
try {
  last = await page.evaluate(() => ({ state: window.__player.state, fatalErrors: window.__player.fatalErrors,
    stalls: window.__player.stalls.slice(0, 4).map((s) => s.slice(0, 3000)) }));
} catch { /* reported as pageError */ }
last.pageError = pageError;
await browser.close().catch(() => {});
server.close();

// The picture's first move starts the first phase: start-up is not a stall.
const firstPlay = samples.findIndex((_, i) => playsAt(i));
const phases = marks.map((m, i) => {
  const end = i + 1 < marks.length ? marks[i + 1].t : Infinity;
  const from = i === 0 && firstPlay > 0 ? samples[firstPlay - 1].t : m.t;
  const inPhase = samples.filter((s) => s.t >= from && s.t < end);
  let stall = 0, played = 0, longest = 0, run = 0;
  for (let k = 1; k < inPhase.length; k++) {
    const dt = inPhase[k].t - inPhase[k - 1].t, dm = inPhase[k].time - inPhase[k - 1].time;
    played += Math.max(0, dm);
    if (dm < 0.1 * dt) { stall += dt; run += dt; longest = Math.max(longest, run); } else run = 0;
  }
  const wall = inPhase.length ? inPhase[inPhase.length - 1].t - inPhase[0].t : 0;
  return {
    label: m.label, at: +m.t.toFixed(2), wallSeconds: +wall.toFixed(2), playedSeconds: +played.toFixed(2),
    stallSeconds: +stall.toFixed(2), longestStallSeconds: +longest.toFixed(2),
    failedRequests: failed.filter((f) => f.t >= m.t && f.t < end),
    endState: inPhase.length ? inPhase[inPhase.length - 1].state : 'none',
  };
});
const started_at = firstPlay > 0 ? +samples[firstPlay].t.toFixed(2) : null;
await writeFile(report, JSON.stringify({ url, firstFrameSeconds: started_at, phases, final: last }, null, 2));
process.exit(0);
