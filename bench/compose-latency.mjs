// Reads burned-in clocks off two live streams at once, for bench/compose-latency.sh: the reference (a channel that
// carries the publish itself) and the subject (the program composing that channel, or plain ffmpeg's output of the same
// graph). Each arrives here as a restream of its channel: this script runs an ffmpeg RTMP listener per stream, which
// decodes every frame to a 320x180 grey picture; on each frame's arrival it reads the clock (a strip of 20 black/white
// blocks along the bottom 32 of every 360 lines: the capture time in ms modulo 2^20, bit k in block k; bench/whep.sh's
// publisher) and keeps now minus it. Both streams take the same publisher, ingest, restream and decode path, so subject
// minus reference is what the composing between them adds.
// With a program (CHANGES > 0 and the API's address): once a second meanwhile, the control room's preview sheet gives
// the input's picture as the compositor holds it (its clock against the sheet's Preview-Drawn, the server's clock on
// this machine): the input side of the program's latency. Then the layout changes CHANGES times through the API (PATCH,
// cut), a white slate on and off in the top right; each change is timed from the PATCH's start to the first frame here
// that shows it: an upper bound of "layout change to first changed frame in the program" (it holds the program's
// encode, the restream and this decode as well).
// Prints one line, milliseconds: "ref_p50 ref_p95 ref_max ref_n sub_p50 sub_p95 sub_max sub_n change_p50 change_max
// change_n answer_max age_p50 age_p95" ('-' where unknown).
// Usage: node bench/compose-latency.mjs REF_PORT SUBJECT_PORT SECONDS [CHANGES HTTP_BASE ADMIN_TOKEN PROGRAM_CHANNEL_ID]
import { spawn } from 'node:child_process';

const [refPort, subjectPort, secondsArg, changesArg = '0', base, token, programId] = process.argv.slice(2);
const seconds = Number(secondsArg);
const changes = Number(changesArg);
if (!(Number(refPort) > 0) || !(Number(subjectPort) > 0) || !(seconds >= 5 && seconds <= 600) || !(changes >= 0 && changes <= 50)
  || (changes > 0 && !(base && token && programId))) {
  console.error('usage: node compose-latency.mjs REF_PORT SUBJECT_PORT SECONDS(5-600) [CHANGES(0-50) HTTP_BASE ADMIN_TOKEN PROGRAM_CHANNEL_ID]');
  process.exit(2);
}

const W = 320, H = 180;
const clockRow = Math.floor(H * (1 - 16 / 360));
// The slate's middle: (1100, 120) of the 1280x720 canvas (bench/compose-latency.sh puts it at 960,40 280x160).
const probe = { x: Math.floor((1100 / 1280) * W), y: Math.floor((120 / 720) * H) };
const wallClock = () => Date.now() % 1048576;
const age = (clock, at = wallClock()) => (at - clock + 1048576) % 1048576;
const readClock = (picture, width, row) => {
  let value = 0;
  for (let k = 0; k < 20; k++) if (picture[row * width + Math.floor((width / 20) * k + width / 40)] > 128) value += 2 ** k;
  return value;
};

