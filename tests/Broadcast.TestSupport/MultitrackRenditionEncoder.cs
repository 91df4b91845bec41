using System.Buffers;
using System.Buffers.Binary;
using System.Globalization;
using Broadcast.Media.Codecs;
using Broadcast.Media.Codecs.Hevc;
using Broadcast.Media.Flv;

namespace Broadcast.TestSupport;

/// <summary>One coded picture of one rendition: its length-prefixed NAL units (4-byte lengths), as an FLV AVC tag carries them.</summary>
public sealed record MultitrackEncodedFrame(uint TimestampMs, bool IsKeyframe, int CompositionTimeMs, ReadOnlyMemory<byte> NalUnits);

/// <summary>One rendition read back: its FourCC, its decoder configuration record (avcC or hvcC) and its frames.</summary>
public sealed record MultitrackEncodedTrack(
    byte TrackId, uint FourCc, int Width, int Height, byte[] DecoderConfiguration, IReadOnlyList<MultitrackEncodedFrame> Frames);

/// <summary>An FLV audio tag body (AAC sequence header or raw frame) as ffmpeg wrote it.</summary>
public sealed record MultitrackAudioMessage(uint TimestampMs, byte[] Body);

/// <summary>Every rendition's frames, equal in number and sharing timestamps, and the audio of the ladder.</summary>
public sealed record MultitrackEncoding(IReadOnlyList<MultitrackEncodedTrack> Tracks, IReadOnlyList<MultitrackAudioMessage> Audio)
{
    /// <summary>
    /// Audio track 1's FLV tag bodies (<see cref="MultitrackRenditions.SecondAudioToneHz"/>); empty when the ladder has one audio track.
    /// </summary>
    public IReadOnlyList<MultitrackAudioMessage> SecondAudio { get; init; } = [];
}

/// <summary>
/// Encodes a <see cref="MultitrackRenditions"/> ladder with one ffmpeg run (faster than real time, not live) and reads the
/// files back: H.264 renditions as FLV through the project's <see cref="FlvStreamReader"/>, HEVC renditions as Annex B (Debian's
/// ffmpeg 5.1 cannot write HEVC into FLV).
/// </summary>
public static class MultitrackRenditionEncoder
{
    public const uint FourCcAvc1 = 0x61766331; // 'avc1'
    public const uint FourCcHvc1 = 0x68766331; // 'hvc1'

    private static readonly TimeSpan EncodeTimeout = TimeSpan.FromMinutes(5);

    /// <summary>Where rendition <paramref name="index"/> is written in <paramref name="directory"/>.</summary>
    public static string RenditionPath(string directory, int index, MultitrackVideoCodec codec) => Path.Combine(directory,
        string.Create(CultureInfo.InvariantCulture, $"rendition{index}.{(codec == MultitrackVideoCodec.H265 ? "hevc" : "flv")}"));

    /// <summary>The audio-only FLV, written only when no rendition is H.264 (an FLV to carry the AAC).</summary>
    public static string AudioOnlyPath(string directory) => Path.Combine(directory, "audio.flv");

    /// <summary>The audio-only FLV of audio track 1, written only with <see cref="MultitrackRenditions.SecondAudioToneHz"/>.</summary>
    public static string SecondAudioPath(string directory) => Path.Combine(directory, "audio-track1.flv");

    /// <summary>The index of the rendition whose FLV carries the AAC: the first H.264 one; -1 when there is none.</summary>
    public static int AudioRenditionIndex(MultitrackRenditions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        for (int i = 0; i < options.Renditions.Count; i++)
            if (options.Renditions[i].Codec == MultitrackVideoCodec.H264) return i;
        return -1;
    }

