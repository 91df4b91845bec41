// Back to the live edge, for a live hls.js player (the watch page; tests/players/hls.html with ?returnToLive=1).
// hls.js speeds up (the watch page lets it go 5 % faster) only while it is within one target duration of its target
// latency, and plays anything further behind as a viewer's rewind: a slow start or a long stall left a viewer that far
// behind for the whole session (7.1 s instead of 1.3 s in a bench session whose players started together on a busy
// machine). So when it lags beyond that range, this moves it to hls.js's own live sync position. A viewer who rewound
// that far or paused stays where they are until they come back within range themselves.
// broadcastReturnToLive(hls, video) -> { count, checks }: how many times it moved the player, and looked.
window.broadcastReturnToLive = function (hls, video) {
    'use strict';
    const state = { count: 0, checks: 0 };
    let ownSeek = false;
    let viewerBehind = false;
    // Further behind hls.js's live sync position (its target latency from the live edge) than one target duration. Read
    // from the playhead and liveSyncPosition (worked out on each read), not hls.latency, which hls.js updates only on
    // its next timeupdate: a viewer's rewind must already count at its own seeking event.
    const beyondRange = () => {
        const level = hls.levels && hls.levels[hls.currentLevel];
        const position = hls.liveSyncPosition;
        return !!(level && level.details) && Number.isFinite(position) && position - video.currentTime > level.details.targetduration;
    };
    video.addEventListener('seeking', () => {
        if (ownSeek) { ownSeek = false; return; }
        // hls.js's own seeks (its start, nudges over a gap) land within range; one beyond it is the viewer's.
        if (beyondRange()) viewerBehind = true;
    });
    video.addEventListener('pause', () => { if (!video.ended) viewerBehind = true; });
    setInterval(() => {
        state.checks++;
        if (video.paused || video.seeking) return;
        if (!beyondRange()) { viewerBehind = false; return; }
        const position = hls.liveSyncPosition;
        if (viewerBehind || !Number.isFinite(position)) return;
        ownSeek = true;
        state.count++;
        video.currentTime = position;
    }, 1000);
    return state;
};
