#!/usr/bin/python3
"""WHEP viewers at scale (and the peer, Janus alone): VIEWERS real WebRTC peers (GStreamer's webrtcbin: ICE by libnice, DTLS-SRTP by OpenSSL) play
one WHEP endpoint on loopback for SECONDS. Each offers to receive H.264 and Opus (recvonly, bundled, candidates in the
offer as WHEP players send them), POSTs the offer, applies the answer and counts the video access units it gets out of
the depayloader (no decode: the viewers cost this machine as little as a real peer can). At the end each session is
DELETEd. With --janus-streaming the same viewers instead watch a mountpoint of a Janus Streaming plugin (the peer:
Janus's own one-to-many fan-out, where Janus makes the offer): one API session, a handle per viewer, "watch", the
viewer's answer with "start". Prints key=value lines: viewers asked, answered and receiving; per-viewer frame rates over the steady window
(median and lowest); and viewer 0's frames second by second, with its seconds below 80 % of the source's rate.

Bounded: at most 200 viewers and 600 s; the URL must be a loopback one. Run with Debian's python3 (python3-gi,
gir1.2-gst-plugins-bad-1.0, gstreamer1.0-nice, gstreamer1.0-plugins-bad): scripts/deps.sh installs them.
"""
import argparse
import ipaddress
import json
import statistics
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstSdp", "1.0")
gi.require_version("GstWebRTC", "1.0")
from gi.repository import GLib, Gst, GstSdp, GstWebRTC  # noqa: E402

RECVONLY = GstWebRTC.WebRTCRTPTransceiverDirection.RECVONLY
# H.264 as browsers offer it (packetization-mode 1; constrained baseline, main and high), and Opus.
VIDEO_CAPS = ";".join(
    f"application/x-rtp,media=video,encoding-name=H264,clock-rate=90000,payload={pt},"
    f"packetization-mode=(string)1,level-asymmetry-allowed=(string)1,profile-level-id=(string){profile}"
    for pt, profile in ((102, "42e01f"), (104, "4d001f"), (106, "640032"))
)
AUDIO_CAPS = "application/x-rtp,media=audio,encoding-name=OPUS,clock-rate=48000,payload=111,encoding-params=(string)2"


