// The clips page. The server makes a clip's MP4 in the background after the clip (seconds to minutes): a row that
// says "MP4 being made" asks the admin API every 3 s (for at most 10 minutes) and becomes the download link once the
// clip lists one, so the producer need not reload.
(function () {
    'use strict';

    const table = document.getElementById('clips');
    if (!table) return;
    const channelId = table.dataset.channelId;
    const every = 3000, until = Date.now() + 10 * 60 * 1000;

    async function look() {
        const pending = table.querySelectorAll('[data-clip-pending]');
        if (pending.length === 0 || Date.now() > until) return;
        try {
            const response = await fetch(`/api/channels/${encodeURIComponent(channelId)}/clips`,
                { credentials: 'same-origin', headers: { 'Accept': 'application/json' } });
            const clips = response.ok ? await response.json() : [];
            for (const span of pending) {
                const clip = clips.find((c) => c.id === span.dataset.clipPending);
                if (!clip || !clip.downloadUrl) continue;
                // The same origin as the page, whatever public base the API's URL names: the session cookie goes along.
                const link = window.dashboardApi.el('a', `⬇ MP4 (${window.broadcast.fmt.bytes(clip.downloadBytes)})`, 'btn btn-sm');
                link.href = `/api/channels/${encodeURIComponent(channelId)}/clips/${encodeURIComponent(clip.id)}/download`;
                link.setAttribute('download', '');
                link.dataset.clipDownload = '';
                span.replaceWith(link);
            }
        } catch {
            // A failed look is tried again at the next one.
        }
        setTimeout(look, every);
    }

    setTimeout(look, every);
})();
