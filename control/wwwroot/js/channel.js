// Channel page: key reveal, live figures and charts from the hub, and the hls.js preview.
(function () {
    'use strict';
    const page = document.getElementById('channel-page');
    if (!page) return;
    const { fmt, hub } = window.broadcast;
    const channelId = page.dataset.channelId;
    const hlsSrc = page.dataset.hls;
    const $ = (id) => document.getElementById(id);

    // --- stream key ------------------------------------------------------------------------------
    const keyInput = $('stream-key');
    const revealButton = $('reveal-key');
    const maskedValue = keyInput.value;
    const srtInput = $('srt-url'); // present while SRT ingest is on
    const maskedSrt = srtInput ? srtInput.value : '';

    async function reveal() {
        const response = await fetch(`${location.pathname}?handler=RevealKey`, {
            method: 'POST',
            credentials: 'same-origin',
            headers: window.dashboardApi.writeHeaders(),
        });
        const body = await response.json().catch(() => ({}));
        if (!response.ok || !body.streamKey) {
            $('key-error').textContent = body.error || `The key could not be revealed (HTTP ${response.status}).`;
            return false;
        }
        $('key-error').textContent = '';
        keyInput.value = body.streamKey;
        keyInput.dataset.masked = 'false';
        if (srtInput && body.srtUrl) {
            srtInput.value = body.srtUrl;
            srtInput.dataset.masked = 'false';
        }
        revealButton.textContent = 'Hide';
        return true;
    }
    window.broadcastRevealKey = reveal;
    revealButton.addEventListener('click', async () => {
        if (keyInput.dataset.masked === 'false') {
            keyInput.value = maskedValue;
            keyInput.dataset.masked = 'true';
            if (srtInput) {
                srtInput.value = maskedSrt;
                srtInput.dataset.masked = 'true';
            }
            revealButton.textContent = 'Reveal';
        } else {
            await reveal();
        }
    });

    // --- charts ----------------------------------------------------------------------------------
    const windowSeconds = 600;
    const series = { t: [], bitrate: [], fps: [] };

    function makeChart(el, label, color, valueFormat) {
        const opts = {
            width: el.clientWidth || 500,
            height: 200,
            legend: { show: false },
            cursor: { drag: { x: false, y: false } },
            scales: { x: { time: true }, y: { range: (u, min, max) => [0, Math.max(max * 1.2, 1)] } },
            axes: [
                { stroke: '#6b7585', grid: { stroke: '#eef0f3' }, ticks: { stroke: '#e2e5ea' } },
                { stroke: '#6b7585', grid: { stroke: '#eef0f3' }, ticks: { stroke: '#e2e5ea' }, size: 84, values: (u, vals) => vals.map(valueFormat) },
            ],
            series: [{}, { label, stroke: color, width: 2, fill: color + '22', points: { show: false } }],
        };
        return new uPlot(opts, [[], []], el);
    }
    const bitrateChart = makeChart($('chart-bitrate'), 'Bitrate', '#2563eb', (v) => v >= 1000 ? (v / 1000).toFixed(1) + ' Mb/s' : Math.round(v) + ' kb/s');
    const fpsChart = makeChart($('chart-fps'), 'FPS', '#15803d', (v) => v.toFixed(0) + ' fps');
    window.addEventListener('resize', () => {
        bitrateChart.setSize({ width: $('chart-bitrate').clientWidth, height: 200 });
        fpsChart.setSize({ width: $('chart-fps').clientWidth, height: 200 });
    });

    function addSample(s) {
        const t = s.t / 1000;
        if (series.t.length && t <= series.t[series.t.length - 1]) return;
        series.t.push(t);
        series.bitrate.push(s.bitrate / 1000);
        series.fps.push(s.fps);
        while (series.t.length && series.t[0] < t - windowSeconds) {
            series.t.shift(); series.bitrate.shift(); series.fps.shift();
        }
    }
    function redraw() {
        bitrateChart.setData([series.t, series.bitrate]);
        fpsChart.setData([series.t, series.fps]);
    }

    // --- preview ---------------------------------------------------------------------------------
    const video = $('preview');
    const overlay = $('preview-overlay');
    let hls = null;

    function startPreview() {
        if (hls || !window.Hls) return;
        if (!Hls.isSupported()) {
            video.src = hlsSrc;
            return;
        }
        // No liveSyncDurationCount: it would override a low-latency playlist's PART-HOLD-BACK (see watch.js).
        hls = new Hls({ workerPath: '/assets/lib/hls.worker.js', maxLiveSyncPlaybackRate: 1.05, liveSyncOnStallIncrease: 0.25, manifestLoadingMaxRetry: 6, levelLoadingMaxRetry: 6 });
        hls.on(Hls.Events.ERROR, (_, data) => {
            if (data.fatal) {
                console.warn('preview error', data.type, data.details);
                stopPreview();
                overlay.textContent = 'Preview interrupted — retrying…';
                overlay.hidden = false;
                setTimeout(() => { if (lastView && lastView.online) startPreview(); }, 3000);
            }
        });
        hls.loadSource(hlsSrc);
        hls.attachMedia(video);
        hls.on(Hls.Events.MANIFEST_PARSED, () => video.play().catch(() => {}));
        overlay.textContent = 'Connecting…';
    }
    function stopPreview() {
        if (hls) { hls.destroy(); hls = null; }
        video.removeAttribute('src');
        video.load();
    }
    video.addEventListener('playing', () => { overlay.hidden = true; });
    // The program date-time of the picture the preview shows: hls.js maps it from EXT-X-PROGRAM-DATE-TIME; Safari's own
    // HLS gives the playlist's start date.
    function playingDate() {
        if (hls) return hls.playingDate || null;
        const start = video.getStartDate ? video.getStartDate() : null;
        return start && !isNaN(start.getTime()) ? new Date(start.getTime() + video.currentTime * 1000) : null;
    }
    window.__preview = {
        get currentTime() { return video.currentTime; },
        get playing() { return !video.paused && video.readyState >= 2; },
        get playingDate() { const d = playingDate(); return d ? d.toISOString() : null; },
    };

    // --- clips: mark in and out on the preview ---------------------------------------------------
    const clipFrom = $('clip-from');
    const clipTo = $('clip-to');
    function markClip(input, label) {
        const at = playingDate();
        if (!at) {
            label.textContent = 'the preview is not playing';
            return;
        }
        input.value = at.toISOString();
        label.textContent = at.toISOString().slice(11, 19) + ' UTC';
        const ready = clipFrom.value && clipTo.value && clipTo.value > clipFrom.value;
        $('clip-save').disabled = !ready;
        if (clipFrom.value && clipTo.value && !ready) $('clip-out-at').textContent += ' (before mark in)';
    }
    if (clipFrom) {
        $('clip-mark-in').addEventListener('click', () => markClip(clipFrom, $('clip-in-at')));
        $('clip-mark-out').addEventListener('click', () => markClip(clipTo, $('clip-out-at')));
    }

    // --- live figures ----------------------------------------------------------------------------
    let lastView = null;

    function render(view) {
        lastView = view;
        const badge = $('live-badge');
        badge.textContent = view.online ? 'LIVE' : 'Offline';
        badge.className = 'badge ' + (view.online ? 'badge-live' : 'badge-off');
        $('stat-viewers').textContent = view.viewers == null ? '0' : String(view.viewers);
        $('stat-bitrate').textContent = fmt.bitrate(view.bitrate);
        $('stat-bitrate').dataset.bps = String(view.bitrate);
        $('stat-fps').textContent = view.online ? view.fps.toFixed(1) + ' fps' : '–';
        $('stat-uptime').dataset.since = view.since || '';
        $('fact-video').textContent = view.video || '–';
        $('fact-resolution').textContent = view.resolution || '–';
        $('fact-audio').textContent = view.audio || '–';
        $('fact-keyframes').textContent = view.keyframeIntervalMs > 0 ? (view.keyframeIntervalMs / 1000).toFixed(2).replace(/0$/, '') + ' s' : '–';
        $('fact-renditions').textContent = view.renditions && view.renditions.length ? view.renditions.join(', ') : '–';
        // The encoder's own ladder (multitrack): shown only while it sends one.
        const ladder = view.encoderLadder || [];
        $('fact-ladder-row').hidden = ladder.length === 0;
        $('fact-ladder').textContent = ladder.join('; ');
        $('fact-segments').textContent = String(view.segmentsWritten);
        // What retention keeps of this broadcast (its rewind window, or everything when recorded) and the space it takes.
        $('fact-kept-row').hidden = !view.kept;
        $('fact-kept').textContent = view.kept || '';
        // How playback goes by the players' own CMCD reports; hidden while no player reports.
        $('fact-quality-row').hidden = !view.quality;
        $('fact-quality').textContent = view.quality || '';

        const list = $('advice');
        list.replaceChildren(...(view.advice.length ? view.advice : [{ level: 0, text: 'Advice appears once the encoder is connected.' }]).map((a) => {
            const li = document.createElement('li');
            li.className = a.level === 1 || a.level === 'Warning' ? 'advice-warn' : 'advice-info';
            li.textContent = a.text;
            return li;
        }));

        if (view.online) {
            startPreview();
        } else {
            stopPreview();
            overlay.textContent = 'Waiting for the encoder';
            overlay.hidden = false;
        }
    }

    setInterval(() => {
        const since = $('stat-uptime').dataset.since;
        $('stat-uptime').textContent = since ? fmt.duration(Date.now() - Date.parse(since)) : '–';
    }, 1000);

    const connection = hub();
    connection.on('channel', (view) => {
        if (view.id !== channelId) return;
        addSample(view.sample);
        redraw();
        render(view);
    });
    async function join() {
        const snapshot = await connection.invoke('WatchChannel', channelId);
        if (!snapshot) return;
        series.t.length = series.bitrate.length = series.fps.length = 0;
        for (const s of snapshot.history) addSample(s);
        redraw();
        render(snapshot.view);
    }
    connection.onreconnected(join);
    connection.start().then(join).catch((e) => console.warn('live updates unavailable', e));
})();
