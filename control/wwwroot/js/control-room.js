// Control room: a channel's program through the admin API (cookie session + antiforgery header). Inputs with their
// previews (a sheet a second from the program's own decoders; the channel thumbnail until the first), presence, fader,
// mute and solo; one-click layouts (PATCH: the inputs stay); the program preview (program-preview.js, loaded before this).
// Values from the API go into the page through textContent only.
(function () {
    'use strict';
    const page = document.getElementById('control-room');
    if (!page) return;
    const api = page.dataset.api;
    const hlsSrc = page.dataset.hls;
    const { el, send: request, problemText } = window.dashboardApi;
    const $ = (id) => document.getElementById(id);
    const error = $('program-error');
    const body = $('input-table').querySelector('tbody');
    const preview = window.programPreview($('program-preview'), $('program-preview-overlay'), hlsSrc);
    let program = null; // the last ProgramResponse, null when the channel has none
    // Counts the changes sent, and how many still wait for their answer. A refresh read while a change was on its way
    // may hold the state from before it: rendering that would put the old layout back on screen until the next refresh.
    let generation = 0, changesInFlight = 0;

    async function send(method, payload) {
        error.textContent = '';
        const mine = ++generation;
        changesInFlight++;
        let response;
        try {
            response = await request(method, api, payload);
        } finally {
            changesInFlight--;
        }
        if (!response.ok) {
            error.textContent = await problemText(response, true);
            return false;
        }
        const next = response.status === 204 ? null : await response.json();
        // A later change's answer is the newer state; this one is already behind it.
        if (mine === generation) render(next);
        return true;
    }

    const tile = (id, extra) => Object.assign({ id }, extra || {});
    const channelInputs = () => (program ? program.inputs.filter(i => !i.image) : []);
    const hasImages = () => !!program && program.inputs.some(i => i.image);

    function layouts() {
        const ids = channelInputs().map(i => i.id);
        const list = ids.map(id => ({ name: 'Single: ' + id, layout: { kind: 'single', inputs: [tile(id, { fit: 'fill' })] } }));
        if (ids.length >= 2) {
            list.push({ name: 'Side by side', layout: { kind: 'side-by-side', inputs: [tile(ids[0], { fit: 'fill' }), tile(ids[1], { fit: 'fill' })] } });
            list.push({ name: 'Picture in picture', layout: { kind: 'pip', inputs: [tile(ids[0]), tile(ids[1])] } });
            list.push({ name: 'Grid', layout: { kind: 'grid', inputs: ids.slice(0, 4).map(id => tile(id, { fit: 'fill' })) } });
        }
        if (ids.length >= 1) list.push({ name: 'Free', layout: freeStart(ids) });
        return list;
    }

    // --- free layout: drag to place ---------------------------------------------------------------
    function canvasSize() {
        const engine = program && program.engine;
        return engine ? { width: engine.width, height: engine.height } : { width: 1280, height: 720 };
    }
    const even = (v) => Math.round(v / 2) * 2;
    // Where "Free" starts: the first input fills the canvas, the others are insets of 30% stacked up the right side.
    function freeStart(ids) {
        const { width, height } = canvasSize();
        const w = even(width * 0.3), h = even(height * 0.3);
        return {
            kind: 'free',
            inputs: ids.map((id, i) => i === 0
                ? { id, fit: 'fill', rect: { x: 0, y: 0, width, height }, z: 0 }
                : { id, fit: 'fill', rect: { x: even(width - w - 32), y: Math.max(0, even(height - (h + 32) * i)), width: w, height: h }, z: i }),
        };
    }
    let dragging = null; // { box, index, mode, startX, startY, rect } while a tile is moved or resized
    function renderFree() {
        const editor = $('free-editor');
        const free = program && program.layout && program.layout.kind === 'free';
        editor.hidden = !free;
        if (!free || dragging) return;
        const stage = $('free-stage');
        const { width, height } = canvasSize();
        const scale = stage.clientWidth / width;
        stage.replaceChildren();
        program.layout.inputs.forEach((t, index) => {
            if (!t.rect) return;
            const box = el('div', null, 'free-tile');
            box.dataset.tile = t.id;
            box.style.zIndex = String(10 + (t.z || 0));
            place(box, t.rect, scale);
            const canvas = el('canvas', null, 'input-preview free-preview');
            canvas.width = 160;
            canvas.height = 90;
            canvas.dataset.input = t.id;
            box.append(canvas, el('span', t.id, 'free-label mono'));
            const handle = el('span', null, 'free-handle');
            box.append(handle);
            box.addEventListener('pointerdown', (event) => {
                event.preventDefault();
                box.setPointerCapture(event.pointerId);
                dragging = { box, index, mode: event.target === handle ? 'resize' : 'move', startX: event.clientX, startY: event.clientY, rect: Object.assign({}, t.rect), scale };
            });
            box.addEventListener('pointermove', (event) => {
                if (!dragging || dragging.box !== box) return;
                place(box, moved(dragging, event), scale);
            });
            // A drag the browser takes away (a touch turned scroll, the window lost): the tile goes back where the program has it.
            box.addEventListener('pointercancel', () => {
                if (!dragging || dragging.box !== box) return;
                dragging = null;
                renderFree();
            });
            box.addEventListener('pointerup', (event) => {
                if (!dragging || dragging.box !== box) return;
                const rect = moved(dragging, event);
                dragging = null;
                const inputs = program.layout.inputs.map((other, i) => (i === index ? Object.assign({}, other, { rect }) : other));
                send('PATCH', { layout: Object.assign({}, program.layout, { inputs }), transition: $('program-transition').value });
            });
            stage.append(box);
        });
        paintPreviews();
    }
    function place(box, rect, scale) {
        box.style.left = (rect.x * scale) + 'px';
        box.style.top = (rect.y * scale) + 'px';
        box.style.width = (rect.width * scale) + 'px';
        box.style.height = (rect.height * scale) + 'px';
    }
    // The rect a drag reached, in canvas pixels: even (4:2:0), at least 32 px, and on the canvas.
    function moved(drag, event) {
        const { width, height } = canvasSize();
        const dx = (event.clientX - drag.startX) / drag.scale, dy = (event.clientY - drag.startY) / drag.scale;
        const r = drag.rect;
        if (drag.mode === 'resize') {
            const w = even(Math.max(32, Math.min(width - r.x, r.width + dx)));
            const h = even(Math.max(32, Math.min(height - r.y, r.height + dy)));
            return { x: r.x, y: r.y, width: w, height: h };
        }
        const x = even(Math.max(0, Math.min(width - r.width, r.x + dx)));
        const y = even(Math.max(0, Math.min(height - r.height, r.y + dy)));
        return { x, y, width: r.width, height: r.height };
    }

    function setAudio(id, change) {
        const audio = Object.assign({}, program.audio);
        audio[id] = Object.assign({}, audio[id] || {}, change);
        return send('PATCH', { audio });
    }

    function describe(layout) {
        return layout ? `${layout.kind}: ${(layout.inputs || []).map(t => t.id).join(', ')}` : '';
    }

    function render(next) {
        program = next;
        const running = !!program && program.running;
        const badge = $('program-badge');
        badge.className = 'badge ' + (running ? 'badge-live' : 'badge-off');
        badge.textContent = running ? 'On air' : program ? 'Stored' : 'Off';
        const engine = program && program.engine;
        $('program-loudness').textContent = engine && engine.integratedLoudness != null ? engine.integratedLoudness.toFixed(1) + ' LUFS' : '–';
        $('program-frames').textContent = engine ? String(engine.framesComposed) : '–';
        $('program-late').textContent = engine ? String(engine.framesLate) : '–';
        $('layout-current').textContent = program ? 'Now: ' + describe(program.layout) : '';
        $('program-stop').hidden = !program;

        const buttons = $('layout-buttons');
        buttons.replaceChildren();
        for (const choice of layouts()) {
            const b = el('button', choice.name, 'btn btn-sm');
            b.type = 'button';
            b.dataset.layout = choice.layout.kind + (choice.layout.kind === 'single' ? ':' + choice.layout.inputs[0].id : '');
            b.addEventListener('click', () => send('PATCH', { layout: choice.layout, transition: $('program-transition').value }));
            buttons.append(b);
        }

        body.replaceChildren();
        $('input-table').hidden = !program;
        $('input-empty').hidden = !!program;
        for (const input of program ? program.inputs : []) {
            const row = document.createElement('tr');
            row.dataset.input = input.id;
            const name = el('td');
            if (input.source) {
                // A pulled source has no channel thumbnail: its canvas waits for the first sheet.
                const canvas = el('canvas', null, 'input-preview');
                canvas.width = 160;
                canvas.height = 90;
                canvas.dataset.input = input.id;
                canvas.setAttribute('aria-label', 'Preview of ' + input.id);
                name.append(canvas, ' ');
            } else if (input.channelSlug) {
                const canvas = el('canvas', null, 'input-preview');
                canvas.width = 160;
                canvas.height = 90;
                canvas.dataset.input = input.id;
                canvas.setAttribute('aria-label', 'Preview of ' + input.id);
                const thumb = el('img', null, 'thumb');
                thumb.alt = '';
                thumb.width = 96;
                thumb.src = `/live/${encodeURIComponent(input.channelSlug)}/thumbnail.jpg?t=${Math.floor(Date.now() / 2000)}`;
                thumb.addEventListener('error', () => { thumb.dataset.failed = '1'; thumb.hidden = true; });
                name.append(canvas, thumb, ' ');
            }
            name.append(el('span', input.id, 'mono'));
            // The name its placeholder shows while it is away.
            if (input.label) name.append(' ', el('span', input.label, 'small'));
            const what = input.source ? input.source.url + (input.source.loop ? ' (loop)' : '')
                : input.channelSlug || (input.image ? `image ${input.image.width}×${input.image.height}` : '');
            row.append(name, el('td', what, 'mono'));
            const state = el('td');
            state.append(el('span', input.present ? 'present' : 'away', 'state state-' + (input.present ? 'live' : 'retrying')));
            // A source's pull says why it is away (ended, failed, retrying).
            if (input.source && input.source.state && !input.present) {
                state.append(' ', el('span', input.source.state + (input.source.reason ? ': ' + input.source.reason : ''), 'small source-state'));
            }
            row.append(state);
            const mix = (program.audio && program.audio[input.id]) || {};
            const gainCell = el('td'), muteCell = el('td'), soloCell = el('td');
            if (!input.image) {
                const gain = el('input');
                gain.type = 'range';
                gain.min = '-30';
                gain.max = '12';
                gain.step = '1';
                gain.value = String(mix.gainDb || 0);
                gain.className = 'gain';
                gain.setAttribute('aria-label', 'Gain of ' + input.id);
                const value = el('span', `${mix.gainDb || 0} dB`, 'small');
                gain.addEventListener('input', () => { value.textContent = gain.value + ' dB'; });
                gain.addEventListener('change', () => setAudio(input.id, { gainDb: Number(gain.value) }));
                const meter = el('span', null, 'meter');
                meter.dataset.input = input.id;
                meter.setAttribute('role', 'meter');
                meter.setAttribute('aria-label', 'Level of ' + input.id);
                meter.setAttribute('aria-valuemin', '-60');
                meter.setAttribute('aria-valuemax', '0');
                meter.append(el('span', null, 'meter-fill'));
                gainCell.append(meter, ' ', gain, ' ', value);
                for (const [cell, key] of [[muteCell, 'muted'], [soloCell, 'solo']]) {
                    const box = el('input');
                    box.type = 'checkbox';
                    box.className = key;
                    box.checked = !!mix[key];
                    box.setAttribute('aria-label', (key === 'muted' ? 'Mute ' : 'Solo ') + input.id);
                    box.addEventListener('change', () => setAudio(input.id, { [key]: box.checked }));
                    cell.append(box);
                }
            }
            const actions = el('td', null, 'actions');
            if (!input.image && !hasImages()) {
                const remove = el('button', 'Remove', 'btn btn-ghost btn-sm');
                remove.type = 'button';
                remove.addEventListener('click', () => removeInput(input.id));
                actions.append(remove);
            }
            row.append(gainCell, muteCell, soloCell, actions);
            body.append(row);
        }
        // Image inputs travel only in a full PUT through the API: the page changes layouts and the mix of such a program.
        $('input-add').disabled = hasImages();
        $('source-add').disabled = hasImages();
        renderFree();
        paintPreviews();
        paintLevels();
        preview(program, running);
    }

    // --- level meters -----------------------------------------------------------------------------
    // Five readings a second of the engine's peak meters (the last 300 ms, dBFS): each input's own level and the program bus.
    let levels = null, levelsInFlight = false;
    function showLevel(meter, db) {
        const fill = meter.querySelector('.meter-fill');
        const known = typeof db === 'number';
        const share = known ? Math.max(0, Math.min(1, (db + 60) / 60)) : 0;
        fill.style.width = (share * 100).toFixed(1) + '%';
        fill.className = 'meter-fill' + (known && db > -1 ? ' meter-hot' : known && db > -9 ? ' meter-warm' : '');
        meter.setAttribute('aria-valuenow', known ? String(db) : '-60');
    }
    function paintLevels() {
        for (const meter of body.querySelectorAll('.meter[data-input]')) showLevel(meter, levels ? levels.inputs[meter.dataset.input] : null);
        showLevel($('program-meter'), levels ? levels.program : null);
        $('program-level').textContent = levels && typeof levels.program === 'number' ? levels.program.toFixed(1) + ' dBFS' : '–';
    }
    async function refreshLevels() {
        if (!program || levelsInFlight || document.hidden) return;
        levelsInFlight = true;
        try {
            const response = await fetch(api + '/levels', { credentials: 'same-origin', cache: 'no-store', headers: { 'Accept': 'application/json' } });
            levels = response.ok ? await response.json() : null;
            paintLevels();
        } catch (e) {
            // a missed reading; the next one comes in 200 ms
        } finally {
            levelsInFlight = false;
        }
    }
    setInterval(refreshLevels, 200);
    window.__meters = { get levels() { return levels; } };

    // --- input previews --------------------------------------------------------------------------
    // Once a second the node running the program draws every input into one JPEG sheet (one tile per input, top to
    // bottom, named in order by Preview-Inputs): each input's canvas shows its tile, the channel thumbnail until then.
    let sheet = null;
    let sheetsShown = 0, previewInFlight = false;
    function paintPreviews() {
        for (const canvas of document.querySelectorAll('#input-table canvas.input-preview, #free-stage canvas.input-preview')) {
            const index = sheet ? sheet.inputs.indexOf(canvas.dataset.input) : -1;
            if (index >= 0) {
                canvas.getContext('2d').drawImage(sheet.bitmap, 0, index * sheet.tileHeight, sheet.tileWidth, sheet.tileHeight, 0, 0, canvas.width, canvas.height);
            }
            // A free-layout tile keeps its (black) canvas until the first sheet; an input's row shows its thumbnail instead.
            canvas.hidden = index < 0 && !canvas.classList.contains('free-preview');
            const thumb = canvas.parentElement.querySelector('img.thumb');
            if (thumb) thumb.hidden = index >= 0 || thumb.dataset.failed === '1';
        }
    }
    async function refreshPreviews() {
        if (!program || previewInFlight || document.hidden) return;
        previewInFlight = true;
        try {
            const response = await fetch(api + '/preview.jpg', { credentials: 'same-origin', cache: 'no-store' });
            if (!response.ok) return;
            const inputs = (response.headers.get('Preview-Inputs') || '').split(',').filter(Boolean);
            const [tileWidth, tileHeight] = (response.headers.get('Preview-Tile') || '320x180').split('x').map(Number);
            const bitmap = await createImageBitmap(await response.blob());
            if (sheet) sheet.bitmap.close();
            sheet = { bitmap, inputs, tileWidth, tileHeight, drawn: response.headers.get('Preview-Drawn') };
            sheetsShown++;
            paintPreviews();
        } catch (e) {
            // a missed second; the next one catches up
        } finally {
            previewInFlight = false;
        }
    }
    setInterval(refreshPreviews, 1000);
    window.__previews = {
        get shown() { return sheetsShown; },
        get drawn() { return sheet ? sheet.drawn : null; },
        get inputs() { return sheet ? sheet.inputs.slice() : []; },
    };

    // A full PUT carries each input's name on: the page does not edit names, and must not drop one set through the API.
    function inputsOf(list) {
        return list.map(i => {
            const input = i.source
                ? { id: i.id, source: { url: i.source.url, loop: i.source.loop, allowUntrustedCertificate: i.source.allowUntrustedCertificate } }
                : { id: i.id, channel: i.channel };
            if (i.label) input.label = i.label;
            return input;
        });
    }

    // A new input, channel or source, joins the program as it is (a first input starts it, filling the frame).
    async function addInput(name, input) {
        const inputs = program ? inputsOf(channelInputs()) : [];
        let id = name.replace(/[^A-Za-z0-9_-]/g, '').slice(0, 28) || 'input';
        while (inputs.some(i => i.id === id)) id = id.slice(0, 28) + '-' + Math.floor(Math.random() * 1000);
        inputs.push(Object.assign({ id }, input));
        const layout = program ? program.layout : { kind: 'single', inputs: [tile(id, { fit: 'fill' })] };
        await send('PUT', { inputs, layout, audio: program ? program.audio : {}, transition: 'cut' });
    }

    async function removeInput(id) {
        const inputs = inputsOf(channelInputs().filter(i => i.id !== id));
        if (inputs.length === 0) {
            await send('DELETE');
            return;
        }
        const audio = Object.assign({}, program.audio);
        delete audio[id];
        const uses = (program.layout.inputs || []).some(t => t.id === id) || (program.layout.overlays || []).some(o => o.id === id);
        const layout = uses ? { kind: 'single', inputs: [tile(inputs[0].id, { fit: 'fill' })] } : program.layout;
        await send('PUT', { inputs, layout, audio, transition: 'cut' });
    }

    $('input-form').addEventListener('submit', (event) => {
        event.preventDefault();
        const select = $('input-channel');
        const option = select.options[select.selectedIndex];
        if (option) addInput(option.dataset.slug, { channel: option.value });
    });
    $('source-form').addEventListener('submit', (event) => {
        event.preventDefault();
        const url = $('source-url').value.trim();
        if (!url) return;
        // The id: a library file's name without its extension, or the URL's host.
        const base = url.startsWith('file:') ? url.slice(5).split('/').pop().replace(/\.[^.]*$/, '') : (url.split('://')[1] || '').split(/[/:?#@]/)[0];
        addInput(base || 'source', { source: { url, loop: $('source-loop').checked } });
    });
    $('program-stop').addEventListener('click', () => {
        if (confirm('Stop the program? Its broadcast ends.')) send('DELETE');
    });

    async function load() {
        try {
            if (changesInFlight > 0) return;
            const seen = generation;
            const response = await fetch(api, { credentials: 'same-origin', headers: { 'Accept': 'application/json' } });
            // Not under a fader being dragged: a refresh would replace it mid-move.
            if (document.activeElement && document.activeElement.classList.contains('gain')) return;
            const next = response.ok ? await response.json() : response.status === 404 ? null : undefined;
            // Read before a change that has been sent since: that change's answer renders the newer state.
            if (next === undefined || seen !== generation) return;
            render(next);
        } catch (e) {
            // a missed refresh; the next one catches up
        }
    }

    load();
    setInterval(load, 2000);
})();
