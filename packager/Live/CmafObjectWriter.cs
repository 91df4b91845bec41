using System.Buffers;
using Broadcast.Media;
using Broadcast.Packager.Cmaf;
using Broadcast.Packager.Cmaf.Boxes;
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
/// name EXT-X-MAP before EXT-X-KEY, RFC 8216bis §4.4.4.5). A rotated broadcast's objects are each encrypted under the key
/// its <see cref="KeySchedule"/> gives their segment's number.
/// </summary>
internal sealed class CmafObjectWriter
{
    private readonly PackagedBroadcast _broadcast;
    private readonly Dictionary<string, int> _storedInit = new(StringComparer.Ordinal);
    // Per rendition, the encryptors of the last two key periods: a rotated broadcast's LL parts of the next segment may go
    // out before the segment before it closes, and each must find the very encryptor (its IV seed) its parts had.
    private readonly Dictionary<string, List<(MediaTrack Track, int Period, TrackEncryptor Encryptor)>> _encryptors = new(StringComparer.Ordinal);
    private readonly List<(int Period, WholeSegmentCipher Cipher)> _wholeSegment = [];
    private readonly ArrayBufferWriter<byte> _buffer = new(256 * 1024);
    private readonly ArrayBufferWriter<byte>? _sealed;

    public CmafObjectWriter(PackagedBroadcast broadcast)
    {
        _broadcast = broadcast;
        if (broadcast.Protection is { WholeSegment: true }) _sealed = new ArrayBufferWriter<byte>(256 * 1024);
    }

    /// <summary>The rendition's encryptor for <paramref name="track"/> in segment <paramref name="number"/>'s key period, or
    /// null when its samples are not encrypted (a clear broadcast, or one encrypted whole).</summary>
    private TrackEncryptor? Encryptor(string rendition, MediaTrack track, long number)
    {
        if (_broadcast.Protection is not { WholeSegment: false } || _broadcast.Keys is not { } keys) return null;
        var period = keys.For(number);
        if (!_encryptors.TryGetValue(rendition, out var kept)) _encryptors[rendition] = kept = [];
        TrackEncryptor? encryptor = null;
        for (int i = kept.Count - 1; i >= 0; i--)
        {
            if (kept[i].Period == period.Index && ReferenceEquals(kept[i].Track, track)) encryptor = kept[i].Encryptor;
            // A track change (a new decoder configuration) or a period two behind: nothing will be written with it again.
            else if (!ReferenceEquals(kept[i].Track, track) || kept[i].Period < period.Index - 1)
            {
                kept[i].Encryptor.Dispose();
                kept.RemoveAt(i);
            }
        }
        if (encryptor is null)
        {
            encryptor = period.Protection.EncryptorFor(track, keys.First.Key.Id);
            kept.Add((track, period.Index, encryptor));
        }
        encryptor.FragmentSystemHeaders = KeySchedule.FragmentHeaders(period, number);
        return encryptor;
    }

    /// <summary>
    /// Stores a rendition's init segment the first time a segment or part of that decoder configuration goes out.
    /// Returns its size when it was stored now, null when it already was. Its tenc names the broadcast's first key, its
    /// moov that key's pssh boxes; a later key of a rotated broadcast is named in each fragment instead.
    /// </summary>
    public async ValueTask<long?> PutInitAsync(string rendition, MediaTrack track, int initVersion, CancellationToken cancellationToken)
    {
        if (_storedInit.TryGetValue(rendition, out int stored) && stored == initVersion) return null;
        _buffer.ResetWrittenCount();
        TrackProtection? protection = null;
        if (_broadcast.Protection is { WholeSegment: false } p)
        {
            using var first = p.EncryptorFor(track);
            protection = first.Protection(p.SystemHeaders);
        }
        CmafWriter.WriteInitSegment(_buffer, track, 1, protection);
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
        var encryptor = Encryptor(seg.Rendition, seg.Track, seg.Number);
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
        CmafPartWriter.WritePart(_buffer, part, 1, Encryptor(part.Rendition, part.Track, part.Number));
        string key = $"{_broadcast.Channel}/{part.Rendition}/{LowLatencyPlaylist.PartName(_broadcast.BroadcastId, part.Number, part.Index)}";
        return _broadcast.Store.PutAsync(key, Sealed(part.Number), ContentType(part.Track), CachePolicies.Immutable, cancellationToken);
    }

    /// <summary>The object just written: as it is, or encrypted whole with segment <paramref name="number"/>'s IV (§5.2)
    /// under the key of its period.</summary>
    private ReadOnlyMemory<byte> Sealed(long number)
    {
        if (_sealed is null) return _buffer.WrittenMemory;
        _sealed.ResetWrittenCount();
        WholeSegmentCipherFor(number).Encrypt(_buffer.WrittenSpan, number, _sealed);
        return _sealed.WrittenMemory;
    }

    private WholeSegmentCipher WholeSegmentCipherFor(long number)
    {
        var period = _broadcast.Keys!.For(number);
        foreach (var (index, cipher) in _wholeSegment)
            if (index == period.Index) return cipher;
        // Two periods kept, as for the sample encryptors.
        for (int i = _wholeSegment.Count - 1; i >= 0; i--)
        {
            if (_wholeSegment[i].Period >= period.Index - 1) continue;
            _wholeSegment[i].Cipher.Dispose();
            _wholeSegment.RemoveAt(i);
        }
        var made = period.Protection.WholeSegmentCipher();
        _wholeSegment.Add((period.Index, made));
        return made;
    }

    private static string ContentType(MediaTrack track) => track.Kind == MediaKind.Audio ? ContentTypes.AudioMp4 : ContentTypes.VideoMp4;
}
