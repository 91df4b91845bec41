using System.Text;
using Broadcast.Origin.Protection;
using Broadcast.TestSupport.Fuzzing;
using Xunit.Abstractions;

namespace Broadcast.Origin.Tests.Fuzzing;

/// <summary>
/// Fuzzes the ClearKey license request read (<see cref="ClearKeyLicenseMessages.TryRead"/>): its bytes come from any viewer
/// (a private channel's once it holds a token). Every input is read or refused with a reason, never thrown on, and what is
/// read holds one to <see cref="ClearKeyLicenseMessages.MaxKeyIds"/> distinct KIDs.
/// </summary>
public class ClearKeyLicenseFuzzTests(ITestOutputHelper output)
{
    [Fact]
    public void License_request()
    {
        var seeds = new List<byte[]>
        {
            Encoding.UTF8.GetBytes("{\"kids\":[\"ASNFZ4mrze8BI0VniavN7w\"],\"type\":\"temporary\"}"),
            Encoding.UTF8.GetBytes("{\"kids\":[\"ASNFZ4mrze8BI0VniavN7w\",\"AAAAAAAAAAAAAAAAAAAAAA\"]}"),
        };
        var report = FuzzRunner.Run("clearkey license request", seeds, (input, _) =>
        {
            var read = ClearKeyLicenseMessages.TryRead(input, out string? error);
            if (read is null) return error is not null ? false : throw new InvalidOperationException("refused without a reason");
            if (read.KeyIds.Count is 0 or > ClearKeyLicenseMessages.MaxKeyIds || read.KeyIds.Distinct().Count() != read.KeyIds.Count)
                throw new InvalidOperationException($"{read.KeyIds.Count} key IDs read");
            return true;
        });
        output.WriteLine(report.ToString());
        Assert.Equal(FuzzSettings.Iterations, report.Accepted + report.Refused);
        Assert.True(report.Accepted > 0 && report.Refused > 0, report.ToString());
    }
}
