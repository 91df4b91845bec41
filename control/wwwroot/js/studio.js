// The studio: the host joins the channel's live room with camera and microphone (pickers, preview, mute, leave) and
// can share a screen; sees the others; makes invite links; admits, refuses or bans guests from the green room; mutes,
// removes or bans participants. Admin API with the cookie session + antiforgery header. window.__studio is what the
// page knows (the tests read it). Values from the API go into the page through textContent only.
(function () {
    'use strict';
    const page = document.getElementById('studio');
    if (!page) return;
    const slug = page.dataset.slug;
    const api = `/api/rooms/${encodeURIComponent(slug)}`;
    const csrf = window.dashboardApi.writeHeaders();
    const $ = (id) => document.getElementById(id);
    const error = $('studio-error');
    const state = window.__studio = { participantId: null, remote: {}, knocks: [], participants: [], error: null, inviteUrl: null, muteRemote: false };
    let stream = null;
    const session = { published: null, stream: null };
    // The screen share, a participant of its own (studio's API, the host's cookie and antiforgery header).
    const sharing = RoomClient.screenShare(slug, $('studio-share'), state, () => `${api}/participants?screen=1&name=${encodeURIComponent('Screen')}`,
        () => csrf, fail);
    let roomView = null;
    let keeper = null;

    function fail(e) {
        state.error = String(e.message || e);
        error.textContent = state.error;
    }

    // The dashboard's one request (session cookie, antiforgery header, JSON); a refusal becomes the error shown.
    async function send(method, path, body) {
        error.textContent = '';
        const response = await window.dashboardApi.send(method, api + path, body);
        if (!response.ok) throw new Error(await window.dashboardApi.problemText(response, false));
        return response.status === 204 ? null : response.json();
    }

    async function preview() {
        if (stream) stream.getTracks().forEach((t) => t.stop());
        stream = await RoomClient.capture($('studio-camera'), $('studio-microphone'));
        $('studio-preview').srcObject = stream;
        session.stream = stream;
        if (session.published) {
            // Switching devices on air: the new tracks replace the old ones on the same connection.
            for (const sender of session.published.pc.getSenders()) {
                const next = stream.getTracks().find((t) => t.kind === sender.track?.kind);
                if (next) await sender.replaceTrack(next);
            }
        }
    }

    async function join() {
        try {
            // TURN credentials of this host's own, before the first connection is made.
            const ice = await fetch(`${api}/ice-servers`, { credentials: 'same-origin', headers: { Accept: 'application/json' } });
            if (!ice.ok) throw new Error(await window.dashboardApi.problemText(ice, false));
            state.iceServers = (await ice.json()).iceServers;
            RoomClient.configure(state.iceServers);
            session.published = await RoomClient.publish(`${api}/participants`, stream, csrf);
            state.participantId = session.published.participantId;
            state.candidates = session.published.candidates;
            state.joinedAtMs = performance.now();
            roomView = RoomClient.view(slug, session.published.token, $('room-tiles'), state, csrf);
            keeper = RoomClient.stayIn(slug, session, state, () => leave().catch(fail));
            $('studio-badge').textContent = 'In the room';
            $('studio-badge').className = 'badge badge-live';
            $('studio-join').hidden = true;
            for (const id of ['studio-mute-audio', 'studio-mute-video', 'studio-share', 'studio-leave']) $(id).hidden = false;
        } catch (e) {
            fail(e);
        }
    }

    async function leave() {
        if (keeper) keeper.stop();
        if (roomView) roomView.stop();
        await sharing.stop();
        await RoomClient.leave(session.published, csrf);
        session.published = null;
        state.participantId = null;
        $('studio-badge').textContent = 'Not in the room';
        $('studio-badge').className = 'badge badge-off';
        $('studio-join').hidden = false;
        for (const id of ['studio-mute-audio', 'studio-mute-video', 'studio-share', 'studio-leave']) $(id).hidden = true;
    }

    function toggle(kind, button, onText, offText) {
        const track = stream.getTracks().find((t) => t.kind === kind);
        if (!track) return;
        track.enabled = !track.enabled;
        button.textContent = track.enabled ? onText : offText;
    }

    function button(text, className, onClick) {
        const b = document.createElement('button');
        b.type = 'button';
        b.className = 'btn btn-sm ' + (className || '');
        b.textContent = text;
        b.addEventListener('click', () => onClick().catch(fail));
        return b;
    }

    function render(room) {
        const knocks = $('studio-knocks');
        knocks.textContent = '';
        const waiting = room.knocks.filter((k) => k.state === 'waiting');
        state.knocks = waiting;
        $('studio-knocks-empty').hidden = waiting.length > 0;
        for (const k of waiting) {
            const li = document.createElement('li');
            li.dataset.knock = k.id;
            const name = document.createElement('span');
            name.className = 'grow';
            name.textContent = k.name + (k.invited ? ' (invited)' : ' (asked to join)');
            li.append(name,
                button('Admit', 'btn-primary studio-admit', () => send('POST', `/knocks/${encodeURIComponent(k.id)}/admit`)),
                button('Refuse', 'studio-refuse', () => send('POST', `/knocks/${encodeURIComponent(k.id)}/refuse`)),
                button('Ban', 'btn-danger studio-ban', () => send('POST', `/knocks/${encodeURIComponent(k.id)}/refuse?ban=true`)));
            knocks.append(li);
        }

        const list = $('studio-participants');
        list.textContent = '';
        state.participants = room.participants.map((p) => ({ id: p.id, name: p.display, muted: p.muted, source: p.source }));
        if (sharing.share) {
            sharing.share.state.notParticipant = !room.participants.some((p) => p.id === state.screenId);
            state.screenRejoined = sharing.share.state.rejoined || 0;
        }
        for (const p of room.participants) {
            const li = document.createElement('li');
            li.dataset.participant = p.id;
            const name = document.createElement('span');
            name.className = 'grow';
            name.textContent = `${p.display} · ${p.source}${p.isScreen ? ' · screen' : ''}${p.muted ? ' · muted' : ''}`;
            li.append(name);
            li.append(button('Full frame', 'studio-solo', () => layout('single', [p.id])));
            if (p.id !== state.participantId && p.id !== state.screenId) {
                li.append(
                    button(p.muted ? 'Unmute' : 'Mute', 'studio-mute', () => send('POST', `/participants/${encodeURIComponent(p.id)}/mute`, { muted: !p.muted })),
                    button('Remove', 'studio-remove', () => send('DELETE', `/participants/${encodeURIComponent(p.id)}`)),
                    button('Ban', 'btn-danger studio-ban-participant', () => send('DELETE', `/participants/${encodeURIComponent(p.id)}?ban=true`)));
            }
            list.append(li);
        }
    }

    async function layout(kind, participants) {
        await send('PUT', '/layout', { kind, participants });
        state.layout = kind;
    }

    async function poll() {
        try {
            const response = await fetch(api, { credentials: 'same-origin', headers: { Accept: 'application/json' } });
            if (response.ok) render(await response.json());
        } catch (e) {
            // the next poll tries again
        }
        setTimeout(poll, 1000);
    }

    for (const b of document.querySelectorAll('#studio-layouts button')) {
        b.addEventListener('click', () => layout(b.dataset.layout,
            b.dataset.layout === 'grid' ? state.participants.slice(0, 4).map((p) => p.id) : []).catch(fail));
    }
    $('studio-join').addEventListener('click', join);
    $('studio-leave').addEventListener('click', () => leave().catch(fail));
    $('studio-mute-audio').addEventListener('click', () => toggle('audio', $('studio-mute-audio'), 'Mute microphone', 'Unmute microphone'));
    $('studio-mute-video').addEventListener('click', () => toggle('video', $('studio-mute-video'), 'Stop camera', 'Start camera'));
    $('studio-share').addEventListener('click', () => sharing.toggle());
    $('studio-camera').addEventListener('change', () => preview().catch(fail));
    $('studio-microphone').addEventListener('change', () => preview().catch(fail));
    $('studio-invite').addEventListener('click', async () => {
        try {
            const invite = await send('POST', '/invites');
            const url = new URL(invite.url, location.origin).toString();
            state.inviteUrl = url;
            $('studio-invite-url').value = url;
            $('studio-invite-url').hidden = false;
            $('studio-invite-url').select();
        } catch (e) {
            fail(e);
        }
    });
    window.addEventListener('pagehide', () => { if (session.published) leave(); });

    (async function start() {
        try {
            await preview();
            await RoomClient.listDevices($('studio-camera'), $('studio-microphone'));
        } catch (e) {
            fail(new Error('The browser gave no camera or microphone: ' + (e.message || e)));
        }
        poll();
    })();
})();
