using System.Buffers;
using Broadcast.Media;
using Broadcast.Packager.Cmaf;
using Broadcast.Packager.Cmaf.Encryption;
using Broadcast.Packager.Manifests;
using Broadcast.Packager.Segmenting;
using Broadcast.Storage;

namespace Broadcast.Packager.Live;

/// <summary>
/// Puts one broadcast's CMAF objects into the store under their keys: init segments, segments and low-latency parts,
/// each written into one reused buffer (no allocation per object). Kept apart from <see cref="StreamPackager"/>, which
/// decides when they go and whom to tell, so the bytes and keys of an object are in one place.
/// Serialised by its <see cref="StreamPackager"/>. When the broadcast is protected every object is encrypted, each
/// rendition by its own <see cref="TrackEncryptor"/> (made again when its track, and so its decoder configuration, changes);
/// with HLS whole-segment encryption (<see cref="EncryptionScheme.Aes128"/>) the CMAF is written clear and each segment and
/// part is then encrypted whole into a second reused buffer (<see cref="WholeSegmentCipher"/>, IV: its segment's number),
/// so the store, origins and edges hold and serve the encrypted bytes as they are. Init segments stay clear (the playlists
/// name EXT-X-MAP before EXT-X-KEY, RFC 8216bis §4.4.4.5).
/// </summary>
internal sealed class CmafObjectWriter
{
    private readonly PackagedBroadcast _broadcast;
    private readonly Dictionary<string, int> _storedInit = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (MediaTrack Track, TrackEncryptor Encryptor)> _encryptors = new(StringComparer.Ordinal);
    private readonly ArrayBufferWriter<byte> _buffer = new(256 * 1024);
    private readonly WholeSegmentCipher? _wholeSegment;
    private readonly ArrayBufferWriter<byte>? _sealed;

    public CmafObjectWriter(PackagedBroadcast broadcast)
    {
        _broadcast = broadcast;
        if (broadcast.Protection is { WholeSegment: true } protection)
        {
            _wholeSegment = protection.WholeSegmentCipher();
            _sealed = new ArrayBufferWriter<byte>(256 * 1024);
        }
    }

    /// <summary>The rendition's encryptor for <paramref name="track"/>, or null when its samples are not encrypted (a clear
    /// broadcast, or one encrypted whole).</summary>
    private TrackEncryptor? Encryptor(string rendition, MediaTrack track)
    {
        if (_broadcast.Protection is not { WholeSegment: false } protection) return null;
        if (_encryptors.TryGetValue(rendition, out var current) && ReferenceEquals(current.Track, track)) return current.Encryptor;
        current.Encryptor?.Dispose();
        var encryptor = protection.EncryptorFor(track);
        _encryptors[rendition] = (track, encryptor);
        return encryptor;
    }

    /// <summary>
    /// Stores a rendition's init segment the first time a segment or part of that decoder configuration goes out.
    /// Returns its size when it was stored now, null when it already was.
    /// </summary>
    public async ValueTask<long?> PutInitAsync(string rendition, MediaTrack track, int initVersion, CancellationToken cancellationToken)
    {
        if (_storedInit.TryGetValue(rendition, out int stored) && stored == initVersion) return null;
        _buffer.ResetWrittenCount();
        CmafWriter.WriteInitSegment(_buffer, track, 1, Encryptor(rendition, track)?.Protection(_broadcast.Protection!.SystemHeaders));
        long size = _buffer.WrittenCount;
        string key = StoreKeys.Init(_broadcast.Channel, rendition, _broadcast.BroadcastId, initVersion);
        await _broadcast.Store.PutAsync(key, _buffer.WrittenMemory, ContentType(track), CachePolicies.Immutable, cancellationToken)
            .ConfigureAwait(false);
        _storedInit[rendition] = initVersion;
        return size;
    }

    /// <summary>
    /// Stores a closed segment (its init segment must be stored already) and gives its <paramref name="size"/>. Returns the
    /// store's own put, not an async wrapper of it, so an object costs no more than the put itself.
    /// </summary>
    public ValueTask PutSegmentAsync(ClosedSegment seg, out long size, CancellationToken cancellationToken)
    {
        _buffer.ResetWrittenCount();
        var encryptor = Encryptor(seg.Rendition, seg.Track);
        if (seg.PartStarts is not null) CmafPartWriter.WriteSegment(_buffer, seg, 1, encryptor);
        else CmafWriter.WriteMediaSegment(_buffer, (uint)seg.Number, 1, seg.StartTime, seg.Samples, seg.Track.Kind,
            encryptor?.Encrypt(seg.Samples, TrackEncryptor.Place(seg.Number, 0, 0)));
        var bytes = Sealed(seg.Number);
        size = bytes.Length;
        string key = StoreKeys.Segment(_broadcast.Channel, seg.Rendition, _broadcast.BroadcastId, seg.Number);
        return _broadcast.Store.PutAsync(key, bytes, ContentType(seg.Track), CachePolicies.Immutable, cancellationToken);
    }

    /// <summary>Stores a low-latency part, an immutable object named after its segment and index (the store's put, as above).</summary>
    public ValueTask PutPartAsync(ClosedPart part, CancellationToken cancellationToken)
    {
        _buffer.ResetWrittenCount();
        CmafPartWriter.WritePart(_buffer, part, 1, Encryptor(part.Rendition, part.Track));
        string key = $"{_broadcast.Channel}/{part.Rendition}/{LowLatencyPlaylist.PartName(_broadcast.BroadcastId, part.Number, part.Index)}";
        return _broadcast.Store.PutAsync(key, Sealed(part.Number), ContentType(part.Track), CachePolicies.Immutable, cancellationToken);
    }

    /// <summary>The object just written: as it is, or encrypted whole with segment <paramref name="number"/>'s IV (§5.2).</summary>
    private ReadOnlyMemory<byte> Sealed(long number)
    {
        if (_wholeSegment is null) return _buffer.WrittenMemory;
        _sealed!.ResetWrittenCount();
        _wholeSegment.Encrypt(_buffer.WrittenSpan, number, _sealed);
        return _sealed.WrittenMemory;
    }

    private static string ContentType(MediaTrack track) => track.Kind == MediaKind.Audio ? ContentTypes.AudioMp4 : ContentTypes.VideoMp4;
}
