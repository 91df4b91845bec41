using System.Text;
using Broadcast.Packager.Manifests;
using Broadcast.Packager.Tests.Manifests;
using Broadcast.TestSupport.Fuzzing;
using Xunit.Abstractions;

namespace Broadcast.Packager.Tests.Fuzzing;

/// <summary>
/// Fuzzes what the origin reads of a stored low-latency playlist for every blocking reload (<see cref="LowLatencyPlaylist.ReadPosition"/>)
/// and the decision it then makes (<see cref="BlockingPlaylistReload.Decide"/>), from mutations of real playlists. The store
/// holds only what the packager wrote, but an origin reading a bucket another node writes must not fall over a damaged object.
/// </summary>
public class LowLatencyPlaylistFuzzTests(ITestOutputHelper output)
{
    [Fact]
    public void Playlist_position_and_the_reload_decision()
    {
        var seeds = new List<byte[]>
        {
            Encoding.UTF8.GetBytes(LowLatencyPlaylistTests.Live(4, 6, 2)),
            Encoding.UTF8.GetBytes(LowLatencyPlaylistTests.Live(4, 6, 0)),
            Encoding.UTF8.GetBytes(LowLatencyPlaylistTests.Live(12, 12, 3)),
            "#EXT-X-PART:DURATION=0.3,URI=\"a-4.5.m4s\"\n#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"a-5.0.m4s\"\n"u8.ToArray(),
            "#EXT-X-PART-INF:PART-TARGET=0.368\n#EXT-X-TARGETDURATION:2\n"u8.ToArray(),
        };
        long[] msns = [0, 1, 4, 5, 6, 7, long.MaxValue];
        int?[] parts = [null, 0, 1, 5, 6, 9, int.MaxValue];
        var report = FuzzRunner.Run("ll-hls position", seeds, (input, random) =>
        {
            var position = LowLatencyPlaylist.ReadPosition(input);
            if (position.PartTargetMilliseconds < 0 || position.PartsOfPrevious < -1 || position.TargetSeconds < 0)
                throw new InvalidOperationException($"read {position}");
            if (position.HasHint && (position.NextMsn < 0 || position.NextPart < 0)) throw new InvalidOperationException($"a negative hint: {position}");
            var decision = BlockingPlaylistReload.Decide(position, random.Pick(msns), random.Pick(parts));
            if (!Enum.IsDefined(decision)) throw new InvalidOperationException($"decided {decision}");
            // The byte and string forms of a part name read alike.
            string text = Encoding.Latin1.GetString(input);
            bool asBytes = LowLatencyPlaylist.TryParsePartName(input, out long n1, out int k1);
            bool asString = LowLatencyPlaylist.TryParsePartName(text, out long n2, out int k2);
            if (asBytes != asString || (asBytes && (n1, k1) != (n2, k2))) throw new InvalidOperationException($"part name read apart: bytes {asBytes} {n1}.{k1}, string {asString} {n2}.{k2}");
            return position.HasHint;
        });
        output.WriteLine(report.ToString());
        Assert.Equal(FuzzSettings.Iterations, report.Accepted + report.Refused);
        Assert.True(report.Accepted > 0 && report.Refused > 0, report.ToString());
    }
}
