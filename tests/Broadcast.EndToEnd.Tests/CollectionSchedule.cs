using Xunit.Abstractions;

// Two collections at a time (xunit's default on two cores; three were tried, and timing-bound tests failed beside each
// other), the longest first. The collections that measure time run alone after them (DisableParallelization: faults,
// storage, audio renditions, low latency).
[assembly: TestCollectionOrderer("Broadcast.EndToEnd.Tests.LongestFirstCollectionOrderer", "Broadcast.EndToEnd.Tests")]

namespace Broadcast.EndToEnd.Tests;

/// <summary>
/// Starts the longest collections first, so that the parallel phase does not end with one long collection running
/// alone (xunit otherwise starts them in an order of its own: the shared server's sixteen minutes began 222 s in, and
/// were the phase's critical path).
/// The list is the last clean-clone run's longest, longest first; a collection it does not name goes after them, in
/// xunit's order. A stale list costs time, never a result.
/// </summary>
public sealed class LongestFirstCollectionOrderer : ITestCollectionOrderer
{
    /// <summary>Collection names (a class's simple name for a class's own collection), with their seconds in that run.</summary>
    public static readonly IReadOnlyList<string> Longest =
    [
        "server", // 504 s
        "server (second)", // 481 s
        "ChatBrowserTests", // 207 s
        "EncoderLadderTests", // 122 s
        "FrameRateTests", // 100 s
        "TranscodingTests", // 95 s
        "ChatTwoNodeTests", // 70 s
        "ClearKeyPlaybackTests", // 67 s
        "ClipBFrameEndToEndTests", // 58 s
        "harness", // 58 s
        "RunScriptTests", // 54 s
        "ScheduledPublishTests", // 48 s
        "WhepPlaybackTests", // 42 s
        "SlateTests", // 40 s
        "CaptionTests", // 40 s
        "ClipFrameEndToEndTests", // 39 s
        "ClipEndToEndTests", // 35 s
    ];

    private const string ClassCollectionPrefix = "Test collection for ";

    public IEnumerable<ITestCollection> OrderTestCollections(IEnumerable<ITestCollection> testCollections)
    {
        var collections = testCollections.ToList();
        // A stable sort: collections the list does not name keep xunit's order among themselves.
        return collections
            .Select((collection, index) => (collection, index))
            .OrderBy(c => Rank(NameOf(c.collection.DisplayName)))
            .ThenBy(c => c.index)
            .Select(c => c.collection)
            .ToList();
    }

    /// <summary>
    /// A collection's name: its definition's, or for a class's own collection ("Test collection for
    /// Namespace.ClassName", perhaps followed by " (id: …)") the class's simple name.
    /// </summary>
    public static string NameOf(string displayName)
    {
        if (!displayName.StartsWith(ClassCollectionPrefix, StringComparison.Ordinal)) return displayName;
        string type = displayName[ClassCollectionPrefix.Length..];
        int space = type.IndexOf(' ', StringComparison.Ordinal);
        if (space >= 0) type = type[..space];
        return type[(type.LastIndexOf('.') + 1)..];
    }

    private static int Rank(string name)
    {
        for (int i = 0; i < Longest.Count; i++)
        {
            if (string.Equals(Longest[i], name, StringComparison.Ordinal)) return i;
        }

        return Longest.Count;
    }
}
