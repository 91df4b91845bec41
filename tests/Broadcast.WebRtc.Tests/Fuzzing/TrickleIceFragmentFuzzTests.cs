using System.Text;
using Broadcast.TestSupport.Fuzzing;
using Broadcast.WebRtc.Sdp;
using Xunit.Abstractions;

namespace Broadcast.WebRtc.Tests.Fuzzing;

/// <summary>
/// Fuzzes the ICE fragment reader and the restart offer built from it: a WHEP session's PATCH body is client input that
/// becomes an offer to Janus, so every accepted fragment must make an offer that reads as SDP again.
/// </summary>
public class TrickleIceFragmentFuzzTests(ITestOutputHelper output)
{
    [Fact]
    public void Fragment_reader_and_restart_offer()
    {
        var seeds = FuzzSeeds.Column(TrickleIceFragmentTests.Cases, 2).Concat(FuzzSeeds.Column(TrickleIceFragmentTests.Malformed, 2)).ToList();
        var report = FuzzRunner.Run("sdpfrag", seeds, (input, random) =>
        {
            if (!TrickleIceFragment.TryParse(Encoding.UTF8.GetString(input), out var fragment, out string error))
            {
                if (error.Length == 0) throw new InvalidOperationException("refused without a reason");
                return false;
            }

            if (fragment.Candidates.Count > TrickleIceFragment.MaxCandidates) throw new InvalidOperationException($"{fragment.Candidates.Count} candidates accepted");
            if (fragment.Ufrag is not null)
            {
                string offer = fragment.ApplyTo(SdpSamples.ChromiumOffer);
                if (!SessionDescription.TryParse(offer, out _, out string again)) throw new InvalidOperationException($"the restart offer does not parse: {again}");
            }

            return true;
        }, new FuzzOptions { MaxInputLength = TrickleIceFragment.MaxBytes, AllocatedBytesPerInputByte = 256 });
        output.WriteLine(report.ToString());
        Assert.Equal(FuzzSettings.Iterations, report.Accepted + report.Refused);
        Assert.True(report.Accepted > 0 && report.Refused > 0, report.ToString());
    }
}
