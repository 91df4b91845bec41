using Broadcast.EndToEnd.Tests.Chat;
using Broadcast.EndToEnd.Tests.Clips;
using Broadcast.EndToEnd.Tests.Security;
using Broadcast.EndToEnd.Tests.Server;
using Broadcast.EndToEnd.Tests.Transcoding;
using Xunit.Abstractions;
using Xunit.Sdk;

[assembly: TestCollectionOrderer(
    "Broadcast.EndToEnd.Tests.LongestFirstCollectionOrderer", "Broadcast.EndToEnd.Tests")]

namespace Broadcast.EndToEnd.Tests;

/// <summary>
/// Starts the long collections first, so that the three lanes xunit runs at once (xunit.runner.json) end together. A
/// shared server's collection runs its classes one after another in one lane (about 5 minutes each); under xunit's
/// default order (by a hash of each collection's id) the one shared server of before started after 7 minutes of the
/// others, and the other lane then sat idle for its last 7 minutes (bench/RESULTS.md row 144, the CI of 5510479). After
/// them come the longest classes of their own, then the rest in xunit's own order. The collections that run alone
/// (DisableParallelization) still run after all of these, whatever their place.
/// </summary>
public sealed class LongestFirstCollectionOrderer : ITestCollectionOrderer
{
    /// <summary>The shared servers' collections, then the longest classes of their own (longest first, as last measured).</summary>
    internal static readonly string[] LongestFirst =
    [
        ServerCollection.Name,
        ViewerServerCollection.Name,
        RealTimeServerCollection.Name,
        typeof(ChatBrowserTests).FullName!,
        typeof(FrameRateTests).FullName!,
        typeof(EncoderLadderTests).FullName!,
        typeof(TranscodingTests).FullName!,
        typeof(ClearKeyPlaybackTests).FullName!,
        typeof(ClipBFrameEndToEndTests).FullName!,
        typeof(AesHlsPlaybackTests).FullName!,
    ];

    public IEnumerable<ITestCollection> OrderTestCollections(IEnumerable<ITestCollection> testCollections) =>
        testCollections
            .OrderBy(RankOf)
            .ThenBy(c => c.UniqueID.GetHashCode()); // xunit's default order among the rest

    /// <summary>
    /// The collection's place in <see cref="LongestFirst"/>, or after all of them. A defined collection's display name is
    /// its name; a class's own collection is named "Test collection for {full class name}", with an id after it.
    /// </summary>
    internal static int RankOf(ITestCollection collection) => RankOf(collection.DisplayName);

    internal static int RankOf(string displayName)
    {
        for (var i = 0; i < LongestFirst.Length; i++)
        {
            var name = LongestFirst[i];
            if (displayName == name
                || displayName == $"Test collection for {name}"
                || displayName.StartsWith($"Test collection for {name} ", StringComparison.Ordinal))
            {
                return i;
            }
        }

        return LongestFirst.Length;
    }
}
