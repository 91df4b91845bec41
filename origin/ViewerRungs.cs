namespace Broadcast.Origin;

/// <summary>
/// The rung names one channel's viewers fetched media from on this node, for the audience split by rung. A name comes from
/// the store key a served request named (<c>{channel}/{rendition}/…</c>: the rendition's media playlist, its init
/// segment, its segments and LL parts), so it is one of the channel's ladder (or its audio); still, the table keeps at most
/// <see cref="MaxRungs"/> names, and any further name, or one longer than <see cref="MaxNameLength"/>, is
/// <see cref="Other"/>: nothing a client sends can grow it.
/// </summary>
/// <remarks>
/// Hot path: <see cref="Of"/> compares the span with the names it holds (at most <see cref="MaxRungs"/>, ordinal) and
/// returns the stored string, so a known rung allocates nothing; a new name allocates once, under the lock.
/// </remarks>
public sealed class ViewerRungs
{
    /// <summary>Names kept per channel: a ladder of a source and a dozen rungs fits, with room for an encoder's tracks.</summary>
    public const int MaxRungs = 16;

    /// <summary>A name longer than this is <see cref="Other"/>: a bound on what each viewer carries to the control node.</summary>
    public const int MaxNameLength = 64;

    /// <summary>What a rung beyond the cap (or with too long a name) is reported as.</summary>
    public const string Other = "other";

    /// <summary>The store name of the default audio rendition; alternates are <c>audio-{tag}</c> (packager's AudioRenditionLabel).</summary>
    private const string Audio = "audio";

    private readonly string[] _names = new string[MaxRungs];
    private int _count;

    /// <summary>The names held now (for a test and for the sampler's fold; not on the hot path).</summary>
    public int Count => Volatile.Read(ref _count);

    /// <summary>
    /// The stored name for <paramref name="rendition"/> (a store key's second segment), <see cref="Other"/> once the table is
    /// full or the name too long, or null for an empty span (the request named no rendition: a master, an MPD).
    /// </summary>
    public string? Of(ReadOnlySpan<char> rendition)
    {
        if (rendition.IsEmpty) return null;
        if (rendition.Length > MaxNameLength) return Other;
        int count = Volatile.Read(ref _count);
        for (int i = 0; i < count; i++)
        {
            if (rendition.SequenceEqual(_names[i])) return _names[i];
        }

        lock (_names)
        {
            for (int i = count; i < _count; i++)
            {
                if (rendition.SequenceEqual(_names[i])) return _names[i];
            }

            if (_count == MaxRungs) return Other;
            // The name is written before the count is published, so a reader that sees the count sees the name.
            _names[_count] = rendition.ToString();
            Volatile.Write(ref _count, _count + 1);
            return _names[_count - 1];
        }
    }

    /// <summary>
    /// Whether <paramref name="rung"/> is an audio rendition (<c>audio</c>, <c>audio-fr</c>): a viewer fetches it beside the
    /// video rung it watches, so it stands for the viewer's rung only while no video rung is known (an audio-only stream).
    /// </summary>
    public static bool IsAudio(string rung) =>
        rung.StartsWith(Audio, StringComparison.Ordinal) && (rung.Length == Audio.Length || rung[Audio.Length] == '-');

    /// <summary>
    /// The rendition a store key names for the rung split: the second segment of <c>{channel}/{rendition}/{file}</c>, or
    /// empty for a key with fewer segments (a master, an MPD) or under a channel's <c>recordings/</c> or <c>clips/</c>
    /// folders, whose playlists name no rung (their segments, under the rendition's folder, do).
    /// </summary>
    public static ReadOnlySpan<char> RenditionOf(ReadOnlySpan<char> key, int firstSlash)
    {
        var rest = key[(firstSlash + 1)..];
        int slash = rest.IndexOf('/');
        if (slash <= 0) return default;
        var rendition = rest[..slash];
        return Broadcast.Storage.StoreKeys.IsChannelFolder(rendition) ? default : rendition;
    }
}
