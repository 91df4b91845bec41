// LL-HLS viewers without a browser, to see what an edge adds to each one's wait at the live edge.
// Each viewer follows one media playlist as hls.js and Shaka do in low-latency mode (RFC 8216bis 6.2.5): a blocking
// reload for the part after the newest listed (?_HLS_msn=&_HLS_part=, with _HLS_skip=YES), then a GET of every part
// the answer newly lists; a viewer in "hint" mode also asks for the EXT-X-PRELOAD-HINT part as soon as it is named
// (as Shaka does), before it exists. One more viewer, the probe, does the same directly at the origin: the moment
// it learns of a part (its blocking reload answered) and receives it is when the origin could first give it.
// For every other viewer and part: how much later than the probe it learnt of the part, and received it.
//
// Usage: node bench/llhls-viewers.mjs SECONDS PROBE_URL NAME=URL:COUNT[:hint] [NAME=URL:COUNT[:hint] ...]
//   PROBE_URL and each URL: a low-latency media playlist (…/source/index.m3u8), directly or through an edge.
// Prints one JSON object: per group, the lateness percentiles (ms) for learning of a part and for receiving it,
// the viewers' request counts and failures.
import { setTimeout as sleep } from 'node:timers/promises';

const [secondsArg, probeUrl, ...groupArgs] = process.argv.slice(2);
const seconds = Number(secondsArg);
if (!(seconds > 0) || !probeUrl || groupArgs.length === 0) {
  console.error('usage: node llhls-viewers.mjs SECONDS PROBE_URL NAME=URL:COUNT[:hint] ...');
  process.exit(2);
}

const groups = groupArgs.map((arg) => {
  const m = /^([^=]+)=(.+):(\d+)(:hint)?$/.exec(arg);
  if (!m) { console.error(`bad group ${arg}`); process.exit(2); }
  return { name: m[1], url: m[2], count: Number(m[3]), hint: Boolean(m[4]) };
});

const started = performance.now();
const deadline = started + seconds * 1000;
const now = () => performance.now();

/** The parts a playlist lists (their URIs), the newest part's position, and the preload hint. */
function parse(text) {
  const lines = text.split('\n');
  let msn = 0;
  const mseq = lines.find((l) => l.startsWith('#EXT-X-MEDIA-SEQUENCE:'));
  if (mseq) msn = Number(mseq.slice('#EXT-X-MEDIA-SEQUENCE:'.length));
  const skip = lines.find((l) => l.startsWith('#EXT-X-SKIP:'));
  if (skip) msn += Number(/SKIPPED-SEGMENTS=(\d+)/.exec(skip)[1]);
  const parts = [];
  let partIndex = 0;
  let hint = null;
  for (const line of lines) {
    if (line.startsWith('#EXT-X-PART:')) {
      parts.push({ uri: /URI="([^"]+)"/.exec(line)[1], msn, part: partIndex });
      partIndex++;
    } else if (line.startsWith('#EXT-X-PRELOAD-HINT:')) {
      hint = /URI="([^"]+)"/.exec(line)[1];
    } else if (line && !line.startsWith('#')) {
      msn++; // a segment's URI line closes it; the parts after belong to the next
      partIndex = 0;
    }
  }
  // Next part to block for: after the newest listed part (RFC 8216bis 6.2.5.2).
  const last = parts[parts.length - 1];
  return { parts, hint, nextMsn: msn, nextPart: last && last.msn === msn ? last.part + 1 : 0 };
}

async function get(url, stats) {
  stats.requests++;
  const response = await fetch(url, { signal: AbortSignal.timeout(15000) });
  const body = await response.arrayBuffer();
  if (!response.ok) { stats.failures++; return null; }
  return { body, cache: response.headers.get('x-cache-status') };
}

/** One viewer: records, per part URI, when it learnt of the part and when it had its bytes. */
async function viewer(url, hintMode, stats, learnt, received) {
  const base = new URL(url);
  let first;
  while (!first && now() < deadline) {
    try { first = await get(url, stats); } catch { stats.failures++; await sleep(200); }
  }
  if (!first) return;
  let state = parse(new TextDecoder().decode(first.body));
  const seen = new Set(state.parts.map((p) => p.uri));
  const hinted = new Set();
  const fetchPart = (uri) => {
    if (received.has(uri)) return;
    received.set(uri, -1); // asked
    get(new URL(uri, base), stats).then((r) => { if (r) received.set(uri, now()); }, () => { stats.failures++; });
  };
  while (now() < deadline) {
    const blocking = new URL(url);
    blocking.searchParams.set('_HLS_msn', String(state.nextMsn));
    blocking.searchParams.set('_HLS_part', String(state.nextPart));
    blocking.searchParams.set('_HLS_skip', 'YES');
    let answer;
    try { answer = await get(blocking, stats); } catch { stats.failures++; await sleep(100); continue; }
    if (!answer) { await sleep(100); continue; }
    const at = now();
    state = parse(new TextDecoder().decode(answer.body));
    for (const p of state.parts) {
      if (seen.has(p.uri)) continue;
      seen.add(p.uri);
      learnt.set(p.uri, at);
      fetchPart(p.uri);
    }
    if (hintMode && state.hint && !hinted.has(state.hint)) {
      hinted.add(state.hint);
      fetchPart(state.hint);
    }
  }
}

function percentile(sorted, q) {
  if (sorted.length === 0) return null;
  return Math.round(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]);
}

const probe = { stats: { requests: 0, failures: 0 }, learnt: new Map(), received: new Map() };
const runs = [viewer(probeUrl, false, probe.stats, probe.learnt, probe.received)];
for (const g of groups) {
  g.viewers = [];
  for (let i = 0; i < g.count; i++) {
    const v = { stats: { requests: 0, failures: 0 }, learnt: new Map(), received: new Map() };
    g.viewers.push(v);
    runs.push(viewer(g.url, g.hint, v.stats, v.learnt, v.received));
  }
}
await Promise.all(runs);
await sleep(1500); // parts still in flight at the deadline

const result = { seconds, probeParts: probe.learnt.size, groups: {} };
for (const g of groups) {
  const learnLate = [];
  const receiveLate = [];
  let requests = 0;
  let failures = 0;
  for (const v of g.viewers) {
    requests += v.stats.requests;
    failures += v.stats.failures;
    for (const [uri, at] of v.learnt) {
      const t = probe.learnt.get(uri);
      if (t === undefined) continue;
      learnLate.push(at - t);
      // Diagnostics on stderr: each part learnt over 100 ms late, with when (seconds into the run).
      if (at - t > 100) console.error(`${g.name}: ${uri} learnt ${Math.round(at - t)} ms late at ${((t - started) / 1000).toFixed(1)} s`);
    }
    for (const [uri, at] of v.received) {
      const t = probe.received.get(uri);
      if (t !== undefined && t > 0 && at > 0) receiveLate.push(at - t);
    }
  }
  learnLate.sort((a, b) => a - b);
  receiveLate.sort((a, b) => a - b);
  result.groups[g.name] = {
    viewers: g.count,
    hint: g.hint,
    requests,
    failures,
    learn: { n: learnLate.length, p50: percentile(learnLate, 0.5), p95: percentile(learnLate, 0.95), max: percentile(learnLate, 1) },
    receive: { n: receiveLate.length, p50: percentile(receiveLate, 0.5), p95: percentile(receiveLate, 0.95), max: percentile(receiveLate, 1) },
    over100ms: learnLate.filter((x) => x > 100).length,
  };
}
console.log(JSON.stringify(result));
