using Broadcast.Ingest.Srt;
using Broadcast.Ingest.Tests.Srt;
using Broadcast.TestSupport.Fuzzing;
using Xunit.Abstractions;

namespace Broadcast.Ingest.Tests.Fuzzing;

/// <summary>Fuzzes the SRT stream id parser, the first thing an unauthenticated caller's bytes reach (in libsrt's callback).</summary>
public class SrtStreamIdFuzzTests(ITestOutputHelper output)
{
    [Fact]
    public void Stream_id_parser()
    {
        var seeds = FuzzSeeds.Column(SrtStreamIdTests.Cases, 2).ToList();
        var report = FuzzRunner.Run("srt stream id", seeds, (input, _) =>
        {
            bool ok = SrtStreamId.TryParse(input, out var id, out var error);
            if (!ok && string.IsNullOrEmpty(error)) throw new InvalidOperationException("refused without a reason");
            if (ok && (id.App.Length == 0 || id.StreamKey.Length == 0)) throw new InvalidOperationException("accepted without app or key");
            return ok;
        }, new FuzzOptions { MaxInputLength = 1024 });
        output.WriteLine(report.ToString());
        Assert.Equal(FuzzSettings.Iterations, report.Accepted + report.Refused);
        Assert.True(report.Accepted > 0 && report.Refused > 0, report.ToString());
    }
}
