// Channel page, restream section: list, add, enable/disable, switch multitrack and remove destinations through the
// admin API (cookie session + antiforgery header), with their state refreshed every few seconds. Values from the API go
// into the page through textContent only.
(function () {
    'use strict';
    const section = document.getElementById('destinations');
    if (!section) return;
    const api = section.dataset.api;
    const { el, send: request, problemText } = window.dashboardApi;
    const $ = (id) => document.getElementById(id);
    const table = $('destination-table');
    const body = table.querySelector('tbody');
    const empty = $('destination-empty');
    const error = $('destination-error');

    function bytes(n) {
        if (!n) return '0 B';
        const units = ['B', 'KB', 'MB', 'GB', 'TB'];
        let i = 0;
        while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
        return (i === 0 ? n : n.toFixed(1)) + ' ' + units[i];
    }

    // What a multitrack destination is sent beside the default tracks: the encoder's rungs and other languages.
    function tracks(state) {
        const parts = [];
        if (state.videoTracks) parts.push(`${state.videoTracks} more video`);
        if (state.audioTracks) parts.push(`${state.audioTracks} more audio`);
        return parts.length ? ` (${parts.join(', ')} track${state.videoTracks + state.audioTracks > 1 ? 's' : ''})` : '';
    }

    function describe(state) {
        switch (state.state) {
            case 'retrying': {
                const next = state.nextAttemptAt ? Math.max(0, Math.round((Date.parse(state.nextAttemptAt) - Date.now()) / 1000)) : null;
                return (state.lastError || 'failed') + (next !== null ? ` — retry in ${next} s` : '');
            }
            case 'live':
                return (state.connectedSince ? 'since ' + new Date(state.connectedSince).toLocaleTimeString() : '') + tracks(state);
            default:
                return state.lastError ? 'last error: ' + state.lastError : '';
        }
    }

    // Multitrack sends every track the encoder sent (Enhanced RTMP v2); off, only the default video and audio go.
    function tracksCell(d) {
        const box = el('input');
        box.type = 'checkbox';
        box.checked = d.multitrack;
        box.addEventListener('change', () => send('PATCH', `${api}/${d.id}`, { multitrack: box.checked }));
        const label = el('label', null, 'small');
        label.title = 'Enhanced RTMP multitrack: send every video and audio track the encoder sends';
        label.append(box, ' multitrack');
        const cell = el('td');
        cell.append(label);
        return cell;
    }

    function render(list) {
        body.replaceChildren();
        table.hidden = list.length === 0;
        empty.hidden = list.length > 0;
        for (const d of list) {
            const row = document.createElement('tr');
            row.append(el('td', d.url, 'mono'), el('td', d.streamKey, 'mono'), tracksCell(d));
            const stateCell = el('td');
            stateCell.append(el('span', d.state.state, 'state state-' + d.state.state));
            const detail = describe(d.state);
            if (detail) stateCell.append(' ', el('span', detail, 'muted small'));
            row.append(stateCell, el('td', bytes(d.state.bytesSent), 'num'));
            const actions = el('td', null, 'actions');
            const toggle = el('button', d.enabled ? 'Disable' : 'Enable', 'btn btn-sm');
            toggle.type = 'button';
            toggle.addEventListener('click', () => send('PATCH', `${api}/${d.id}`, { enabled: !d.enabled }));
            const remove = el('button', 'Remove', 'btn btn-ghost btn-sm');
            remove.type = 'button';
            remove.addEventListener('click', () => {
                if (confirm('Remove this destination?')) send('DELETE', `${api}/${d.id}`);
            });
            actions.append(toggle, ' ', remove);
            row.append(actions);
            body.append(row);
        }
    }

    async function load() {
        try {
            const response = await fetch(api, { credentials: 'same-origin', headers: { 'Accept': 'application/json' } });
            if (response.ok) render(await response.json());
        } catch (e) {
            // a missed refresh; the next one catches up
        }
    }

    async function send(method, url, payload) {
        error.textContent = '';
        const response = await request(method, url, payload);
        if (!response.ok) {
            error.textContent = await problemText(response, false);
            return false;
        }
        await load();
        return true;
    }

    $('destination-form').addEventListener('submit', async (event) => {
        event.preventDefault();
        const url = $('destination-url'), key = $('destination-key'), multitrack = $('destination-multitrack');
        if (await send('POST', api, { url: url.value.trim(), streamKey: key.value, enabled: true, multitrack: multitrack.checked })) {
            url.value = '';
            key.value = '';
            multitrack.checked = false;
        }
    });

    load();
    setInterval(load, 3000);
})();
