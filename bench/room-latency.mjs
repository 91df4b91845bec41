// Host-to-co-host glass to glass in a live room, for bench/room.sh: two participants in one Debian Chromium publish over
// WHIP into a channel's room (pages on the server's own origin, the room API being same-origin). Participant A's
// camera is a canvas with a clock burned in (a strip of 20 black/white 32-pixel blocks along the bottom: Date.now()
// modulo 2^20 in ms, bit k in block k); participant B subscribes to A through the room (Janus's VideoRoom subscriber:
// the server relays its offer and B's answer), draws each presented frame into a canvas, reads the clock and takes now
// minus it: capture to display, A's VP8 encode, Janus, B's jitter buffer and decode included, one clock for both ends.
// B's RTCPeerConnection stats give the receiver's side too (jitter buffer, decode). Prints one line:
// "p50 p95 max samples jitter_buffer_ms decode_ms" (ms).
// Usage: node bench/room-latency.mjs HTTP_BASE STREAM_KEY CHANNEL_SLUG SECONDS
import { chromium } from 'playwright-core';

const [base, key, channel, secondsArg] = process.argv.slice(2);
const seconds = Number(secondsArg ?? 20);
if (!base || !key || !channel || !(seconds >= 5 && seconds <= 600)) {
  console.error('usage: node room-latency.mjs HTTP_BASE STREAM_KEY CHANNEL SECONDS(5-600)');
  process.exit(2);
}
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
    '--autoplay-policy=no-user-gesture-required', '--disable-features=WebRtcHideLocalIpsWithMdns',
    '--disable-background-timer-throttling', '--disable-renderer-backgrounding', '--disable-backgrounding-occluded-windows'],
});

// Runs in a page of the server's origin: publishes a canvas (with the clock strip when stamped) over WHIP; resolves to
// the participant's token (from the Location) and keeps the connection in window.__pc.
const publish = async ({ key, stamped }) => {
  const canvas = document.createElement('canvas');
  canvas.width = 640; canvas.height = 360;
  const g = canvas.getContext('2d');
  setInterval(() => {
    g.fillStyle = stamped ? '#c03030' : '#3030c0';
    g.fillRect(0, 0, 640, 328);
    const t = Date.now() % 1048576;
    for (let k = 0; k < 20; k++) { g.fillStyle = (t >> k) & 1 ? '#fff' : '#000'; g.fillRect(k * 32, 328, 32, 32); }
  }, 1000 / 30);
  const track = canvas.captureStream(30).getVideoTracks()[0];
  const pc = new RTCPeerConnection();
  window.__pc = pc;
  pc.addTransceiver(track, { direction: 'sendonly' });
  await pc.setLocalDescription(await pc.createOffer());
  await new Promise((r) => { if (pc.iceGatheringState === 'complete') r(); pc.onicegatheringstatechange = () => pc.iceGatheringState === 'complete' && r(); setTimeout(r, 5000); });
  const res = await fetch('/whip?name=' + (stamped ? 'A' : 'B'), { method: 'POST', headers: { 'Content-Type': 'application/sdp', Authorization: 'Bearer ' + key }, body: pc.localDescription.sdp });
  if (res.status !== 201) throw new Error('WHIP ' + res.status + ' ' + await res.text());
  await pc.setRemoteDescription({ type: 'answer', sdp: await res.text() });
  return res.headers.get('Location').split('/').pop();
};

try {
  const a = await browser.newPage();
  const b = await browser.newPage();
  // Pages of the server's origin (its room API answers same-origin pages); /healthz is a plain page to run in.
  await a.goto(`${base}/healthz`);
  await b.goto(`${base}/healthz`);
  await a.evaluate(publish, { key, stamped: true });
  const tokenB = await b.evaluate(publish, { key, stamped: false });
  const measured = await b.evaluate(async ({ tokenB, seconds, channel }) => {
    const headers = { Authorization: 'Bearer ' + tokenB };
    let list = [];
    for (let i = 0; i < 50 && !list.some((p) => p.name === 'A'); i++) {
      const r = await fetch(`/room/${channel}/participants`, { headers });
      if (r.ok) list = await r.json();
      await new Promise((x) => setTimeout(x, 200));
    }
    const target = list.find((p) => p.name === 'A');
    if (!target) throw new Error('A is not in the room: ' + JSON.stringify(list));
    const sub = await (await fetch(`/room/${channel}/subscriptions`, { method: 'POST', headers: { ...headers, 'Content-Type': 'application/json' }, body: JSON.stringify({ participant: target.id }) })).json();
    const pc = new RTCPeerConnection();
    const video = document.createElement('video');
    video.muted = true; video.autoplay = true; video.playsInline = true;
    document.body.append(video);
    pc.ontrack = (e) => { video.srcObject = new MediaStream([e.track]); video.play().catch(() => {}); };
    await pc.setRemoteDescription({ type: 'offer', sdp: sub.sdp });
    await pc.setLocalDescription(await pc.createAnswer());
    await new Promise((r) => { if (pc.iceGatheringState === 'complete') r(); pc.onicegatheringstatechange = () => pc.iceGatheringState === 'complete' && r(); setTimeout(r, 5000); });
    const patched = await fetch(`/room/${channel}/subscriptions/${sub.id}`, { method: 'PATCH', headers: { ...headers, 'Content-Type': 'application/sdp' }, body: pc.localDescription.sdp });
    if (patched.status !== 204) throw new Error('PATCH ' + patched.status);
    await new Promise((r) => { const t = setInterval(() => { if (video.videoWidth > 0) { clearInterval(t); r(); } }, 100); });
    await new Promise((r) => setTimeout(r, 2000)); // past the first frames
    const canvas = document.createElement('canvas');
    canvas.width = 640; canvas.height = 360;
    const g = canvas.getContext('2d', { willReadFrequently: true });
    const samples = [];
    const end = performance.now() + seconds * 1000;
    await new Promise((done) => {
      const onFrame = () => {
        if (performance.now() > end) return done();
        g.drawImage(video, 0, 0, 640, 360);
        const row = g.getImageData(0, 344, 640, 1).data;
        let t = 0;
        for (let k = 0; k < 20; k++) if (row[(k * 32 + 16) * 4] > 128) t |= 1 << k;
        const now = Date.now() % 1048576;
        const latency = (now - t + 1048576) % 1048576;
        if (latency < 10000) samples.push(latency);
        video.requestVideoFrameCallback(onFrame);
      };
      video.requestVideoFrameCallback(onFrame);
    });
    let jitter = null, decode = null;
    (await pc.getStats()).forEach((s) => {
      if (s.type === 'inbound-rtp' && s.kind === 'video') {
        if (s.jitterBufferEmittedCount > 0) jitter = Math.round(1000 * s.jitterBufferDelay / s.jitterBufferEmittedCount);
        if (s.framesDecoded > 0) decode = Math.round(1000 * s.totalDecodeTime / s.framesDecoded);
      }
    });
    samples.sort((x, y) => x - y);
    const at = (q) => samples[Math.min(samples.length - 1, Math.floor(q * samples.length))];
    return `${at(0.5)} ${at(0.95)} ${samples[samples.length - 1]} ${samples.length} ${jitter} ${decode}`;
  }, { tokenB, seconds, channel });
  console.log(measured);
} finally {
  await browser.close();
}
