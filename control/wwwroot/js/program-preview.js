// Control room: the program preview, the program's own HLS output played in hls.js (loaded before this script). Its own
// file because it needs nothing of the page but its video, its overlay and where to play from: control-room.js hands it
// each program it renders. window.__preview is what the end-to-end tests read of the player.
(function () {
    'use strict';
    // Returns show(program, running), called after each render: it starts, restarts or stops the player to follow it.
    window.programPreview = function (video, overlay, hlsSrc) {
        let hls = null;
        let lastStart = null, lastTime = -1, movedAt = Date.now();
        const events = [];
        function stopPreview() {
            movedAt = Date.now();
            if (hls) { hls.destroy(); hls = null; }
            video.removeAttribute('src');
            video.load();
        }
        function show(program, running) {
            // Another start: the program was stopped and started again (a new broadcast); the player follows it.
            const start = program && program.engine ? program.engine.startedAt : null;
            if (start !== lastStart) stopPreview();
            lastStart = start;
            // A player that has not moved for 8 s (it joined between two broadcasts, say) starts again; a paused one is left alone.
            if (video.currentTime !== lastTime || !hls || video.paused) {
                lastTime = video.currentTime;
                movedAt = Date.now();
            } else if (Date.now() - movedAt > 8000) {
                events.push('restart stuck');
                stopPreview();
            }
            if (!running) {
                if (hls) stopPreview();
                overlay.textContent = program ? 'Program stored, not running on this node' : 'No program';
                overlay.hidden = false;
                return;
            }
            if (hls || !window.Hls || !Hls.isSupported()) return;
            hls = new Hls({ workerPath: '/assets/lib/hls.worker.js', manifestLoadingMaxRetry: 10, levelLoadingMaxRetry: 6 });
            hls.on(Hls.Events.ERROR, (_, data) => {
                if (data.fatal) {
                    events.push('fatal ' + data.details);
                    hls.destroy();
                    hls = null;
                    overlay.textContent = 'Preview interrupted — retrying…';
                    overlay.hidden = false;
                }
            });
            hls.loadSource(hlsSrc);
            hls.attachMedia(video);
            hls.on(Hls.Events.MANIFEST_PARSED, () => video.play().catch(() => {}));
            overlay.textContent = 'Connecting…';
        }
        video.addEventListener('playing', () => { overlay.hidden = true; });
        // A broadcast that ended under the player (the program restarted): the next refresh starts the new one.
        video.addEventListener('ended', stopPreview);
        for (const name of ['loadedmetadata', 'playing', 'waiting', 'ended', 'error']) video.addEventListener(name, () => events.push(name));
        window.__preview = {
            get currentTime() { return video.currentTime; },
            describe: () => JSON.stringify({
                overlay: overlay.textContent, hls: !!hls, readyState: video.readyState, paused: video.paused, start: lastStart,
                events: events.slice(-20),
            }),
        };
        return show;
    };
})();
