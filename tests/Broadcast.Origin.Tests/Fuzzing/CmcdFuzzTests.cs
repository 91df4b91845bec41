using System.Text;
using Broadcast.Origin.Cmcd;
using Broadcast.TestSupport.Fuzzing;
using Xunit.Abstractions;

namespace Broadcast.Origin.Tests.Fuzzing;

/// <summary>
/// Fuzzes the CMCD query argument and the dictionary read from it (<see cref="CmcdQuery"/>, <see cref="CmcdReader"/>):
/// every player request may carry one, written by anyone; it must be read or refused, never thrown on.
/// </summary>
public class CmcdFuzzTests(ITestOutputHelper output)
{
    [Fact]
    public void Query_argument_and_dictionary()
    {
        var seeds = new List<byte[]>
        {
            Encoding.ASCII.GetBytes("CMCD=bl%3D21300%2Cbr%3D3200%2Cbs%2Ccid%3D%22faec5fc2%22%2Cmtp%3D48100%2Cot%3Dv%2Csf%3Dh%2Csid%3D%226e2f%22%2Cst%3Dl%2Csu%2Ctb%3D6000"),
            Encoding.ASCII.GetBytes("?_HLS_msn=4&CMCD=pr%3D1.08%2Cv%3D1%2Ccom.x-y%3D%22a%2Cb%22"),
        };
        var report = FuzzRunner.Run("cmcd", seeds, (input, _) =>
        {
            string query = Encoding.Latin1.GetString(input);
            Span<char> decoded = stackalloc char[CmcdReader.MaxLength];
            if (CmcdQuery.Decode(query, decoded, out int length) != CmcdReadResult.Read) return false;
            var data = new CmcdData();
            var read = CmcdReader.Read(decoded[..length], ref data);
            if (data.BufferLengthMs < -1 || data.EncodedBitrateKbps < -1) throw new InvalidOperationException("a negative figure was kept");
            return read == CmcdReadResult.Read;
        });
        output.WriteLine(report.ToString());
        Assert.Equal(FuzzSettings.Iterations, report.Accepted + report.Refused);
        Assert.True(report.Accepted > 0 && report.Refused > 0, report.ToString());
    }
}
