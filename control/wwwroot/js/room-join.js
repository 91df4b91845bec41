// The guest's green room: preview, name, "Ask to join" (a knock, with the link's invite or none), waiting for a host's
// answer, then publishing with the host's one-use grant and seeing the others; once in, the guest may share a screen (a
// participant of its own, which leaves with the guest). window.__guest is what the page knows
// (the tests read it). Values from the server go into the page through textContent only.
(function () {
    'use strict';
    const page = document.getElementById('room-join');
    if (!page) return;
    const slug = page.dataset.slug;
    const base = `/room/${encodeURIComponent(slug)}`;
    const invite = new URLSearchParams(location.search).get('invite');
    // A private channel's room takes a knock with the channel's viewing token (from a token link), or with an invite.
    const token = new URLSearchParams(location.search).get('token');
    const $ = (id) => document.getElementById(id);
    const state = window.__guest = { state: 'preview', participantId: null, remote: {}, error: null };
    let stream = null;
    const session = { published: null, stream: null };
    let roomView = null;
    let keeper = null;
    // The guest's screen share: a participant of its own, published with the guest's participant token.
    const sharing = RoomClient.screenShare(slug, $('join-share'), state, () => `${base}/participants?screen=1`,
        () => ({ Authorization: 'Bearer ' + session.published.token }), fail);

    function say(text, step) {
        state.state = step;
        $('join-state').textContent = text;
    }

    function fail(e) {
        state.error = String(e.message || e);
        $('join-error').textContent = state.error;
    }

    async function preview() {
        if (stream) stream.getTracks().forEach((t) => t.stop());
        stream = await RoomClient.capture($('join-camera'), $('join-microphone'));
        $('join-preview').srcObject = stream;
    }

    async function ask(event) {
        event.preventDefault();
        $('join-error').textContent = '';
        $('join-ask').disabled = true;
        try {
            const response = await fetch(`${base}/knocks`, {
                method: 'POST', headers: Object.assign({ 'Content-Type': 'application/json' }, token ? { Authorization: 'Bearer ' + token } : {}),
                body: JSON.stringify({ name: $('join-name').value, invite }),
            });
            if (response.status !== 201) throw new Error(await window.dashboardApi.problemText(response, false));
            const knock = await response.json();
            say('Waiting for a host to let you in…', 'waiting');
            wait(knock);
        } catch (e) {
            $('join-ask').disabled = false;
            fail(e);
        }
    }

    async function wait(knock) {
        try {
            const response = await fetch(`${base}/knocks/${encodeURIComponent(knock.id)}`, { headers: { Authorization: 'Bearer ' + knock.secret } });
            if (!response.ok) throw new Error(await window.dashboardApi.problemText(response, false));
            const status = await response.json();
            if (status.state === 'admitted') {
                // TURN credentials come with the admission: the guest's connections are configured before the first one.
                state.iceServers = status.iceServers || [];
                RoomClient.configure(state.iceServers);
                return enter(status.grant);
            }
            if (status.state === 'refused') return say('A host did not let you in.', 'refused');
            if (status.state === 'expired') return say('Nobody let you in in time. Reload the page to ask again.', 'expired');
        } catch (e) {
            fail(e);
        }
        setTimeout(() => wait(knock), 1000);
    }

    async function enter(grant) {
        try {
            state.admittedAtMs = performance.now();
            session.published = await RoomClient.publish(`${base}/participants`, stream, { Authorization: 'Bearer ' + grant });
            session.stream = stream;
            state.participantId = session.published.participantId;
            state.candidates = session.published.candidates;
            say('You are in the room.', 'joined');
            roomView = RoomClient.view(slug, session.published.token, $('room-tiles'), state);
            keeper = RoomClient.stayIn(slug, session, state, removed);
            $('join-ask').hidden = true;
            $('join-leave').hidden = false;
            $('join-share').hidden = false;
        } catch (e) {
            fail(e);
        }
    }

    // The share rejoins by itself after Janus restarts once the room's list (seen through the guest's view) lacks it.
    setInterval(() => {
        const share = sharing.share;
        if (share && state.listed) share.state.notParticipant = !state.listed.includes(state.screenId);
        if (share) state.screenRejoined = share.state.rejoined || 0;
    }, 1000);

    function removed() {
        // The server took the guest's share out with the guest.
        sharing.stop().catch(() => {});
        if (roomView) roomView.stop();
        session.published?.pc.close();
        session.published = null;
        say('A host removed you from the room.', 'removed');
        $('join-leave').hidden = true;
        $('join-share').hidden = true;
    }

    async function leave() {
        if (keeper) keeper.stop();
        if (roomView) roomView.stop();
        await sharing.stop();
        await RoomClient.leave(session.published);
        session.published = null;
        say('You left the room.', 'left');
        $('join-leave').hidden = true;
        $('join-share').hidden = true;
    }

    $('join-form').addEventListener('submit', ask);
    $('join-leave').addEventListener('click', () => leave().catch(fail));
    $('join-share').addEventListener('click', () => sharing.toggle());
    $('join-camera').addEventListener('change', () => preview().catch(fail));
    $('join-microphone').addEventListener('change', () => preview().catch(fail));
    window.addEventListener('pagehide', () => { if (session.published) leave(); });
    (async function start() {
        try {
            await preview();
            await RoomClient.listDevices($('join-camera'), $('join-microphone'));
        } catch (e) {
            fail(new Error('The browser gave no camera or microphone: ' + (e.message || e)));
        }
    })();
})();
