using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Broadcast.Control.Clips;
using Broadcast.Media;
using Broadcast.Packager.Cmaf;
using Broadcast.Packager.Cmaf.Boxes;
using Broadcast.Packager.Cmaf.Encryption;
using Broadcast.Packager.Live;
using Broadcast.Storage;
using Broadcast.TestSupport;
using Microsoft.Extensions.Logging.Abstractions;

namespace Broadcast.Clips.Tests;

/// <summary>
/// A broadcast's content key as the packager had it, for a protected <see cref="StoredClipMedia"/>: the key, the 'cbcs'
/// constant IV and the ClearKey pssh, and the HLS key tags its playlists carry.
/// </summary>
internal sealed record StoredProtection(ContentKey Key, string KeyHex, InitializationVector ConstantIv)
{
    public static readonly StoredProtection Cbcs = new(
        new ContentKey(KeyId.FromBytes(Convert.FromHexString("00112233445566778899aabbccddeeff")), Convert.FromHexString("3c4f5d6e7f8091a2b3c4d5e6f708192a")),
        "3c4f5d6e7f8091a2b3c4d5e6f708192a", InitializationVector.FromBytes(Convert.FromHexString("9a8b7c6d5e4f30211203f4e5d6c7b8a9")));

    /// <summary>The key a rotated broadcast's second key period is under (its own KID, key and 'cbcs' constant IV).</summary>
    public static readonly StoredProtection CbcsNext = new(
        new ContentKey(KeyId.FromBytes(Convert.FromHexString("8899aabbccddeeff0011223344556677")), Convert.FromHexString("c3b4a5968778695a4b3c2d1e0f1a2b3c")),
        "c3b4a5968778695a4b3c2d1e0f1a2b3c", InitializationVector.FromBytes(Convert.FromHexString("1b2c3d4e5f60718293a4b5c6d7e8f901")));

    public byte[] Pssh => ProtectionSystemHeader.Create(ProtectionSystemHeader.ClearKeySystemId, [Key.Id], []);

    /// <summary>The media playlists' EXT-X-KEY as the packager writes it for 'cbcs' with ClearKey (docs/protection.md).</summary>
    public string KeyTag => "#EXT-X-KEY:METHOD=SAMPLE-AES,URI=\"data:text/plain;base64," + Convert.ToBase64String(Key.Id.ToArray())
        + "\",KEYFORMAT=\"org.w3.clearkey\",KEYFORMATVERSIONS=\"1\"";

    /// <summary>The key URI an aes-128 broadcast's playlists name (the origin's key route, by KID).</summary>
    public string KeyUri => $"/live/{StoredClipMedia.Slug}/key/{Convert.ToHexStringLower(Key.Id.ToArray())}";

    /// <summary>The media playlists' EXT-X-KEY as the packager writes it for aes-128: after each map, no IV.</summary>
    public string WholeSegmentKeyTag => $"#EXT-X-KEY:METHOD=AES-128,URI=\"{KeyUri}\"";

    public string WholeSegmentSessionKeyTag => WholeSegmentKeyTag.Replace("#EXT-X-KEY:", "#EXT-X-SESSION-KEY:", StringComparison.Ordinal);

    /// <summary>The master's EXT-X-SESSION-KEY.</summary>
    public string SessionKeyTag => KeyTag.Replace("#EXT-X-KEY:", "#EXT-X-SESSION-KEY:", StringComparison.Ordinal);

    /// <summary>
    /// The packager's key port as the finisher asks it: the broadcast's own keys (with their ClearKey pssh) for their
    /// KIDs, and the KIDs asked.
    /// </summary>
    public sealed class Provider(params StoredProtection[] protections) : IContentKeyProvider
    {
        public List<KeyId?> Asked { get; } = [];

        public ValueTask<ContentKeyGrant> KeyForAsync(string channel, EncryptionScheme scheme, KeyId? continuing, CancellationToken cancellationToken)
        {
            Asked.Add(continuing);
            // As the ClearKey provider does: the kept key for a KID it has, else a new one.
            var kept = protections.FirstOrDefault(p => p.Key.Id == continuing);
            var grant = kept is null ? new ContentKeyGrant(new ContentKey(KeyId.FromBytes(new byte[16]), new byte[16]), [])
                : new ContentKeyGrant(kept.Key, [new ProtectionSystem(ProtectionSystemHeader.ClearKeySystemId, kept.Pssh)]);
            return ValueTask.FromResult(grant);
        }
    }
}

