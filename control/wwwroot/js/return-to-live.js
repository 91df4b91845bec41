// Back to the live edge, for a live hls.js player (the watch page; tests/players/hls.html with ?returnToLive=1).
// hls.js speeds up (the watch page lets it go 5 % faster) only while it is within one target duration of its target
// latency, and plays anything further behind as a viewer's rewind: a slow start or a long stall left a viewer that far
// behind for the whole session (7.1 s instead of 1.3 s in a bench session whose players started together on a busy
// machine). So when it lags beyond that range, this moves it to hls.js's own live sync position. A viewer who rewound
// that far or paused stays where they are until they come back within range themselves. A rewind is a seek backwards:
// hls.js's own seeks while a player is behind (a nudge over a stall, a jump over a hole, both forward) are not.
// broadcastReturnToLive(hls, video) -> { count, checks, viewerBehind }: how many times it moved the player, how many
// times it looked, and whether it now leaves the player where the viewer put it.
window.broadcastReturnToLive = function (hls, video) {
    'use strict';
    const state = { count: 0, checks: 0, viewerBehind: false };
    let ownSeek = false;
    let playhead = video.currentTime;
    // Further behind hls.js's live sync position (its target latency from the live edge) than one target duration. Read
    // from the playhead and liveSyncPosition (worked out on each read), not hls.latency, which hls.js updates only on
    // its next timeupdate: a viewer's rewind must already count at its own seeking event.
    const beyondRange = () => {
        const level = hls.levels && hls.levels[hls.currentLevel];
        const position = hls.liveSyncPosition;
        return !!(level && level.details) && Number.isFinite(position) && position - video.currentTime > level.details.targetduration;
    };
    video.addEventListener('timeupdate', () => { if (!video.seeking) playhead = video.currentTime; });
    video.addEventListener('seeking', () => {
        if (ownSeek) { ownSeek = false; return; }
        // The viewer's rewind goes back from where the player was and lands beyond range. hls.js seeks forward (its start,
        // a nudge after a stall, a jump over a hole), also while a stall has left the player behind: that one is no rewind,
        // and reading it as one would leave the player behind for the rest of the session.
        if (video.currentTime < playhead - 0.5 && beyondRange()) state.viewerBehind = true;
    });
    video.addEventListener('pause', () => { if (!video.ended) state.viewerBehind = true; });
    // Whether hls.js knows its live sync position yet: before its first playlist nothing can be told, and a viewer's choice
    // made before then (the watch page's ?from=start) must stand.
    const known = () => {
        const level = hls.levels && hls.levels[hls.currentLevel];
        return !!(level && level.details) && Number.isFinite(hls.liveSyncPosition);
    };
    setInterval(() => {
        state.checks++;
        if (video.paused || video.seeking || !known()) return;
        if (!beyondRange()) { state.viewerBehind = false; return; }
        const position = hls.liveSyncPosition;
        if (state.viewerBehind || !Number.isFinite(position)) return;
        ownSeek = true;
        state.count++;
        video.currentTime = position;
    }, 1000);
    return state;
};