// An RTMP listener on the port that decodes what is pushed to it and calls onFrame(latencyMs, slateOn) per picture.
function listen(port, onFrame) {
  const ffmpeg = spawn('ffmpeg', ['-nostdin', '-hide_banner', '-loglevel', 'error', '-fflags', 'nobuffer', '-flags', 'low_delay',
    '-listen', '1', '-i', `rtmp://127.0.0.1:${port}/live/clock`, '-map', '0:v:0', '-vf', `scale=${W}:${H}`,
    '-f', 'rawvideo', '-pix_fmt', 'gray', 'pipe:1'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const size = W * H;
  let pending = Buffer.alloc(0);
  let stderr = '';
  ffmpeg.stderr.on('data', (d) => { stderr = (stderr + d).slice(-2000); });
  ffmpeg.stdout.on('data', (chunk) => {
    pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
    while (pending.length >= size) {
      const picture = pending.subarray(0, size);
      onFrame(age(readClock(picture, W, clockRow)), picture[probe.y * W + probe.x] > 160);
      pending = pending.subarray(size);
    }
  });
  const exited = new Promise((resolve) => ffmpeg.on('exit', (code) => resolve(`ffmpeg on ${port} exited ${code}: ${stderr.trim()}`)));
  return { ffmpeg, exited };
}

const pct = (a, q) => { const s = [...a].sort((x, y) => x - y); return s.length ? s[Math.min(s.length - 1, Math.floor(q * s.length))] : '-'; };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const streams = [{ port: refPort, frames: 0, samples: [], slate: null }, { port: subjectPort, frames: 0, samples: [], slate: null }];
let collecting = false;
let watch = null; // { slate, seenAt }: the first subject frame showing the slate so
const readers = streams.map((s, i) => listen(s.port, (latency, slate) => {
  s.frames++;
  if (collecting) s.samples.push(latency);
  if (i === 1 && watch && watch.seenAt === null && slate === watch.slate) watch.seenAt = Date.now();
}));
const failed = Promise.race(readers.map((r) => r.exited)).then((why) => { throw new Error(why); });

// The preview sheet's tile of input "cam": how old its clock was when the sheet was drawn.
async function previewAge() {
  const response = await fetch(`${base}/api/channels/${programId}/program/preview.jpg`, { headers: { Authorization: `Bearer ${token}` } });
  if (!response.ok) return null;
  const tile = response.headers.get('Preview-Inputs').split(',').indexOf('cam');
  const [w, h] = response.headers.get('Preview-Tile').split('x').map(Number);
  const drawn = Date.parse(response.headers.get('Preview-Drawn')) % 1048576;
  if (tile < 0) return null;
  const decoder = spawn('ffmpeg', ['-nostdin', '-loglevel', 'error', '-f', 'jpeg_pipe', '-i', 'pipe:0', '-f', 'rawvideo', '-pix_fmt', 'gray', 'pipe:1']);
  const chunks = [];
  decoder.stdout.on('data', (d) => chunks.push(d));
  const done = new Promise((resolve) => decoder.on('exit', resolve));
  decoder.stdin.end(Buffer.from(await response.arrayBuffer()));
  if ((await done) !== 0) return null;
  const sheet = Buffer.concat(chunks);
  return age(readClock(sheet, w, tile * h + Math.floor(h * (1 - 16 / 360))), drawn);
}

async function patch(slate) {
  const rect = { x: 960, y: 40, width: 280, height: 160 };
  const response = await fetch(`${base}/api/channels/${programId}/program`, {
    method: 'PATCH',
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ layout: { kind: 'single', inputs: [{ id: 'cam' }], overlays: slate ? [{ id: 'slate', rect }] : [] }, transition: 'cut' }),
  });
  if (!response.ok) throw new Error(`PATCH program: ${response.status} ${await response.text()}`);
}

async function measure() {
  const started = Date.now();
  while (streams.some((s) => s.frames < 60)) {
    if (Date.now() - started > 120000) throw new Error(`no pictures within 120 s (frames: ${streams.map((s) => s.frames).join(', ')})`);
    await sleep(200);
  }
  collecting = true;
  const ages = [];
  const until = Date.now() + seconds * 1000;
  while (Date.now() < until) {
    if (programId) { const a = await previewAge(); if (a !== null) ages.push(a); }
    await sleep(1000);
  }
  collecting = false;

  const seen = [];
  let answerMax = 0;
  for (let i = 0; i < changes; i++) {
    const slate = i % 2 === 1; // it is on now: the first change takes it off
    watch = { slate, seenAt: null };
    const at = Date.now();
    await patch(slate);
    answerMax = Math.max(answerMax, Date.now() - at);
    while (watch.seenAt === null) {
      if (Date.now() - at > 10000) throw new Error(`change ${i + 1} (slate ${slate ? 'on' : 'off'}) not seen within 10 s`);
      await sleep(10);
    }
    seen.push(watch.seenAt - at);
    await sleep(1500); // some of the new state before the next change
  }
  const summary = (a) => (a.length ? [pct(a, 0.5), pct(a, 0.95), Math.max(...a), a.length] : ['-', '-', '-', 0]);
  const [c50, , cmax, cn] = summary(seen);
  const [a50, a95] = summary(ages);
  return [...summary(streams[0].samples), ...summary(streams[1].samples), c50, cmax, cn, changes ? answerMax : '-', a50, a95].join(' ');
}

try {
  console.log(await Promise.race([measure(), failed]));
} finally {
  for (const r of readers) r.ffmpeg.kill('SIGTERM');
}
process.exit(0);
