using System.Buffers;
using Broadcast.Media;
using static Broadcast.Packager.Cmaf.CmafReader;

namespace Broadcast.Packager.Cmaf.Encryption;

/// <summary>A clear track's media segment encrypted as the packager encrypts its own (for a clip's re-cut ends).</summary>
public static class SegmentEncryption
{
    /// <summary>
    /// <paramref name="segment"/>'s samples (of the track <paramref name="track"/> heads) encrypted by
    /// <paramref name="encryptor"/> into one fragment with its saiz, saio and senc, at the same decode times.
    /// </summary>
    public static byte[] Encrypt(ReadOnlyMemory<byte> segment, CmafTrackHeader track, MediaKind kind, TrackEncryptor encryptor)
    {
        ArgumentNullException.ThrowIfNull(encryptor);
        var read = ReadSamples(segment, track);
        if (read.Count == 0) throw new InvalidDataException("the segment has no sample");
        var samples = read.Select(s => new CmafSample(s.Data, s.Duration, s.CompositionOffset, s.IsSync)).ToArray();
        var encryption = encryptor.Encrypt(samples, TrackEncryptor.Place(0, 0, 0));
        var output = new ArrayBufferWriter<byte>(segment.Length + 256 + 64 * samples.Length);
        CmafWriter.WriteMediaSegment(output, 1, track.TrackId, read[0].DecodeTime, samples, kind, encryption);
        return output.WrittenSpan.ToArray();
    }
}
