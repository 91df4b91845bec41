// The live room in the browser, shared by the studio and the guest page. Publishing: an offer with every ICE candidate in
// it (no trickle) POSTed as application/sdp, the 201's answer applied. The room view: one subscription per other
// participant (the server asks Janus, which offers; this page answers), each picture in a tile with its name. Values
// from the server go into the page through textContent only.
window.RoomClient = (function () {
    'use strict';

    // Every connection's RTCConfiguration: the ICE servers the server handed this page (TURN with credentials of its own,
    // so a participant behind a firewall that lets no UDP through still reaches the room). configure() sets it.
    let rtcConfig = {};

    /** Sets the ICE servers ({ urls, username, credential } each) for the connections made from now on. */
    function configure(iceServers) {
        rtcConfig = Array.isArray(iceServers) && iceServers.length > 0 ? { iceServers } : {};
    }

    /** How many candidates of each type (host, srflx, relay) an SDP carries: relay ones mean the TURN server took our credentials. */
    function candidateTypes(sdp) {
        const types = { host: 0, srflx: 0, prflx: 0, relay: 0 };
        for (const m of sdp.matchAll(/^a=candidate:.* typ (\w+)/gm)) types[m[1]] = (types[m[1]] || 0) + 1;
        return types;
    }

    function gathered(pc) {
        return new Promise((resolve) => {
            if (pc.iceGatheringState === 'complete') return resolve();
            pc.addEventListener('icegatheringstatechange', () => { if (pc.iceGatheringState === 'complete') resolve(); });
            setTimeout(resolve, 5000); // gather what there is: a host candidate is enough on one network
        });
    }

    // The sentence a refusal gives the user (the dashboard's one reader of problem+json).
    const problem = (response) => window.dashboardApi.problemText(response, false);

    /**
     * Publishes stream's tracks to url (headers: auth); resolves to { pc, location, token, participantId, candidates }: the
     * token (the last part of the Location) is this participant's alone, its bearer for the room; the id is what lists show;
     * candidates counts the offer's ICE candidates by type.
     */
    async function publish(url, stream, headers) {
        const pc = new RTCPeerConnection(rtcConfig);
        for (const track of stream.getTracks()) pc.addTransceiver(track, { direction: 'sendonly', streams: [stream] });
        await pc.setLocalDescription(await pc.createOffer());
        await gathered(pc);
        const response = await fetch(url, {
            method: 'POST', credentials: 'same-origin',
            headers: Object.assign({ 'Content-Type': 'application/sdp' }, headers || {}), body: pc.localDescription.sdp,
        });
        if (response.status !== 201) {
            pc.close();
            const error = new Error(await problem(response));
            error.status = response.status;
            throw error;
        }
        const location = response.headers.get('Location');
        await pc.setRemoteDescription({ type: 'answer', sdp: await response.text() });
        return {
            pc, location, token: location.split('/').pop(), participantId: response.headers.get('X-Participant-Id'),
            candidates: candidateTypes(pc.localDescription.sdp),
        };
    }

    /**
     * Keeps a participant in the room: when the room no longer lists it (Janus restarted), it publishes again with its
     * token (the same id in the lists). A 401 means a host removed it: onRemoved().
     * session = { published, stream }; state.rejoined counts the rejoins.
     */
    function stayIn(slug, session, state, onRemoved) {
        let bad = 0;
        let stopped = false;
        async function check() {
            if (stopped || !session.published) return;
            // Only the server's word counts (a connection may blink on a poor network and recover by itself).
            bad = state.notParticipant ? bad + 1 : 0;
            if (bad >= 2) {
                try {
                    const again = await publish(`/room/${encodeURIComponent(slug)}/participants`, session.stream,
                        { Authorization: 'Bearer ' + session.published.token });
                    session.published.pc.close();
                    session.published = again;
                    state.rejoined = (state.rejoined || 0) + 1;
                    state.notParticipant = false;
                    bad = 0;
                } catch (e) {
                    if (e.status === 401) {
                        stopped = true;
                        return onRemoved();
                    }
                    // Janus still starting, or the network: try again shortly.
                }
            }
            setTimeout(check, 1000);
        }
        setTimeout(check, 1000);
        return { stop() { stopped = true; } };
    }

    /**
     * The "Share screen" button of a page (the studio's, a guest's): toggle() shares a screen as a participant of its own,
     * published to url() with headers(), or stops it. Like a camera the share comes back by itself after Janus restarts:
     * whoever sees the room's list sets share.state.notParticipant when the share is not in it. It also stops when it ends
     * from outside (the browser's own "Stop sharing", a host's removal). state.screenId is the share's public id; the
     * page's own view leaves it out (state.excluded).
     */
    function screenShare(slug, button, state, url, headers, fail) {
        let share = null;
        async function stop() {
            const current = share;
            share = null;
            if (!current) return;
            current.keeper.stop();
            current.stream.getTracks().forEach((t) => t.stop());
            await leave(current.published, headers());
            state.screenId = null;
            button.textContent = 'Share screen';
        }
        async function start() {
            const display = await navigator.mediaDevices.getDisplayMedia({ video: true, audio: false });
            let published;
            try {
                published = await publish(url(), display, headers());
            } catch (e) {
                display.getTracks().forEach((t) => t.stop());
                throw e;
            }
            const ended = () => stop().catch(fail);
            share = { published, stream: display, state: { notParticipant: false } };
            share.keeper = stayIn(slug, share, share.state, ended);
            display.getVideoTracks()[0].addEventListener('ended', ended);
            state.screenId = published.participantId;
            (state.excluded = state.excluded || []).push(state.screenId);
            button.textContent = 'Stop sharing';
        }
        return {
            toggle: () => (share ? stop() : start()).catch(fail),
            stop,
            get share() { return share; },
        };
    }

    /** Leaves: DELETE on the participant's resource, then the connection closes. */
    async function leave(published, headers) {
        if (!published) return;
        try {
            await fetch(published.location, { method: 'DELETE', credentials: 'same-origin', headers: headers || {} });
        } finally {
            published.pc.close();
        }
    }

    /**
     * Shows the other participants of slug's room in container, as the participant holding token. state.remote[id] gets each
     * one's decoded frames and size; state.firstRemoteFrameMs the time of the first remote frame (performance.now()).
     */
    function view(slug, token, container, state, headers) {
        const base = `/room/${encodeURIComponent(slug)}`;
        const auth = Object.assign({ Authorization: 'Bearer ' + token }, headers || {});
        const subscriptions = new Map(); // participant id -> { pc, tile, subscription, name }
        // A participant is listed as its join completes, and Janus may not have its feed yet for a moment (a 428 "No such
        // feed" for a subscription asked in that moment): a failed subscription is asked again at the next poll, and only
        // one that fails three times running is the page's error.
        const failures = new Map(); // participant id -> failed subscriptions in a row
        let stopped = false;
        state.remote = state.remote || {};

        async function subscribe(participant) {
            const response = await fetch(`${base}/subscriptions`, {
                method: 'POST', credentials: 'same-origin', headers: Object.assign({ 'Content-Type': 'application/json' }, auth),
                body: JSON.stringify({ participant: participant.id }),
            });
            if (response.status !== 201) throw new Error(await problem(response));
            const offer = await response.json();
            const pc = new RTCPeerConnection(rtcConfig);
            const tile = document.createElement('div');
            tile.className = 'room-tile';
            tile.dataset.participant = participant.id;
            const video = document.createElement('video');
            video.autoplay = true;
            video.playsInline = true;
            video.muted = state.muteRemote === true;
            const name = document.createElement('span');
            name.className = 'room-tile-name';
            name.textContent = participant.name;
            tile.append(video, name);
            container.append(tile);
            const stream = new MediaStream();
            pc.ontrack = (e) => { stream.addTrack(e.track); video.srcObject = stream; video.play().catch(() => {}); };
            subscriptions.set(participant.id, { pc, tile, id: offer.id, name: participant.name, since: participant.since });
            await pc.setRemoteDescription({ type: 'offer', sdp: offer.sdp });
            await pc.setLocalDescription(await pc.createAnswer());
            await gathered(pc);
            const answered = await fetch(`${base}/subscriptions/${encodeURIComponent(offer.id)}`, {
                method: 'PATCH', credentials: 'same-origin', headers: Object.assign({ 'Content-Type': 'application/sdp' }, auth), body: pc.localDescription.sdp,
            });
            if (answered.status !== 204) throw new Error(await problem(answered));
        }

        function drop(id) {
            const s = subscriptions.get(id);
            if (!s) return;
            subscriptions.delete(id);
            s.pc.close();
            s.tile.remove();
            delete state.remote[id];
            fetch(`${base}/subscriptions/${encodeURIComponent(s.id)}`, { method: 'DELETE', credentials: 'same-origin', headers: auth }).catch(() => {});
        }

        async function poll() {
            if (stopped) return;
            try {
                const response = await fetch(`${base}/participants`, { credentials: 'same-origin', headers: auth });
                if (response.ok) {
                    const list = await response.json();
                    state.inRoom = list.map((p) => p.name);
                    state.listed = list.map((p) => p.id);
                    const ids = new Set(list.map((p) => p.id));
                    for (const id of [...subscriptions.keys()]) if (!ids.has(id)) drop(id);
                    // The same participant joined again (after Janus restarted): its old subscription is dead.
                    for (const p of list) if (subscriptions.has(p.id) && subscriptions.get(p.id).since !== p.since) drop(p.id);
                    // The page's own screen share, once it knows the share's id, is not watched (one asked before it knew goes).
                    for (const id of [...subscriptions.keys()]) if (state.excluded?.includes(id)) drop(id);
                    for (const p of list) {
                        if (p.self || subscriptions.has(p.id) || state.excluded?.includes(p.id)) continue;
                        subscribe(p).then(() => failures.delete(p.id), (e) => {
                            drop(p.id);
                            const failed = (failures.get(p.id) || 0) + 1;
                            failures.set(p.id, failed);
                            if (failed >= 3) state.error = String(e.message || e);
                        });
                    }
                    for (const id of [...failures.keys()]) if (!ids.has(id)) failures.delete(id);
                    state.notParticipant = false;
                } else if (response.status === 403) {
                    state.notParticipant = true; // removed by a host, or out while Janus restarts (stayIn tells which)
                }
                // A subscription whose connection died (Janus restarted, its publisher left) is made again next time.
                for (const [id, s] of [...subscriptions]) if (['failed', 'closed'].includes(s.pc.connectionState)) drop(id);
                for (const [id, s] of subscriptions) {
                    const stats = await s.pc.getStats();
                    stats.forEach((r) => {
                        if (r.type !== 'inbound-rtp' || r.kind !== 'video') return;
                        state.remote[id] = { name: s.name, framesDecoded: r.framesDecoded || 0, width: r.frameWidth || 0, height: r.frameHeight || 0 };
                        if ((r.framesDecoded || 0) > 0 && state.firstRemoteFrameMs == null) state.firstRemoteFrameMs = performance.now();
                    });
                }
            } catch (e) {
                state.error = String(e.message || e);
            }
            if (!stopped) setTimeout(poll, 1000);
        }
        poll();

        return {
            stop() {
                stopped = true;
                for (const id of [...subscriptions.keys()]) drop(id);
            },
        };
    }

    /** Fills camera and microphone pickers from the devices the page may use. */
    async function listDevices(cameraSelect, microphoneSelect) {
        const devices = await navigator.mediaDevices.enumerateDevices();
        for (const [select, kind] of [[cameraSelect, 'videoinput'], [microphoneSelect, 'audioinput']]) {
            if (!select) continue;
            select.textContent = '';
            devices.filter((d) => d.kind === kind).forEach((d, i) => {
                const option = document.createElement('option');
                option.value = d.deviceId;
                option.textContent = d.label || `${kind === 'videoinput' ? 'Camera' : 'Microphone'} ${i + 1}`;
                select.append(option);
            });
        }
    }

    /** The camera and microphone chosen in the pickers (or the defaults). */
    function capture(cameraSelect, microphoneSelect) {
        const video = cameraSelect && cameraSelect.value ? { deviceId: { exact: cameraSelect.value } } : true;
        const audio = microphoneSelect && microphoneSelect.value ? { deviceId: { exact: microphoneSelect.value } } : true;
        return navigator.mediaDevices.getUserMedia({ video, audio });
    }

    return { configure, publish, leave, view, stayIn, screenShare, listDevices, capture };
})();
