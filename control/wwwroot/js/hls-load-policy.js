// hls.js's playlist load policy for the watch page (and tests/players/hls.html with ?playlistLoadPolicy=product):
// broadcastHlsPlaylistLoadPolicy() -> the playlistLoadPolicy value for hls.js.
//
// Why: an encoder that stops sending for a few seconds (a paused source, a hiccup on its uplink) must cost the viewer a
// stall, not the session. The origin holds a blocking playlist reload until the part it asks for is listed (RFC 8216bis
// §6.2.5.2; 503 after three target durations). hls.js (1.7.4) sends its reloads with _HLS_part whatever its
// lowLatencyMode and gives each max(3 part targets, 0.8 target durations) to its first byte (1.6 s with 2 s segments).
// Each timeout counts against one playlist error budget, two retries by default, that only an update of the variant
// (video) playlist refills; one error more is fatal for the audio playlist, which has no alternate
// (audioTrackLoadTimeOut). During a pause every held reload times out, so whether a session ends is a race between its
// reloads (and other players' in the same browser, which share its six connections to the origin): a 6 s pause ended
// one of five players in one CI run, a 12 s pause none in another (docs/low-latency.md). Twenty retries leave room for
// twenty timeouts between two updates instead of two, each retry one request as before; a longer outage still ends in
// hls.js's fatal error, on which the watch page reloads. Everything else is hls.js's default (a playlist load's 10 s and
// 20 s, its error retries).
window.broadcastHlsPlaylistLoadPolicy = function () {
    'use strict';
    return {
        default: {
            maxTimeToFirstByteMs: 10000,
            maxLoadTimeMs: 20000,
            timeoutRetry: { maxNumRetry: 20, retryDelayMs: 0, maxRetryDelayMs: 0 },
            errorRetry: { maxNumRetry: 2, retryDelayMs: 1000, maxRetryDelayMs: 8000 },
        },
    };
};
