// Start-over and rewind on the watch page, for a live hls.js player whose playlist reaches back (the channel's rewind
// window). A seek bar over what the player can seek, "From the start" and "Live" buttons, and how far behind live the
// viewer is. Shown only when the channel has a rewind window (rewindSeconds above zero, from the page), so other
// channels look as before. A rewind is the viewer's: return-to-live.js
// sees the backwards seek and leaves the player there; "Live" seeks to hls.js's live sync position (its target latency,
// a low-latency channel's PART-HOLD-BACK), where return-to-live.js takes over again.
// broadcastRewind(hls, video, bar, rewindSeconds) -> { shown, fromStart(), toLive(), behind(), fromStartSeconds() }
window.broadcastRewind = function (hls, video, bar, rewindSeconds) {
    'use strict';
    const seek = bar.querySelector('#watch-seek');
    const fromStartButton = bar.querySelector('#watch-from-start');
    const liveButton = bar.querySelector('#watch-go-live');
    const behindLabel = bar.querySelector('#watch-behind');
    const state = { shown: false };
    let dragging = false;

    const range = () => {
        const s = video.seekable;
        return s && s.length > 0 ? { start: s.start(0), end: s.end(s.length - 1) } : null;
    };
    const liveEdge = () => (Number.isFinite(hls.liveSyncPosition) ? hls.liveSyncPosition : (range() || { end: NaN }).end);
    const format = (seconds) => {
        const s = Math.max(0, Math.round(seconds));
        const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
        return (h > 0 ? h + ':' + String(m).padStart(2, '0') : String(m)) + ':' + String(r).padStart(2, '0');
    };
    // Seconds behind the live sync position (0 at live; a low-latency channel's normal latency is already in it).
    state.behind = () => {
        const edge = liveEdge();
        return Number.isFinite(edge) ? Math.max(0, edge - video.currentTime) : 0;
    };
    // Seconds from the start of the seekable range to the playhead.
    state.fromStartSeconds = () => {
        const r = range();
        return r ? Math.max(0, video.currentTime - r.start) : 0;
    };
    state.fromStart = () => {
        const r = range();
        // Just inside the first segment: its very start can sit a frame before the first sample.
        if (r) video.currentTime = r.start + 0.1;
        if (video.paused) video.play().catch(() => {});
    };
    state.toLive = () => {
        const edge = liveEdge();
        if (Number.isFinite(edge)) video.currentTime = edge;
        if (video.paused) video.play().catch(() => {});
    };

    const render = () => {
        const r = range();
        if (!r) return;
        if (!state.shown && rewindSeconds > 0) {
            state.shown = true;
            bar.hidden = false;
        }
        if (!state.shown) return;
        const behind = state.behind();
        // Within a couple of seconds of the sync position counts as live (a catch-up at 5 % closes the rest).
        const atLive = behind < 2;
        liveButton.classList.toggle('at-live', atLive);
        liveButton.setAttribute('aria-pressed', atLive ? 'true' : 'false');
        behindLabel.textContent = atLive ? 'Live' : '−' + format(behind);
        if (!dragging) {
            seek.min = String(r.start);
            seek.max = String(r.end);
            seek.value = String(Math.min(Math.max(video.currentTime, r.start), r.end));
        }
    };

    seek.addEventListener('input', () => { dragging = true; });
    seek.addEventListener('change', () => {
        dragging = false;
        video.currentTime = Number(seek.value);
    });
    fromStartButton.addEventListener('click', state.fromStart);
    liveButton.addEventListener('click', state.toLive);
    video.addEventListener('timeupdate', render);
    setInterval(render, 1000);
    return state;
};
