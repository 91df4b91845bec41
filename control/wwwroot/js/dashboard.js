// Shared behaviour of dashboard pages. The CSP forbids inline script, so everything is wired up here.
(function () {
    'use strict';

    const fmt = {
        bitrate(bps) {
            if (!bps || bps <= 0) return '–';
            return bps < 1e6 ? Math.round(bps / 1e3) + ' kb/s' : (bps / 1e6).toFixed(2) + ' Mb/s';
        },
        /** Bytes as the server's Format.Bytes writes them (KB, MB with one decimal, GB with two). */
        bytes(n) {
            return n < 1048576 ? Math.round(n / 1024) + ' KB'
                : n < 1073741824 ? (n / 1048576).toFixed(1) + ' MB' : (n / 1073741824).toFixed(2) + ' GB';
        },
        duration(ms) {
            if (ms < 0) ms = 0;
            const s = Math.floor(ms / 1000), h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
            const pad = (n) => String(n).padStart(2, '0');
            return h > 0 ? `${h}:${pad(m)}:${pad(r)}` : `${m}:${pad(r)}`;
        },
    };

    async function copyText(text) {
        if (navigator.clipboard && window.isSecureContext) {
            await navigator.clipboard.writeText(text);
            return;
        }
        const area = document.createElement('textarea');
        area.value = text;
        area.setAttribute('readonly', '');
        area.className = 'offscreen';
        document.body.appendChild(area);
        area.select();
        document.execCommand('copy');
        area.remove();
    }

    function flashButton(button, text) {
        const original = button.dataset.label || button.textContent;
        button.dataset.label = original;
        button.textContent = text;
        button.classList.add('copied');
        setTimeout(() => { button.textContent = original; button.classList.remove('copied'); }, 1500);
    }

    document.addEventListener('click', async (e) => {
        const confirmTarget = e.target.closest('[data-confirm]');
        if (confirmTarget && !window.confirm(confirmTarget.dataset.confirm)) {
            e.preventDefault();
            return;
        }
        const copy = e.target.closest('[data-copy]');
        if (copy) {
            const input = document.querySelector(copy.dataset.copy);
            if (!input) return;
            if (copy.dataset.needsReveal && input.dataset.masked === 'true' && window.broadcastRevealKey) {
                await window.broadcastRevealKey();
            }
            try {
                await copyText(input.value);
                flashButton(copy, 'Copied');
            } catch {
                input.select();
                flashButton(copy, 'Press Ctrl+C');
            }
        }
    });

    function hub() {
        return new signalR.HubConnectionBuilder()
            .withUrl('/dashboard/hub/live')
            .withAutomaticReconnect([0, 1000, 2000, 5000, 10000, 10000, 30000])
            .configureLogging(signalR.LogLevel.Warning)
            .build();
    }

    window.broadcast = { fmt, copyText, hub };
})();
