using System.Text;
using Broadcast.Packager.Manifests;
using Broadcast.Packager.Tests.Manifests;
using Broadcast.TestSupport.Fuzzing;
using Xunit.Abstractions;

namespace Broadcast.Packager.Tests.Fuzzing;

/// <summary>
/// Fuzzes the steering rewrite of masters and MPDs (<see cref="ContentSteering"/>) with mutations of real ones: the
/// origin rewrites whatever the store holds, and a damaged object must give a damaged answer, never an exception
/// (which would turn a viewer's master request into a 500).
/// </summary>
public class ContentSteeringFuzzTests(ITestOutputHelper output)
{
    [Fact]
    public void Master_and_mpd_rewrites()
    {
        var seeds = new List<byte[]>
        {
            Encoding.UTF8.GetBytes(ContentSteeringTests.Master),
            "<?xml version=\"1.0\"?>\n<MPD type=\"dynamic\">\n  <Period id=\"p0\"/>\n</MPD>\n"u8.ToArray(),
            "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1,AUDIO=\"a\"\n../../v.m3u8\n#EXT-X-I-FRAME-STREAM-INF:URI=\"i.m3u8\"\n"u8.ToArray(),
        };
        var report = FuzzRunner.Run("content steering", seeds, (input, random) =>
        {
            string text = Encoding.UTF8.GetString(input);
            string master = ContentSteering.SteerHlsMaster(text, "/live/x/", ContentSteeringTests.Pathways, "/steering/hls", random.Next(2) == 0 ? null : "token=t");
            string mpd = ContentSteering.SteerMpd(text, "/live/x/", ContentSteeringTests.Pathways, "https://s/steering/dash");
            if (!master.Contains("#EXT-X-CONTENT-STEERING:", StringComparison.Ordinal)) throw new InvalidOperationException("no steering tag");
            return mpd.Length != text.Length;
        });
        output.WriteLine(report.ToString());
        Assert.Equal(FuzzSettings.Iterations, report.Accepted + report.Refused);
        Assert.True(report.Accepted > 0 && report.Refused > 0, report.ToString());
    }
}