/// <summary>
/// Real CMAF media laid out in a filesystem store as the packager stores it, for the clip tests that run ffmpeg: three
/// 2 s segments of 30 fps video whose frames carry their number within the segment as their brightness (luma 4·n), and
/// AAC audio beside them, with the live playlists and master; encrypted with a broadcast's key when a
/// <see cref="StoredProtection"/> is given (init segments with sinf and pssh, segments with senc, key tags in the playlists),
/// and with key rotation when a second one is: segments 2 and 3 under it, as a rotating packager stores them
/// (docs/protection.md: 'cbcs' fragments naming it in a 'seig' sample group with both keys' pssh in their moof, an aes-128
/// segment encrypted whole with it; either way its key tag before segment 2 in the playlists).
/// </summary>
internal sealed partial class StoredClipMedia : IDisposable
{
    public const string Slug = "show";
    public const string Broadcast = StoredClipWindow.Broadcast;
    public static readonly DateTimeOffset T0 = StoredClipWindow.T0;
    private readonly TempDirectory _dir;

    public StoredClipMedia(string name)
    {
        _dir = new TempDirectory(name);
        Store = new FileSystemSegmentStore(Path.Combine(_dir.Path, "store"));
    }

    public string Root => _dir.Path;

    public FileSystemSegmentStore Store { get; }

    public FakeClipTable Clips { get; } = new(Broadcast);

    public void Dispose() => _dir.Dispose();

    /// <summary>
    /// Six seconds of real media in source and audio, stored under the packager's names, with the live playlists. With
    /// <paramref name="bFrames"/> the video has two B-frames and the segments are timed as the packager times them: tfdt the
    /// decode time, positive composition offsets, no edit list, 90 kHz, so a segment's first picture is presented two
    /// frames after its start.
    /// </summary>
    public async Task StoreAsync(bool bFrames = false, StoredProtection? protection = null, StoredProtection? wholeSegment = null,
        StoredProtection? rotateTo = null)
    {
        string[] timing = bFrames ? ["-hls_segment_options", "use_editlist=0:video_track_timescale=90000"] : [];
        foreach (var (rendition, input) in new[]
        {
            ("source", new[] { "-f", "lavfi", "-i", "color=c=black:s=160x120:r=30:d=6,format=yuv420p,geq=lum='mod(N,60)*4':cb=128:cr=128",
                "-c:v", "libx264", "-preset", "ultrafast", "-g", "60", "-keyint_min", "60", "-sc_threshold", "0", "-bf", bFrames ? "2" : "0" }),
            ("audio", new[] { "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000:duration=6", "-c:a", "aac", "-b:a", "96k" }),
        })
        {
            string dir = Path.Combine(_dir.Path, rendition);
            Directory.CreateDirectory(dir);
            MediaTools.Run("ffmpeg", [.. new[] { "-hide_banner", "-loglevel", "error", "-y" }, .. input, "-f", "hls", "-hls_segment_type", "fmp4", .. timing,
                "-hls_time", "2", "-hls_list_size", "0", "-hls_fmp4_init_filename", "init.mp4", "-hls_segment_filename",
                Path.Combine(dir, "seg%d.m4s"), Path.Combine(dir, "out.m3u8")]);
            var init = await File.ReadAllBytesAsync(Path.Combine(dir, "init.mp4"));
            var segments = new List<byte[]>();
            for (int n = 1; n <= 3; n++) segments.Add(await File.ReadAllBytesAsync(Path.Combine(dir, $"seg{n - 1}.m4s")));
            if (protection is not null) (init, segments) = Encrypt(init, segments, protection, rotateTo);
            // aes-128 as the packager writes it: the CMAF clear, each segment encrypted whole under its number (its MSN, §5.2).
            if (wholeSegment is not null) segments = EncryptWhole(segments, wholeSegment, rotateTo);
            await Store.PutAsync(StoreKeys.Init(Slug, rendition, Broadcast, 0), init, ContentTypes.VideoMp4, "no-store", default);
            for (int n = 1; n <= 3; n++)
                await Store.PutAsync(StoreKeys.Segment(Slug, rendition, Broadcast, n), segments[n - 1], ContentTypes.VideoMp4, "no-store", default);
            string window = StoredClipWindow.Window(1, 3);
            if (protection is not null) window = window.Replace("#EXT-X-MAP:", protection.KeyTag + "\n#EXT-X-MAP:", StringComparison.Ordinal);
            if (wholeSegment is not null)
                window = window.Replace("-init.mp4\"\n", "-init.mp4\"\n" + wholeSegment.WholeSegmentKeyTag + "\n", StringComparison.Ordinal);
            if (rotateTo is not null)
                window = window.Replace($"#EXTINF:2.000,\n{Broadcast}-2.m4s", (wholeSegment is null ? rotateTo.KeyTag : rotateTo.WholeSegmentKeyTag)
                    + $"\n#EXTINF:2.000,\n{Broadcast}-2.m4s", StringComparison.Ordinal);
            await Store.PutAsync(StoreKeys.MediaPlaylist(Slug, rendition), Encoding.UTF8.GetBytes(window), ContentTypes.Hls, "no-store", default);
        }
        string master = StoredClipWindow.Master;
        if (wholeSegment is not null)
            master = master.Replace("#EXT-X-INDEPENDENT-SEGMENTS\n", "#EXT-X-INDEPENDENT-SEGMENTS\n" + wholeSegment.WholeSegmentSessionKeyTag + "\n",
                StringComparison.Ordinal);
        if (protection is not null)
            master = master.Replace("#EXT-X-INDEPENDENT-SEGMENTS\n", "#EXT-X-INDEPENDENT-SEGMENTS\n" + protection.SessionKeyTag + "\n", StringComparison.Ordinal);
        await Store.PutAsync(StoreKeys.Master(Slug), Encoding.UTF8.GetBytes(master), ContentTypes.Hls, "no-store", default);
    }

