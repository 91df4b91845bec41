using System.Text;
using Broadcast.Control.Playback;
using Broadcast.Control.Playback.Jwt;
using Broadcast.Control.Tests.Playback;
using Broadcast.TestSupport;
using Broadcast.TestSupport.Fuzzing;
using Xunit.Abstractions;

namespace Broadcast.Control.Tests.Fuzzing;

/// <summary>Fuzzes playback JWTs, seeded from the refused case table and a good token: every answer is a result, and only an unmutated
/// good token (or one the mutator left valid) is accepted.</summary>
public class PlaybackJwtFuzzTests(ITestOutputHelper output)
{
    [Fact]
    public void Playback_jwts()
    {
        var now = new DateTimeOffset(2026, 11, 29, 12, 0, 0, TimeSpan.Zero);
        var verifier = new PlaybackJwtVerifier(PlaybackJwtTests.Options(), new ManualClock(now));
        var seeds = PlaybackJwtTests.Refused().Select(row => Encoding.ASCII.GetBytes((string)row[1]))
            .Append(Encoding.ASCII.GetBytes(PlaybackJwtSigner.Sign(PlaybackJwtTests.Signer.P256, "ES256",
                new Dictionary<string, object> { ["channel"] = "members" }, now.UtcDateTime.AddMinutes(5))))
            .ToList();
        var report = FuzzRunner.Run("playback-jwt", seeds, (input, random) =>
            verifier.Verify("members", Encoding.Latin1.GetString(input), null, out _) == PlaybackTokenResult.Valid,
            new FuzzOptions { Iterations = Math.Min(FuzzSettings.Iterations, 2000), MaxInputLength = 4096, AllocatedBytesFixed = 1024 * 1024,
                AllocatedBytesPerInputByte = 512 });
        output.WriteLine(report.ToString());
        Assert.True(report.Accepted + report.Refused > 0);
    }
}