    /// <summary>The ffmpeg arguments: one source split and scaled into every rendition, one output file per rendition.</summary>
    public static IReadOnlyList<string> FfmpegArguments(MultitrackRenditions options, string directory)
    {
        ArgumentNullException.ThrowIfNull(options);
        var inv = CultureInfo.InvariantCulture;
        string seconds = options.Duration.TotalSeconds.ToString("0.###", inv);
        int count = options.Renditions.Count;
        var args = new List<string> { "-hide_banner", "-nostdin", "-loglevel", "error", "-y" };
        if (options.SourceClipPath is { } clip) args.AddRange(["-stream_loop", "-1", "-t", seconds, "-i", clip]);
        else
        {
            // The source at the largest size, so every rendition is a downscale of one picture.
            int width = options.Renditions.Max(r => r.Width), height = options.Renditions.Max(r => r.Height);
            args.AddRange(["-t", seconds, "-f", "lavfi", "-i",
                string.Create(inv, $"testsrc2=size={width}x{height}:rate={MultitrackRenditions.FramesPerSecond}")]);
        }
        args.AddRange(["-t", seconds, "-f", "lavfi", "-i",
            string.Create(inv, $"sine=frequency={options.ToneHz}:sample_rate={MultitrackRenditions.AudioSampleRate}")]);
        if (options.SecondAudioToneHz is { } secondHz)
        {
            // Input 2: audio track 1's tone, a different frequency so a test can tell which track a rendition carries.
            args.AddRange(["-t", seconds, "-f", "lavfi", "-i",
                string.Create(inv, $"sine=frequency={secondHz}:sample_rate={MultitrackRenditions.AudioSampleRate}")]);
        }

        // fps first: a clip of another rate is brought to the ladder's one rate before the split, so every rendition has the same frames.
        var graph = new System.Text.StringBuilder(string.Create(inv, $"[0:v]fps={MultitrackRenditions.FramesPerSecond},split={count}"));
        for (int i = 0; i < count; i++) graph.Append(inv, $"[s{i}]");
        for (int i = 0; i < count; i++)
            graph.Append(inv, $";[s{i}]scale={options.Renditions[i].Width}:{options.Renditions[i].Height},setsar=1[v{i}]");
        args.AddRange(["-filter_complex", graph.ToString()]);

        int audioIndex = AudioRenditionIndex(options);
        for (int i = 0; i < count; i++)
        {
            var r = options.Renditions[i];
            string gop = (r.KeyframeIntervalFrames ?? options.KeyframeIntervalFrames).ToString(inv);
            string rate = string.Create(inv, $"{r.BitrateKbps}k");
            args.AddRange(["-map", string.Create(inv, $"[v{i}]")]);
            if (i == audioIndex) args.AddRange(["-map", "1:a"]);
            if (r.Codec == MultitrackVideoCodec.H264)
            {
                // Fixed GOP, no scene-cut keyframes and no B-frames: keyframes fall on the same frames in every rendition and
                // decode order is presentation order.
                args.AddRange(["-c:v", "libx264", "-preset", "veryfast", "-tune", "zerolatency", "-profile:v", "high", "-pix_fmt", "yuv420p",
                    "-g", gop, "-keyint_min", gop, "-sc_threshold", "0", "-bf", "0",
                    "-b:v", rate, "-maxrate", rate, "-bufsize", string.Create(inv, $"{r.BitrateKbps * 2}k")]);
                if (i == audioIndex) AddAudio(args);
                else args.Add("-an");
                args.AddRange(["-f", "flv", RenditionPath(directory, i, r.Codec)]);
            }
            else
            {
                // The same GOP rules in x265's words; closed GOPs so each keyframe is an IDR, and an access unit delimiter
                // before every picture so the raw stream splits into pictures without parsing slice headers.
                args.AddRange(["-c:v", "libx265", "-preset", "ultrafast", "-tune", "zerolatency", "-profile:v", "main", "-pix_fmt", "yuv420p",
                    "-b:v", rate,
                    "-x265-params", $"log-level=error:keyint={gop}:min-keyint={gop}:scenecut=0:bframes=0:open-gop=0:aud=1",
                    "-an", "-f", "hevc", RenditionPath(directory, i, r.Codec)]);
            }
        }
        if (audioIndex < 0)
        {
            args.AddRange(["-map", "1:a"]);
            AddAudio(args);
            args.AddRange(["-vn", "-f", "flv", AudioOnlyPath(directory)]);
        }
        if (options.SecondAudioToneHz is not null)
        {
            // The same encoder settings as track 0, so both tracks have AAC frames of the same length at the same times.
            args.AddRange(["-map", "2:a"]);
            AddAudio(args);
            args.AddRange(["-vn", "-f", "flv", SecondAudioPath(directory)]);
        }
        return args;

        static void AddAudio(List<string> args) => args.AddRange(["-c:a", "aac", "-b:a", "128k",
            "-ar", MultitrackRenditions.AudioSampleRate.ToString(CultureInfo.InvariantCulture),
            "-ac", MultitrackRenditions.AudioChannels.ToString(CultureInfo.InvariantCulture)]);
    }

