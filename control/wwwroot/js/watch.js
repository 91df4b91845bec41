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
            // ?from=start (a link to the beginning of a broadcast whose channel has a rewind window): hls.js starts at the
            // first segment the playlist lists instead of at its live sync position.
            // cmcd: the player reports its buffer, stalls, bitrate and throughput with each request (CTA-5004, as a CMCD
            // query argument: no CORS preflight, and the edge's cache key leaves query arguments out), which the channel
            // page shows as the players' own view of the broadcast.
            // emeEnabled: a protected channel's playlists name their key for W3C ClearKey (EXT-X-KEY, docs/protection.md);
            // hls.js then asks the channel's license endpoint (same origin: a private channel's playback cookie goes with
            // it), each key session for the key its EXT-X-KEY names (clearkey-hls.js). A clear broadcast names no key and
            // the key system is never touched.
            const fromStart = live && params.get('from') === 'start' && Number(root.dataset.rewind) > 0;
            // playlistLoadPolicy: a paused encoder stalls the viewer instead of ending the session (hls-load-policy.js).
            const hls = new Hls({ workerPath: '/assets/lib/hls.worker.js', maxLiveSyncPlaybackRate: 1.05, liveSyncOnStallIncrease: 0.25,
                startPosition: fromStart ? 0 : -1, cmcd: {}, playlistLoadPolicy: window.broadcastHlsPlaylistLoadPolicy(),
                emeEnabled: true, drmSystems: window.broadcastClearKeyHls(root.dataset.license) });
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
            // A viewer who asked for the start is where they want to be, however far behind live that is.
            if (returns && fromStart) returns.viewerBehind = true;
            // Start-over and rewind: a seek bar, "From the start" and "Live", once the playlist reaches back (rewind.js).
            const rewindBar = document.getElementById('watch-rewind');
            const rewind = live && rewindBar && window.broadcastRewind
                ? window.broadcastRewind(hls, video, rewindBar, Number(root.dataset.rewind) || 0) : null;
            // hls.js starts its video at the start but may start the separate audio rendition at the live edge, and then
            // plays from where both are buffered (the live edge): once playing, a start that did not hold is sought again.
            if (fromStart && rewind) {
                video.addEventListener('playing', () => { if (rewind.fromStartSeconds() > 5) rewind.fromStart(); }, { once: true });
            }
            window.__watch = { mode: 'hls', why: why || null, hls, video, returns, rewind };
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
        let turn = null;
        let restarts = 0;
        let ended = false;
        // An ICE restart over WHEP (RFC 9725 §4.3.2): new ICE credentials and the candidates gathered with the TURN servers
        // now set go out in a PATCH; the answer's credentials and candidates replace the old ones, and its Link headers
        // bring the next TURN credential. The media keeps its old path until the new one is checked.
        // True once the restart went through; false when it could not be made now (refused, or another under way).
        const restart = async () => {
            if (!resource || pc.signalingState !== 'stable') return false;
            pc.restartIce();
            await pc.setLocalDescription(await pc.createOffer());
            await gathered(pc, true);
            const lines = pc.localDescription.sdp.split('\r\n');
            const first = lines.findIndex((l) => l.startsWith('m='));
            const next = lines.findIndex((l, i) => i > first && l.startsWith('m='));
            const section = lines.slice(first, next < 0 ? lines.length : next);
            const fragment = [lines.find((l) => l.startsWith('a=ice-ufrag:')), lines.find((l) => l.startsWith('a=ice-pwd:')), section[0],
                section.find((l) => l.startsWith('a=mid:')), ...section.filter((l) => l.startsWith('a=candidate:')), 'a=end-of-candidates', '']
                .filter((l) => l !== undefined).join('\r\n');
            const response = await fetch(resource, { method: 'PATCH', headers: { 'Content-Type': 'application/trickle-ice-sdpfrag', 'If-Match': '*' }, body: fragment });
            if (response.status !== 200) {
                await pc.setLocalDescription({ type: 'rollback' });
                // 404: the server ended the session (its broadcast, its token, its node): nothing left to restart.
                if (response.status === 404) ended = true;
                return false;
            }
            const answer = (await response.text()).split('\r\n');
            const value = (name) => answer.find((l) => l.startsWith(name));
            const mid = (value('a=mid:') || 'a=mid:0').slice('a=mid:'.length);
            const remote = pc.remoteDescription.sdp.split('\r\n').filter((l) => !l.startsWith('a=candidate:') && l !== 'a=end-of-candidates')
                .map((l) => (l.startsWith('a=ice-ufrag:') ? value('a=ice-ufrag:') : l.startsWith('a=ice-pwd:') ? value('a=ice-pwd:') : l)).join('\r\n');
            await pc.setRemoteDescription({ type: 'answer', sdp: remote });
            for (const line of answer.filter((l) => l.startsWith('a=candidate:'))) await pc.addIceCandidate({ candidate: line.slice(2), sdpMid: mid });
            turn = turnOf(response) || turn;
            if (turn) pc.setConfiguration({ iceServers: turn.servers });
            restarts++;
            if (window.__watch && window.__watch.pc === pc) window.__watch.restarts = restarts;
            return true;
        };
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
            await gathered(pc);
            const headers = { 'Content-Type': 'application/sdp' };
            const token = params.get('token');
            if (token) headers.Authorization = `Bearer ${token}`;
            const response = await fetch(`/live/${encodeURIComponent(root.dataset.slug)}/whep`, { method: 'POST', headers, body: pc.localDescription.sdp });
            if (response.status === 503) throw fail('the real-time audience is full');
            if (response.status !== 201) throw fail('real-time playback is unavailable');
            resource = response.headers.get('Location');
            await pc.setRemoteDescription({ type: 'answer', sdp: await response.text() });
            turn = turnOf(response);
            if (turn) {
                // The offer went out before the TURN servers were known: a network that lets no UDP through to the media
                // server connects through them after an ICE restart, made if the first connection has not come quickly.
                pc.setConfiguration({ iceServers: turn.servers });
                setTimeout(() => { if (pc.connectionState !== 'connected') restart().catch(() => {}); }, 2500);
            }
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
        window.__watch = { mode: 'webrtc', video, pc, restarts };
        // A viewer's TURN credential lasts minutes: it is renewed by an ICE restart, whose answer brings the next one,
        // at a third of its life (so the relay in use was always made with one still valid).
        // A renewal that did not go through (refused, or the first restart still under way) is tried again 3 s later, well
        // before the credential in use expires, not a third of a lifetime later; after 10 such tries in a row the page waits
        // for the next regular renewal, so a server that keeps refusing is not asked every 3 s for as long as the page is open.
        const renewEvery = () => Math.max(10000, turn.lifetimeMs / 3);
        let refusedInARow = 0;
        const renew = (delay) => {
            if (!turn || pc.signalingState === 'closed') return;
            setTimeout(() => restart().catch(() => false).then((done) => {
                if (!done && window.__watch && window.__watch.pc === pc) window.__watch.renewalsRetried = (window.__watch.renewalsRetried || 0) + 1;
                refusedInARow = done ? 0 : refusedInARow + 1;
                renew(done || refusedInARow % 10 === 0 ? renewEvery() : 3000);
            }), delay);
        };
        if (turn) renew(renewEvery());
        window.addEventListener('pagehide', end);
        // A connection lost while playing ('disconnected': no answer to consent checks for a few seconds; 'failed') is
        // first restarted: an ICE restart checks every path afresh with new credentials (RFC 8445 §2.4, RFC 9725 §4.3.2),
        // which brings back a path that a moment's overload, a changed network or the media server's side of an earlier
        // restart lost. LL-HLS takes over when the connection has not come back within 8 s, or at once when the server
        // answers the restart with 404 (it ended the session).
        let lost = null;
        let handedOver = false;
        const handOver = () => {
            // Once: the 8 s timer and a restart answered 404 may both come.
            if (handedOver) return;
            handedOver = true;
            clearTimeout(lost);
            end();
            video.srcObject = null;
            playHls('the real-time connection was lost');
        };
        const recover = (tries) => {
            if (pc.connectionState === 'connected' || pc.signalingState === 'closed') return;
            restart().catch(() => false).then((done) => {
                if (done && window.__watch && window.__watch.pc === pc) window.__watch.recoveries = (window.__watch.recoveries || 0) + 1;
                if (!done && ended) return handOver();
                // Not made now (a renewal under way, or one made less than a second ago): once more a little later.
                if (!done && tries > 1) setTimeout(() => recover(tries - 1), 1500);
            });
        };
        pc.addEventListener('connectionstatechange', () => {
            if (pc.connectionState === 'connected') {
                clearTimeout(lost);
                lost = null;
                return;
            }
            if ((pc.connectionState !== 'disconnected' && pc.connectionState !== 'failed') || lost) return;
            lost = setTimeout(() => { if (pc.connectionState !== 'connected') handOver(); }, 8000);
            recover(3);
        });
    }

    // Until the ICE candidates are gathered (at most 2 s: a host candidate is enough where UDP reaches the media server).
    // Right after restartIce() and the new offer the state still reads 'complete', from the last generation, and the offer
    // holds no candidate (the new gathering starts in a later task): a restart waits for a candidate of its own, or its
    // PATCH would carry none and the server could only learn the viewer's address from the viewer's own checks.
    function gathered(pc, restarting = false) {
        const done = () => pc.iceGatheringState === 'complete' && (!restarting || pc.localDescription.sdp.includes('\r\na=candidate:'));
        return new Promise((resolve) => {
            if (done()) return resolve();
            pc.addEventListener('icegatheringstatechange', () => { if (done()) resolve(); });
            setTimeout(resolve, 2000);
        });
    }

    // The TURN servers of a WHEP answer's Link headers (RFC 9725 §4.6) and how long their credential lasts: its username
    // is "<expiry in Unix seconds>:<id>" (the TURN REST convention), read against the response's Date, not this clock.
    function turnOf(response) {
        const servers = [];
        for (const link of (response.headers.get('Link') || '').split(/,\s*(?=<)/)) {
            const url = /^<([^>]*)>/.exec(link.trim());
            const username = /username="([^"]*)"/.exec(link);
            const credential = /credential="([^"]*)"/.exec(link);
            if (url && username && /rel="ice-server"/.test(link)) servers.push({ urls: url[1], username: username[1], credential: credential ? credential[1] : '' });
        }
        if (servers.length === 0) return null;
        const expiry = Number(servers[0].username.split(':')[0]) * 1000;
        const now = Date.parse(response.headers.get('Date') || '') || Date.now();
        return { servers, lifetimeMs: Number.isFinite(expiry) && expiry > now ? expiry - now : 600000 };
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
