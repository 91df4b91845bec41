// Shared state for the test player pages. Tests read window.__player through Playwright; every field is a
// plain value or a getter so page.evaluate returns a fresh snapshot.
(function () {
  'use strict';
  const video = document.getElementById('video');
  const params = new URLSearchParams(location.search);
  const events = [];
  const player = {
    src: params.get('src'),
    state: 'idle',          // idle | loading | playing | waiting | paused | ended | error
    fatalErrors: [],        // [{type, details}] from the player library or the <video> element
    errors: [],             // non-fatal errors, for diagnostics only
    stalls: [],             // buffer stalls after the first second of playback, each with the requests before it (hls.html)
    waits: [],              // wall-clock times (Date.now()) of each 'waiting' after the first 'playing' (and Shaka's buffering events): what a viewer sees as a stall
    keyWaits: [],           // wall-clock times of each 'waitingforkey' after the first 'playing' (EME: media whose key the CDM lacks)
    levels: [],             // [{width, height, bitrate}]
    latency: null,          // live latency in seconds, when the library reports it
    ended: false,
    playingSince: null,
    get currentTime() { return video.currentTime; },
    get videoWidth() { return video.videoWidth; },
    get videoHeight() { return video.videoHeight; },
    get duration() { return isFinite(video.duration) ? video.duration : -1; },
    get readyState() { return video.readyState; },
    // The first events (start-up) and the latest, so a long wait does not push out how playback began.
    get events() { return events.length <= 80 ? events.slice() : events.slice(0, 30).concat(['…'], events.slice(-50)); },
    // The element's buffered ranges, "start-end" in seconds.
    get buffered() {
      const ranges = [];
      for (let i = 0; i < video.buffered.length; i++) ranges.push(video.buffered.start(i).toFixed(3) + '-' + video.buffered.end(i).toFixed(3));
      return ranges.join(' ');
    },
    currentLevel: -1,
  };
  window.__player = player;

  const log = (e) => { events.push(Math.round(performance.now()) + 'ms ' + e); };
  player.log = log;
  ['loadedmetadata', 'playing', 'waiting', 'pause', 'ended', 'stalled', 'seeking', 'seeked'].forEach((name) =>
    video.addEventListener(name, () => {
      log(name);
      if (name === 'playing') { player.state = 'playing'; if (player.playingSince === null) player.playingSince = Date.now(); }
      else if (name === 'waiting') { player.state = 'waiting'; if (player.playingSince !== null) player.waits.push(Date.now()); }
      else if (name === 'pause' && !video.ended) { player.state = 'paused'; }
      else if (name === 'ended') { player.state = 'ended'; player.ended = true; }
    }));
  // EME §7.4: the element fires 'waitingforkey' when playback is blocked on a key its CDM does not have.
  video.addEventListener('waitingforkey', () => {
    log('waitingforkey');
    if (player.playingSince !== null) player.keyWaits.push(Date.now());
  });
  video.addEventListener('error', () => {
    const err = video.error;
    player.fatalErrors.push({ type: 'media', details: err ? (err.code + ' ' + err.message) : 'unknown' });
    player.state = 'error';
    log('video error');
  });

  window.__fatal = (type, details) => {
    player.fatalErrors.push({ type: String(type), details: String(details) });
    player.state = 'error';
    log('fatal ' + type + ' ' + details);
  };
  // Start-over and rewind hooks (a page whose library keeps its own seek range replaces them): the range a viewer may
  // seek in {start, end} (seconds on the element's timeline, null before it is known), a seek, and back to live.
  window.__seekRange = () => {
    const s = video.seekable;
    return s.length > 0 ? { start: s.start(0), end: s.end(s.length - 1) } : null;
  };
  window.__seekTo = (t) => { video.currentTime = t; };
  window.__goLive = () => { const r = window.__seekRange(); if (r) video.currentTime = r.end; };
  window.__nonFatal = (type, details) => {
    player.errors.push({ type: String(type), details: String(details) });
    if (player.errors.length > 100) player.errors.shift();
  };

  // Muted autoplay is allowed without a gesture; call play() too in case the library doesn't.
  window.__play = () => { video.muted = true; const p = video.play(); if (p) p.catch((e) => log('play() rejected: ' + e)); };
})();