    /// <summary>Runs ffmpeg once into a temporary directory and reads every rendition back (the files are deleted after).</summary>
    public static async Task<MultitrackEncoding> EncodeAsync(MultitrackRenditions options, CancellationToken cancellationToken)
    {
        using var directory = new TempDirectory("multitrack");
        return await EncodeAsync(options, directory.Path, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Runs ffmpeg once into <paramref name="directory"/> (created if missing) and reads every rendition back; the files stay
    /// (<see cref="RenditionPath"/> names them), so a later run can <see cref="Read"/> them instead of encoding again, or
    /// publish rendition 0's FLV with ffmpeg as a single-track peer of the same pictures.
    /// </summary>
    public static async Task<MultitrackEncoding> EncodeAsync(MultitrackRenditions options, string directory, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentException.ThrowIfNullOrEmpty(directory);
        options.Validate();
        Directory.CreateDirectory(directory);
        var result = await ExternalProcess.RunAsync("ffmpeg", FfmpegArguments(options, directory), EncodeTimeout,
            cancellationToken: cancellationToken).ConfigureAwait(false);
        if (result.ExitCode != 0) throw new InvalidOperationException($"ffmpeg exited with {result.ExitCode}: {result.OutputTail}");
        return Read(options, directory);
    }

    /// <summary>Reads the files <see cref="FfmpegArguments"/> wrote into <paramref name="directory"/>.</summary>
    public static MultitrackEncoding Read(MultitrackRenditions options, string directory)
    {
        ArgumentNullException.ThrowIfNull(options);
        int audioIndex = AudioRenditionIndex(options);
        var tracks = new List<MultitrackEncodedTrack>();
        IReadOnlyList<MultitrackAudioMessage> audio = [];
        for (int i = 0; i < options.Renditions.Count; i++)
        {
            var r = options.Renditions[i];
            string path = RenditionPath(directory, i, r.Codec);
            if (r.Codec == MultitrackVideoCodec.H264)
            {
                var (configuration, frames, flvAudio) = ReadFlv(path);
                if (configuration is null) throw new InvalidOperationException($"{path} has no AVC sequence header.");
                tracks.Add(new MultitrackEncodedTrack((byte)i, FourCcAvc1, r.Width, r.Height, configuration, frames));
                if (i == audioIndex) audio = flvAudio;
            }
            else tracks.Add(ReadAnnexBHevc(path, (byte)i, r));
        }
        if (audioIndex < 0) audio = ReadFlv(AudioOnlyPath(directory)).Audio;
        IReadOnlyList<MultitrackAudioMessage> second = options.SecondAudioToneHz is null ? [] : ReadFlv(SecondAudioPath(directory)).Audio;
        return new MultitrackEncoding(ShareTimestamps(tracks, audioIndex), audio) { SecondAudio = second };
    }

    /// <summary>
    /// Gives frame n of every track the timestamp of frame n of the rendition that carries the audio. ffmpeg's FLV muxer shifts
    /// that file's video by the AAC encoder delay (about 21 ms) and no other file's, and a raw HEVC stream has no times at all;
    /// the same picture must have one time in every track, and the audio's clock is the one to keep lip sync with.
    /// </summary>
    private static List<MultitrackEncodedTrack> ShareTimestamps(List<MultitrackEncodedTrack> tracks, int audioIndex)
    {
        int frames = tracks.Min(t => t.Frames.Count);
        if (frames == 0) throw new InvalidOperationException("ffmpeg wrote a rendition without frames.");
        uint TimeOf(int n) => audioIndex >= 0
            ? tracks[audioIndex].Frames[n].TimestampMs
            : (uint)Math.Round(n * 1000.0 / MultitrackRenditions.FramesPerSecond, MidpointRounding.AwayFromZero);
        return tracks.Select(t => t with
        {
            Frames = t.Frames.Take(frames).Select((f, n) => f with { TimestampMs = TimeOf(n) }).ToArray(),
        }).ToList();
    }

    /// <summary>Reads an FLV ffmpeg wrote: the avcC, the AVC pictures and the audio tag bodies as they are.</summary>
    private static (byte[]? Configuration, List<MultitrackEncodedFrame> Frames, List<MultitrackAudioMessage> Audio) ReadFlv(string path)
    {
        var file = new ReadOnlySequence<byte>(File.ReadAllBytes(path));
        byte[]? configuration = null;
        var frames = new List<MultitrackEncodedFrame>();
        var audio = new List<MultitrackAudioMessage>();
        string? problem = null;
        var end = new FlvStreamReader().Read(file, tag =>
        {
            if (tag.Type == FlvTagType.Audio) audio.Add(new MultitrackAudioMessage(tag.TimestampMs, tag.Data.ToArray()));
            if (tag.Type != FlvTagType.Video) return true;
            if (!FlvVideoTagHeader.TryRead(tag.Data, out var header, out int headerLength)
                || header.IsExHeader || header.Codec != Broadcast.Media.Codec.H264)
            {
                problem = $"a video tag at {tag.TimestampMs} ms is not a legacy AVC tag";
                return false;
            }
            var payload = tag.Data[headerLength..];
            if (header.PacketType == FlvVideoPacketType.SequenceStart) configuration ??= payload.ToArray();
            else if (header.PacketType == FlvVideoPacketType.CodedFrames)
                frames.Add(new MultitrackEncodedFrame(tag.TimestampMs, header.IsKeyframe, header.CompositionTimeMs, payload.ToArray()));
            return true; // the end-of-sequence tag ffmpeg writes last carries nothing to send
        }, out string? error);
        if (problem is not null || error is not null || file.Slice(end).Length != 0)
            throw new InvalidOperationException($"{path}: {problem ?? error ?? "the file ends inside a tag"}");
        return (configuration, frames, audio);
    }

    /// <summary>
    /// Splits x265's Annex B stream at its access unit delimiters into pictures; the VPS, SPS and PPS go into the hvcC record
    /// (sent as the track's sequence start) and every other NAL unit into its picture, length-prefixed as hvc1 samples are.
    /// </summary>
    private static MultitrackEncodedTrack ReadAnnexBHevc(string path, byte trackId, MultitrackRendition rendition)
    {
        const int Vps = 32, Sps = 33, Pps = 34, AccessUnitDelimiter = 35;
        byte[] file = File.ReadAllBytes(path);
        List<byte[]> vps = [], sps = [], pps = [];
        var frames = new List<MultitrackEncodedFrame>();
        var picture = new ArrayBufferWriter<byte>();
        bool keyframe = false, started = false;
        var reader = new AnnexBReader(file);
        while (reader.TryReadNext(out var nal))
        {
            int type = (nal[0] >> 1) & 0x3F;
            if (type == AccessUnitDelimiter)
            {
                if (started) EndPicture();
                started = true;
                continue;
            }
            if (!started) throw new InvalidOperationException($"{path} does not start with an access unit delimiter (x265 aud=1).");
            if (type is Vps or Sps or Pps)
            {
                var sets = type == Vps ? vps : type == Sps ? sps : pps;
                AddOnce(sets, nal);
                continue;
            }
            keyframe |= type is >= 16 and <= 21; // IRAP pictures: BLA, IDR, CRA
            BinaryPrimitives.WriteInt32BigEndian(picture.GetSpan(4), nal.Length);
            picture.Advance(4);
            picture.Write(nal);
        }
        if (started) EndPicture();
        if (!HevcDecoderConfigurationRecord.TryCreate(vps, sps, pps, out var record))
            throw new InvalidOperationException($"{path}: no usable VPS, SPS and PPS for an hvcC record.");
        return new MultitrackEncodedTrack(trackId, FourCcHvc1, rendition.Width, rendition.Height, record.ToArray(), frames);

        static void AddOnce(List<byte[]> sets, ReadOnlySpan<byte> set)
        {
            foreach (var known in sets)
                if (known.AsSpan().SequenceEqual(set)) return;
            sets.Add(set.ToArray());
        }

        void EndPicture()
        {
            // Times are given by ShareTimestamps; a raw stream has none of its own.
            if (picture.WrittenCount > 0) frames.Add(new MultitrackEncodedFrame(0, keyframe, 0, picture.WrittenSpan.ToArray()));
            picture.ResetWrittenCount();
            keyframe = false;
        }
    }
}
