using System.Text;
using Broadcast.TestSupport.Fuzzing;
using Broadcast.WebRtc.Sdp;
using Xunit.Abstractions;

namespace Broadcast.WebRtc.Tests.Fuzzing;

/// <summary>Fuzzes the SDP reader and the NoSIP answer built on it: a WHEP offer is the first thing an anonymous viewer's bytes reach.</summary>
public class SessionDescriptionFuzzTests(ITestOutputHelper output)
{
    [Fact]
    public void Sdp_reader_and_nosip_answer()
    {
        var seeds = FuzzSeeds.Column(SessionDescriptionTests.Cases, 2)
            .Concat(FuzzSeeds.Column(SessionDescriptionTests.Malformed, 2))
            .Append(Encoding.UTF8.GetBytes(SdpSamples.NoSipGenerated))
            .Append(Encoding.UTF8.GetBytes(SdpSamples.ChromiumOffer))
            .ToList();
        var report = FuzzRunner.Run("sdp", seeds, (input, random) =>
        {
            bool ok = SessionDescription.TryParse(Encoding.UTF8.GetString(input), out var sdp, out string error);
            if (!ok)
            {
                if (error.Length == 0) throw new InvalidOperationException("refused without a reason");
                return false;
            }

            if (sdp.Media.Count is 0 or > SessionDescription.MaxMediaSections) throw new InvalidOperationException($"{sdp.Media.Count} media sections accepted");
            if (NoSipAnswer.TryBuild(sdp, 5004, 66, out string answer, out var plan, out error))
            {
                if (!SessionDescription.TryParse(answer, out _, out string again)) throw new InvalidOperationException($"our answer does not parse: {again}");
                if (plan.VideoPort is <= 0 or > 65535) throw new InvalidOperationException($"video port {plan.VideoPort}");
            }
            else if (error.Length == 0)
            {
                throw new InvalidOperationException("no answer without a reason");
            }

            return true;
        }, new FuzzOptions { MaxInputLength = 32 * 1024, AllocatedBytesPerInputByte = 256 });
        output.WriteLine(report.ToString());
        Assert.Equal(FuzzSettings.Iterations, report.Accepted + report.Refused);
        Assert.True(report.Accepted > 0 && report.Refused > 0, report.ToString());
    }
}
