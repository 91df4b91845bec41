// Public watch page: hls.js player for live and recordings, countdown before an event.
(function () {
    'use strict';
    const root = document.getElementById('watch');
    if (!root) return;
    const mode = root.dataset.mode;

    if (mode === 'countdown') {
        const starts = Date.parse(root.dataset.starts);
        const el = document.getElementById('countdown');
        const pad = (n) => String(n).padStart(2, '0');
        const tick = () => {
            const ms = starts - Date.now();
            if (ms <= 0) {
                el.textContent = 'Starting…';
                return;
            }
            const s = Math.floor(ms / 1000), d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60);
            el.textContent = (d > 0 ? `${d}d ` : '') + `${pad(h)}:${pad(m)}:${pad(s % 60)}`;
        };
        tick();
        setInterval(tick, 1000);
        // Once the window opens, look again every 10 s: the page turns into the player when the encoder connects.
        setInterval(() => { if (Date.now() >= starts) location.reload(); }, 10000);
        return;
    }
    if (mode === 'offline' || mode === 'ended' || mode === 'cancelled') {
        if (mode === 'offline') setInterval(() => location.reload(), 30000);
        return;
    }

    const video = document.getElementById('player');
    const overlay = document.getElementById('watch-overlay');
    const src = root.dataset.src;
    const live = mode === 'live';
    if (window.Hls && Hls.isSupported()) {
        const hls = new Hls({ workerPath: '/assets/lib/hls.worker.js', liveSyncDurationCount: 3 });
        hls.on(Hls.Events.ERROR, (_, data) => {
            if (!data.fatal) return;
            if (data.type === Hls.ErrorTypes.MEDIA_ERROR) { hls.recoverMediaError(); return; }
            overlay.textContent = live ? 'The broadcast was interrupted. Reconnecting…' : 'This recording cannot be played.';
            overlay.hidden = false;
            if (live) setTimeout(() => location.reload(), 5000);
        });
        hls.loadSource(src);
        hls.attachMedia(video);
        hls.on(Hls.Events.MANIFEST_PARSED, () => video.play().catch(() => {}));
        window.__watch = { hls, video };
    } else {
        video.src = src; // Safari plays HLS natively.
    }
    if (live) {
        video.addEventListener('ended', () => { overlay.textContent = 'The broadcast has ended.'; overlay.hidden = false; });
    }
})();
