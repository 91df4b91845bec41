// Public watch page: hls.js player for live and recordings (WebRTC over WHEP with ?realtime=1), countdown before an event.
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
    const playbackMode = document.getElementById('watch-playback-mode');
    const src = root.dataset.src;
    const live = mode === 'live';
    const params = new URLSearchParams(location.search);
    const showMode = (text) => { if (playbackMode) { playbackMode.textContent = text; playbackMode.hidden = false; } };

    function playHls(why) {
        if (live) showMode(why ? `LL-HLS · ${why}` : 'LL-HLS');
        if (window.Hls && Hls.isSupported()) {
            // No liveSyncDuration(Count): set by the page, it would override a low-latency playlist's PART-HOLD-BACK and
            // hold LL viewers three segments (6 s) back. hls.js's own default keeps other channels three segments back.
            // A gentle catch-up (at most 5 % faster, pitch kept) brings a viewer back to the target after a late part.
            // Each stall moves hls.js's target back for the rest of the session, a stall before the first frame included
            // (a busy start): by 1 s by default, which left one loaded session at 2.05 s instead of 1.23 s. A quarter
            // second per stall still backs off from a viewer whose parts keep coming late (at most a segment, as ever).
            const hls = new Hls({ workerPath: '/assets/lib/hls.worker.js', maxLiveSyncPlaybackRate: 1.05, liveSyncOnStallIncrease: 0.25 });
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
            // A viewer left far behind by a slow start or a long stall is brought back (return-to-live.js).
            const returns = live && window.broadcastReturnToLive ? window.broadcastReturnToLive(hls, video) : null;
            window.__watch = { mode: 'hls', why: why || null, hls, video, returns };
        } else {
            video.src = src; // Safari plays HLS natively.
            window.__watch = { mode: 'hls', why: why || null, video };
        }
    }

    // Real time (a channel marked real-time, or ?realtime=1; ?realtime=0 asks for HLS): WebRTC through the channel's WHEP endpoint. When this node's real-time audience is full
    // (503) or WebRTC fails (no answer, no connection, no picture within a few seconds), the page plays LL-HLS instead
    // and says so. A private channel's token goes to WHEP as a bearer token.
    async function playWhep() {
        const pc = new RTCPeerConnection();
        let resource = null;
        const fail = (why) => { const e = new Error(why); e.whep = true; return e; };
        const end = () => {
            pc.close();
            if (resource) fetch(resource, { method: 'DELETE', keepalive: true }).catch(() => {});
        };
        try {
            pc.addTransceiver('video', { direction: 'recvonly' });
            pc.addTransceiver('audio', { direction: 'recvonly' });
            const stream = new MediaStream();
            pc.ontrack = (e) => { stream.addTrack(e.track); video.srcObject = stream; video.play().catch(() => {}); };
            await pc.setLocalDescription(await pc.createOffer());
            await new Promise((resolve) => {
                if (pc.iceGatheringState === 'complete') return resolve();
                pc.addEventListener('icegatheringstatechange', () => { if (pc.iceGatheringState === 'complete') resolve(); });
                setTimeout(resolve, 2000);
            });
            const headers = { 'Content-Type': 'application/sdp' };
            const token = params.get('token');
            if (token) headers.Authorization = `Bearer ${token}`;
            const response = await fetch(`/live/${encodeURIComponent(root.dataset.slug)}/whep`, { method: 'POST', headers, body: pc.localDescription.sdp });
            if (response.status === 503) throw fail('the real-time audience is full');
            if (response.status !== 201) throw fail('real-time playback is unavailable');
            resource = response.headers.get('Location');
            await pc.setRemoteDescription({ type: 'answer', sdp: await response.text() });
            // The first picture must come within a few seconds (a keyframe, at most one GOP away).
            await new Promise((resolve, reject) => {
                const timer = setTimeout(() => reject(fail('no real-time picture')), 8000);
                video.addEventListener('loadeddata', () => { clearTimeout(timer); resolve(); }, { once: true });
                pc.addEventListener('connectionstatechange', () => {
                    if (pc.connectionState === 'failed') { clearTimeout(timer); reject(fail('WebRTC could not connect')); }
                });
            });
        } catch (e) {
            end();
            video.srcObject = null;
            throw e;
        }
        showMode('Real-time');
        window.__watch = { mode: 'webrtc', video, pc };
        window.addEventListener('pagehide', end);
        // A connection lost while playing: LL-HLS carries on.
        pc.addEventListener('connectionstatechange', () => {
            if (pc.connectionState !== 'failed' && pc.connectionState !== 'disconnected') return;
            end();
            video.srcObject = null;
            playHls('the real-time connection was lost');
        });
    }

    const realtime = params.get('realtime') === '1' || (root.dataset.realtime === 'true' && params.get('realtime') !== '0');
    if (live && realtime && window.RTCPeerConnection) {
        playWhep().catch((e) => playHls(e && e.whep ? e.message : 'real-time playback failed'));
    } else {
        playHls();
    }
    if (live) {
        video.addEventListener('ended', () => { overlay.textContent = 'The broadcast has ended.'; overlay.hidden = false; });
    }
})();