class Viewer:
    """One WHEP viewer: a pipeline with a webrtcbin whose video pads end in a counting fakesink."""

    def __init__(self, index, url, token, janus=None):
        self.index = index
        self.url = url
        self.token = token
        self.janus = janus  # a JanusStreaming: Janus offers, this viewer answers
        self.frames = 0
        self.answered = False
        self.error = None
        self.location = None
        self.pipeline = Gst.Pipeline.new(f"viewer{index}")
        self.webrtc = Gst.ElementFactory.make("webrtcbin", None)
        self.webrtc.set_property("bundle-policy", GstWebRTC.WebRTCBundlePolicy.MAX_BUNDLE)
        self.pipeline.add(self.webrtc)
        if janus is None:
            self.webrtc.emit("add-transceiver", RECVONLY, Gst.Caps.from_string(VIDEO_CAPS))
            self.webrtc.emit("add-transceiver", RECVONLY, Gst.Caps.from_string(AUDIO_CAPS))
            self.webrtc.connect("on-negotiation-needed", self._on_negotiation_needed)
        self.handle = None
        self.webrtc.connect("notify::ice-gathering-state", self._on_gathering)
        self.webrtc.connect("pad-added", self._on_pad_added)
        self._posted = False
        # time.monotonic() of the offer's POST, of its answer and of the first video access unit: the connect time.
        self.posted_at = None
        self.answered_at = None
        self.first_frame_at = None

    def start(self):
        self.pipeline.set_state(Gst.State.PLAYING)
        if self.janus is not None:
            threading.Thread(target=self.janus.watch, args=(self,), daemon=True).start()

    def take_offer(self, sdp):
        """Janus's offer (Streaming plugin): applied, then answered once the answer has every candidate."""
        ok, message = GstSdp.SDPMessage.new_from_text(sdp)
        if ok != GstSdp.SDPResult.OK:
            self.error = "Janus's offer is not SDP"
            return False
        offer = GstWebRTC.WebRTCSessionDescription.new(GstWebRTC.WebRTCSDPType.OFFER, message)
        self.webrtc.emit("set-remote-description", offer, Gst.Promise.new_with_change_func(self._on_offer_set, None))
        return False

    def _on_offer_set(self, promise, _):
        reply = promise.get_reply()
        if reply is not None and reply.has_field("error"):
            self.error = f"webrtcbin refused the offer: {reply.to_string()}"
            return
        promise = Gst.Promise.new_with_change_func(self._on_answer_created, None)
        self.webrtc.emit("create-answer", None, promise)

    def _on_answer_created(self, promise, _):
        reply = promise.get_reply()
        answer = reply.get_value("answer") if reply else None
        if answer is None:
            self.error = f"webrtcbin made no answer: {reply.to_string() if reply else None}"
            return
        self.webrtc.emit("set-local-description", answer, Gst.Promise.new())

    def _on_negotiation_needed(self, element):
        promise = Gst.Promise.new_with_change_func(self._on_offer_created, None)
        element.emit("create-offer", None, promise)

    def _on_offer_created(self, promise, _):
        reply = promise.get_reply()
        offer = reply.get_value("offer")
        self.webrtc.emit("set-local-description", offer, Gst.Promise.new())

    def _on_gathering(self, element, _):
        # WHEP without trickle: the offer goes out once every candidate is in it.
        if element.get_property("ice-gathering-state") == GstWebRTC.WebRTCICEGatheringState.COMPLETE and not self._posted:
            self._posted = True
            sdp = element.get_property("local-description").sdp.as_text()
            if self.janus is None:
                threading.Thread(target=self._post, args=(sdp,), daemon=True).start()
            else:
                threading.Thread(target=self.janus.answer, args=(self, sdp), daemon=True).start()

    def _post(self, sdp):
        headers = {"Content-Type": "application/sdp"}
        if self.token:
            headers["Authorization"] = "Bearer " + self.token
        request = urllib.request.Request(self.url, data=sdp.encode(), headers=headers, method="POST")
        self.posted_at = time.monotonic()
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                answer = response.read().decode()
                self.location = urllib.parse.urljoin(self.url, response.headers.get("Location", ""))
                self.answered_at = time.monotonic()
        except urllib.error.HTTPError as e:
            self.error = f"HTTP {e.code}: {e.read().decode(errors='replace')[:200]}"
            return
        except OSError as e:
            self.error = str(e)
            return
        ok, message = GstSdp.SDPMessage.new_from_text(answer)
        if ok != GstSdp.SDPResult.OK:
            self.error = "the answer is not SDP"
            return
        description = GstWebRTC.WebRTCSessionDescription.new(GstWebRTC.WebRTCSDPType.ANSWER, message)
        GLib.idle_add(self._apply_answer, description)

    def _apply_answer(self, description):
        self.webrtc.emit("set-remote-description", description, Gst.Promise.new())
        self.answered = True
        return False

    def _on_pad_added(self, _, pad):
        if pad.direction != Gst.PadDirection.SRC:
            return
        caps = pad.get_current_caps() or pad.query_caps(None)
        media = caps.get_structure(0).get_string("media") if caps and caps.get_size() else None
        if media == "video":
            chain = "rtph264depay ! video/x-h264,alignment=au ! fakesink name=sink sync=false async=false"
        else:
            chain = "fakesink sync=false async=false"
        bin_ = Gst.parse_bin_from_description(chain, True)
        self.pipeline.add(bin_)
        bin_.sync_state_with_parent()
        pad.link(bin_.get_static_pad("sink"))
        if media == "video":
            sink = bin_.get_by_name("sink")
            sink.get_static_pad("sink").add_probe(Gst.PadProbeType.BUFFER, self._count)

    def _count(self, _pad, _info):
        if self.frames == 0:
            self.first_frame_at = time.monotonic()
        self.frames += 1
        return Gst.PadProbeReturn.OK

    def stop(self):
        self.pipeline.set_state(Gst.State.NULL)
        if self.janus is not None and self.handle is not None:
            self.janus.detach(self)
        if self.location:
            try:
                urllib.request.urlopen(urllib.request.Request(self.location, method="DELETE"), timeout=10).close()
            except OSError:
                pass


