// hls.js's key system settings for a protected channel (the watch page; tests/players/hls.html with ?clearKeyLicense=).
// broadcastClearKeyHls(licenseUrl) -> the drmSystems value for hls.js: W3C ClearKey at the channel's license endpoint,
// each key session asking for the key its EXT-X-KEY names and no other.
//
// Why the request is built here: a rotated channel's fragments carry pssh boxes in their moof (ISO/IEC 23001-7 §8.1:
// the current and the next key, for DASH players, which learn a rotated key only there), so the element fires an
// 'encrypted' event for each. hls.js cannot read a ClearKey pssh's KIDs, so it hands that event's init data to the
// first key it has in flight. At a rotation that is often the new key, whose session is still being set up: the
// session then asked the license for the old key, never got a status for its own, and hls.js failed playback with
// keySystemStatusInternalError (one CI run in several). Init data of type 'keyids' (W3C EME Initialization Data
// Format Registry, "keyids": {"kids": [base64url KID]}) made from the playlist's KID asks for exactly that key.
window.broadcastClearKeyHls = function (licenseUrl) {
    'use strict';
    const base64Url = (bytes) => {
        let text = '';
        for (let i = 0; i < bytes.length; i++) text += String.fromCharCode(bytes[i]);
        return btoa(text).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
    };
    return {
        'org.w3.clearkey': {
            licenseUrl: licenseUrl,
            // hls.js calls this before every MediaKeySession.generateRequest; keyContext.decryptdata is the playlist key.
            generateRequest: function (initDataType, initData, keyContext) {
                const keyId = keyContext && keyContext.decryptdata ? keyContext.decryptdata.keyId : null;
                if (!keyId || keyId.byteLength !== 16) return { initDataType: initDataType, initData: initData };
                const kids = JSON.stringify({ kids: [base64Url(new Uint8Array(keyId))] });
                return { initDataType: 'keyids', initData: new TextEncoder().encode(kids) };
            },
        },
    };
};
