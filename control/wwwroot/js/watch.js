// Public watch page: hls.js player for live and recordings, countdown before an event.
(function () {
    'use strict';
    const root = document.getElementById('watch');
    if (!root) return;
    const mode = root.dataset.mode;

    // Follow the channel: when its state changes (the encoder connects, the broadcast ends, the recording is
    // ready), load the page again in its new form. A recording being watched stays put.
    // A private channel's page opened from a token link polls with the same token (else it reads as "private").
    if (mode !== 'recording') {
        const known = JSON.stringify({ mode, recording: document.getElementById('watch-recording') ? 'yes' : 'no' });
        const token = new URLSearchParams(location.search).get('token');
        const stateUrl = `${location.pathname}?handler=State` + (token ? `&token=${encodeURIComponent(token)}` : '');
        setInterval(async () => {
            try {
                const r = await fetch(stateUrl, { cache: 'no-store' });
                if (!r.ok) return;
                const s = await r.json();
                const now = JSON.stringify({ mode: s.mode, recording: s.recording ? 'yes' : 'no' });
                if (now !== known) location.reload();
            } catch { /* offline for a moment: try again next time */ }
        }, 4000);
    }

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
        return;
    }
    if (mode === 'offline' || mode === 'ended' || mode === 'cancelled' || mode === 'private') return;

    const video = document.getElementById('player');
    const overlay = document.getElementById('watch-overlay');
    const src = root.dataset.src;
    const live = mode === 'live';
    if (window.Hls && Hls.isSupported()) {
        // No liveSyncDuration(Count): set by the page, it would override a low-latency playlist's PART-HOLD-BACK and
        // hold LL viewers three segments (6 s) back. hls.js's own default keeps other channels three segments back.
        // A gentle catch-up (at most 5 % faster, pitch kept) brings a viewer back to the target after a late part.
        const hls = new Hls({ workerPath: '/assets/lib/hls.worker.js', maxLiveSyncPlaybackRate: 1.05 });
        hls.on(Hls.Events.ERROR, (_, data) => {
            if (!data.fatal) return;
            if (data.type === Hls.ErrorTypes.MEDIA_ERROR) { hls.recoverMediaError(); return; }
            overlay.textContent = live ? 'The broadcast was interrupted. Reconnecting…' : 'This recording cannot be played.';
            overlay.hidden = false;
            if (live) setTimeout(() => location.reload(), 8000);
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
