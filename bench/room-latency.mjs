// Host-to-co-host glass to glass in a live room, for bench/room.sh: two participants in one Debian Chromium publish over
// WHIP into a channel's room (pages on the server's own origin, the room API being same-origin). Participant A's
// camera is a canvas with a clock burned in (a strip of 20 black/white 32-pixel blocks along the bottom: Date.now()
// modulo 2^20 in ms, bit k in block k); participant B subscribes to A through the room (Janus's VideoRoom subscriber:
// the server relays its offer and B's answer), draws each presented frame into a canvas, reads the clock and takes now
// minus it: capture to display, A's VP8 encode, Janus, B's jitter buffer and decode included, one clock for both ends.
// B's RTCPeerConnection stats give the receiver's side too (jitter buffer, decode).
// Mouth to ear the same way: A's microphone is a 1 kHz beep of 40 ms at every whole second of Date.now() (scheduled on
// A's AudioContext clock, re-anchored to the wall clock before each beep); B takes A's Opus track out of the room into
// a Web Audio graph, finds each beep's onset sample in an AudioWorklet and takes its wall time modulo one second: A's
// capture and Opus encode, Janus, B's jitter buffer (NetEq) and decode included, B's speaker (a headless null output)
// not. Prints one line: "p50 p95 max samples jitter_buffer_ms decode_ms a50 a95 amax asamples audio_jitter_buffer_ms".
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
  if (stamped) {
    // The microphone: silence with a 40 ms 1 kHz beep at each whole second of the wall clock.
    const ctx = new AudioContext({ sampleRate: 48000 });
    await ctx.resume();
    const oscillator = ctx.createOscillator();
    oscillator.frequency.value = 1000;
    const gain = ctx.createGain();
    gain.gain.value = 0;
    const destination = ctx.createMediaStreamDestination();
    oscillator.connect(gain).connect(destination);
    oscillator.start();
    let scheduled = 0;
    setInterval(() => {
      const contextNow = ctx.currentTime, wallNow = Date.now();
      const next = Math.ceil((wallNow + 200) / 1000) * 1000;
      if (next <= scheduled) return;
      scheduled = next;
      const at = contextNow + (next - wallNow) / 1000;
      gain.gain.setValueAtTime(0.8, at);
      gain.gain.setValueAtTime(0, at + 0.04);
    }, 250);
    pc.addTransceiver(destination.stream.getAudioTracks()[0], { direction: 'sendonly' });
  }
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
    // The ear: each beep's onset, as the wall time of its first loud sample (the worklet reports the context time of
    // that sample; the main thread maps context time to Date.now() at each report, within a render quantum).
    const ctx = new AudioContext({ sampleRate: 48000 });
    await ctx.resume();
    // An onset: a loud sample with none in the 0.3 s before it (a beep's first peak; its later cycles follow closely).
    const worklet = `registerProcessor('onsets', class extends AudioWorkletProcessor {
      constructor() { super(); this.lastLoud = -1; }
      process(inputs) {
        const channel = inputs[0] && inputs[0][0];
        if (!channel) return true;
        for (let i = 0; i < channel.length; i++) {
          if (Math.abs(channel[i]) <= 0.2) continue;
          const t = currentTime + i / sampleRate;
          if (t - this.lastLoud > 0.3) this.port.postMessage(t);
          this.lastLoud = t;
        }
        return true;
      }
    });`;
    await ctx.audioWorklet.addModule(URL.createObjectURL(new Blob([worklet], { type: 'application/javascript' })));
    const onsets = new AudioWorkletNode(ctx, 'onsets');
    // The graph runs what the destination pulls: the worklet reaches it through a silent gain.
    const silent = ctx.createGain();
    silent.gain.value = 0;
    onsets.connect(silent).connect(ctx.destination);
    const heard = [];
    onsets.port.onmessage = (m) => { heard.push(Date.now() - (ctx.currentTime - m.data) * 1000); };
    pc.ontrack = (e) => {
      if (e.track.kind === 'audio') {
        // Chromium feeds a remote track to Web Audio only while a media element plays it (muted here).
        const sink = new Audio();
        sink.muted = true;
        sink.srcObject = new MediaStream([e.track]);
        sink.play().catch(() => {});
        ctx.createMediaStreamSource(new MediaStream([e.track])).connect(onsets);
        return;
      }
      video.srcObject = new MediaStream([e.track]);
      video.play().catch(() => {});
    };
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
    let jitter = null, decode = null, audioJitter = null;
    (await pc.getStats()).forEach((s) => {
      if (s.type === 'inbound-rtp' && s.kind === 'video') {
        if (s.jitterBufferEmittedCount > 0) jitter = Math.round(1000 * s.jitterBufferDelay / s.jitterBufferEmittedCount);
        if (s.framesDecoded > 0) decode = Math.round(1000 * s.totalDecodeTime / s.framesDecoded);
      }
      if (s.type === 'inbound-rtp' && s.kind === 'audio' && s.jitterBufferEmittedCount > 0)
        audioJitter = Math.round(1000 * s.jitterBufferDelay / s.jitterBufferEmittedCount);
    });
    samples.sort((x, y) => x - y);
    const at = (q, list) => list.length ? list[Math.min(list.length - 1, Math.floor(q * list.length))] : '-';
    // A beep leaves A at a whole second: what B hears past it is the delay (under a second on loopback); the first
    // beeps, heard while the subscription settled, are left out with the video's first two seconds.
    const mouthToEar = heard.slice(2).map((w) => Math.round(((w % 1000) + 1000) % 1000)).sort((x, y) => x - y);
    return `${at(0.5, samples)} ${at(0.95, samples)} ${samples[samples.length - 1]} ${samples.length} ${jitter} ${decode} `
      + `${at(0.5, mouthToEar)} ${at(0.95, mouthToEar)} ${mouthToEar.length ? mouthToEar[mouthToEar.length - 1] : '-'} ${mouthToEar.length} ${audioJitter}`;
  }, { tokenB, seconds, channel });
  console.log(measured);
} finally {
  await browser.close();
}