    /// <summary>
    /// ffmpeg's clear init and segments encrypted as the packager encrypts a broadcast: one encryptor per rendition and key;
    /// rotated to <paramref name="next"/> from segment 2, whose fragments name it in their sample group.
    /// </summary>
    private static (byte[] Init, List<byte[]> Segments) Encrypt(byte[] init, List<byte[]> segments, StoredProtection protection, StoredProtection? next)
    {
        var track = ProtectedInit.TrackOf(init);
        using var encryptor = new TrackEncryptor(protection.Key, EncryptionScheme.Cbcs, track, 0, protection.ConstantIv);
        using var rotated = next is null ? null : new TrackEncryptor(next.Key, EncryptionScheme.Cbcs, track, 0, next.ConstantIv);
        var header = CmafReader.ReadInit(init);
        return (ProtectedInit.Protect(init, encryptor.Protection([protection.Pssh])), segments.Select((s, i) =>
        {
            if (i == 0 || rotated is null) return SegmentEncryption.Encrypt(s, header, track.Kind, encryptor);
            var group = SampleEncryptionGroupEntry.Of(rotated.Protection());
            return CmafSplice.Insert(SegmentEncryption.Encrypt(s, header, track.Kind, rotated), n =>
            {
                var boxes = new System.Buffers.ArrayBufferWriter<byte>();
                SampleEncryptionGroup.Write(boxes, n, group);
                return boxes.WrittenSpan.ToArray();
            }, [.. protection.Pssh, .. next!.Pssh]);
        }).ToList());
    }

    private static List<byte[]> EncryptWhole(List<byte[]> segments, StoredProtection protection, StoredProtection? next)
    {
        using var cipher = new WholeSegmentCipher(Convert.FromHexString(protection.KeyHex));
        using var rotated = next is null ? null : new WholeSegmentCipher(Convert.FromHexString(next.KeyHex));
        return segments.Select((s, i) =>
        {
            var encrypted = new byte[WholeSegmentCipher.EncryptedLength(s.Length)];
            (i == 0 || rotated is null ? cipher : rotated).Encrypt(s, i + 1, encrypted);
            return encrypted;
        }).ToList();
    }

    public ClipFinisher Finisher(IContentKeyProvider? keys = null) => new(Store, Clips, new ClipFinishSettings("ffmpeg", Path.Combine(_dir.Path, "work")),
        TimeProvider.System, NullLogger<ClipFinisher>.Instance, keys: keys);

    public async Task<ClipCutResult> MakeAsync(string id, DateTimeOffset from, DateTimeOffset to) =>
        await new StoreClipMedia(Store, Clips, Finisher()).WriteAsync(
            new ClipCutRequest(Slug, id, null, ClipPoint.Time(from), ClipPoint.Time(to), TimeSpan.FromMinutes(5)), default);

    public string PathOf(string key) => Path.Combine(_dir.Path, "store", key);

    /// <summary>The number (luma / 4) of the first picture of a stored object's video (a playlist or a file), and how long ffprobe says it lasts.</summary>
    public (int First, double Seconds) Probe(string key) => ProbeFile(PathOf(key));

    public static (int First, double Seconds) ProbeFile(string file)
    {
        string[] input = file.EndsWith(".m3u8", StringComparison.Ordinal) ? ["-allowed_extensions", "ALL", "-i", file] : ["-i", file];
        string stats = MediaTools.Run("ffmpeg", [.. new[] { "-hide_banner", "-loglevel", "error" }, .. input, "-frames:v", "1",
            "-vf", "signalstats,metadata=print:key=lavfi.signalstats.YAVG:file=-", "-f", "null", "-"]);
        var luma = Luma().Match(stats);
        string duration = MediaTools.Run("ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", file).Trim();
        return (luma.Success ? (int)Math.Round(double.Parse(luma.Groups[1].Value, CultureInfo.InvariantCulture) / 4) : -1,
            double.Parse(duration, CultureInfo.InvariantCulture));
    }

    [GeneratedRegex(@"YAVG=([0-9.]+)")]
    private static partial Regex Luma();
}