class JanusStreaming:
    """The peer's signalling: Janus's HTTP API, one session for every viewer (one long poll brings all their events)."""

    def __init__(self, url, mountpoint):
        self.url = url.rstrip("/")
        self.mountpoint = mountpoint
        self.viewers = {}
        self.session = self._post(self.url, {"janus": "create"})["data"]["id"]
        threading.Thread(target=self._poll, daemon=True).start()

    def _post(self, url, body):
        body = dict(body, transaction=f"t{time.monotonic_ns()}")
        request = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}, method="POST")
        with urllib.request.urlopen(request, timeout=30) as response:
            reply = json.loads(response.read())
        if reply.get("janus") == "error":
            raise OSError(f"Janus: {reply['error']}")
        return reply

    def watch(self, viewer):
        try:
            viewer.handle = self._post(f"{self.url}/{self.session}", {"janus": "attach", "plugin": "janus.plugin.streaming"})["data"]["id"]
            self.viewers[viewer.handle] = viewer
            self._post(f"{self.url}/{self.session}/{viewer.handle}", {"janus": "message", "body": {"request": "watch", "id": self.mountpoint}})
        except OSError as e:
            viewer.error = str(e)

    def answer(self, viewer, sdp):
        try:
            self._post(f"{self.url}/{self.session}/{viewer.handle}",
                       {"janus": "message", "body": {"request": "start"}, "jsep": {"type": "answer", "sdp": sdp}})
            viewer.answered = True
        except OSError as e:
            viewer.error = str(e)

    def detach(self, viewer):
        try:
            self._post(f"{self.url}/{self.session}/{viewer.handle}", {"janus": "detach"})
        except OSError:
            pass

    def _poll(self):
        while True:
            try:
                with urllib.request.urlopen(f"{self.url}/{self.session}?maxev=10", timeout=60) as response:
                    events = json.loads(response.read())
            except OSError:
                time.sleep(0.5)
                continue
            for event in events if isinstance(events, list) else [events]:
                viewer = self.viewers.get(event.get("sender"))
                jsep = event.get("jsep")
                if viewer is not None and jsep and jsep.get("type") == "offer":
                    GLib.idle_add(viewer.take_offer, jsep["sdp"])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="the WHEP endpoint, http://127.0.0.1:PORT/live/{slug}/whep, or with "
                        "--janus-streaming Janus's API, http://127.0.0.1:PORT/janus")
    parser.add_argument("--janus-streaming", type=int, default=None, metavar="MOUNTPOINT", help="watch this Streaming mountpoint instead")
    parser.add_argument("--viewers", type=int, default=50)
    parser.add_argument("--seconds", type=int, default=60, help="steady window measured after every viewer started")
    parser.add_argument("--ramp", type=float, default=0.1, help="seconds between two viewers' starts")
    parser.add_argument("--settle", type=float, default=15, help="seconds after the last start before the steady window (connect time)")
    parser.add_argument("--fps", type=float, default=30, help="the source's frame rate")
    parser.add_argument("--token", default=None)
    parser.add_argument("--window-file", default=None, help="gets the steady window's wall-clock start, then 'start end'")
    args = parser.parse_args()
    host = urllib.parse.urlparse(args.url).hostname or ""
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = host == "localhost"
    if not loopback:
        sys.exit("whepload: loopback URLs only")
    if not 1 <= args.viewers <= 200 or not 5 <= args.seconds <= 600 or not 1 <= args.settle <= 60:
        sys.exit("whepload: --viewers must be 1..200, --seconds 5..600 and --settle 1..60")

    Gst.init(None)
    loop = GLib.MainLoop()
    janus = JanusStreaming(args.url, args.janus_streaming) if args.janus_streaming is not None else None
    viewers = [Viewer(i, args.url, args.token, janus) for i in range(args.viewers)]
    samples = []  # (time, [frames per viewer])
    phase = {"start": None}

    def start_next(state=[0]):
        if state[0] < len(viewers):
            viewers[state[0]].start()
            state[0] += 1
            return True
        return False

    def sample():
        samples.append((time.monotonic(), [v.frames for v in viewers]))
        return True

    def write_window(text):
        if args.window_file:
            with open(args.window_file, "w") as f:
                f.write(text + "\n")

    def begin():
        phase["start"] = time.time()
        write_window(f"{phase['start']:.6f}")
        sample()
        GLib.timeout_add(1000, sample)
        return False

    def finish():
        # The window ends with the last whole second sampled.
        write_window(f"{phase['start']:.6f} {time.time():.6f}")
        loop.quit()
        return False

    GLib.timeout_add(max(1, int(args.ramp * 1000)), start_next)
    ramp_seconds = args.ramp * args.viewers
    # Connect time (every viewer's POST, ICE and DTLS): --settle s after the last start, then the steady window.
    settle = ramp_seconds + args.settle
    GLib.timeout_add(int(settle * 1000), begin)
    GLib.timeout_add(int((settle + args.seconds) * 1000), finish)
    loop.run()

    for v in viewers:
        v.stop()
    errors = [v.error for v in viewers if v.error]
    (t0, first), (t1, last) = samples[0], samples[-1]
    span = t1 - t0
    rates = [(b - a) / span for a, b in zip(first, last)]
    receiving = sum(1 for r in rates if r > 0)
    series = [b[1][0] - a[1][0] for a, b in zip(samples, samples[1:])]
    low_seconds = sum(1 for n in series if n < 0.8 * args.fps)
    print(f"viewers={args.viewers} answered={sum(1 for v in viewers if v.answered)} receiving={receiving} errors={len(errors)}")
    print(f"window_s={span:.1f} fps_median={statistics.median(rates):.1f} fps_min={min(rates):.1f} fps_p10={sorted(rates)[len(rates) // 10]:.1f}")
    print(f"viewer0_seconds={len(series)} viewer0_low_seconds={low_seconds} viewer0_frames_per_second={','.join(map(str, series))}")
    def ms(v, at):
        return f"{(at - v.posted_at) * 1000:.0f}" if v.posted_at is not None and at is not None else "-"

    # From the offer's POST to its answer, and to the first video access unit (ICE, DTLS, the replayed keyframe).
    print(f"viewer0_answer_ms={ms(viewers[0], viewers[0].answered_at)} viewer0_first_frame_ms={ms(viewers[0], viewers[0].first_frame_at)}")
    if errors:
        print("first_error=" + errors[0].replace(" ", "_")[:300])
    return 0 if receiving == args.viewers else 3


if __name__ == "__main__":
    sys.exit(main())
