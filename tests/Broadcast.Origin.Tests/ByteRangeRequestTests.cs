namespace Broadcast.Origin.Tests;

/// <summary>Case table for RFC 9110 14.1.1/14.2 single byte ranges, including malformed input.</summary>
public sealed class ByteRangeRequestTests
{
    // (header, representation length, outcome, offset, count)
    public static TheoryData<string, long, RangeOutcome, long, long> Cases => new()
    {
        { "bytes=0-0", 10, RangeOutcome.Partial, 0, 1 },
        { "bytes=2-5", 10, RangeOutcome.Partial, 2, 4 },
        { " bytes = 2-5 ", 10, RangeOutcome.Full, 0, 10 },          // no space allowed before '='
        { "bytes= 2 - 5 ", 10, RangeOutcome.Partial, 2, 4 },         // OWS around the spec is tolerated
        { "bytes=9-", 10, RangeOutcome.Partial, 9, 1 },
        { "bytes=10-", 10, RangeOutcome.Unsatisfiable, 0, 10 },
        { "bytes=-1", 10, RangeOutcome.Partial, 9, 1 },
        { "bytes=-10", 10, RangeOutcome.Partial, 0, 10 },
        { "bytes=-11", 10, RangeOutcome.Partial, 0, 10 },
        { "bytes=-0", 10, RangeOutcome.Unsatisfiable, 0, 10 },
        { "bytes=3-99999999999999999999999", 10, RangeOutcome.Partial, 3, 7 },
        { "bytes=99999999999999999999999-", 10, RangeOutcome.Unsatisfiable, 0, 10 },
        { "bytes=0-1,3-4", 10, RangeOutcome.Full, 0, 10 },
        { "bytes=5-4", 10, RangeOutcome.Full, 0, 10 },
        { "bytes=+1-2", 10, RangeOutcome.Full, 0, 10 },
        { "bytes=1--2", 10, RangeOutcome.Full, 0, 10 },
        { "bytes=-", 10, RangeOutcome.Full, 0, 10 },
        { "bytes=", 10, RangeOutcome.Full, 0, 10 },
        { "bytes", 10, RangeOutcome.Full, 0, 10 },
        { "", 10, RangeOutcome.Full, 0, 10 },
        { "pages=1-2", 10, RangeOutcome.Full, 0, 10 },
        { "bytes=0x1-2", 10, RangeOutcome.Full, 0, 10 },
        { "bytes=0-5", 0, RangeOutcome.Full, 0, 0 },                 // empty object: whole (empty) body
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Resolve(string header, long length, RangeOutcome outcome, long offset, long count)
    {
        Assert.Equal(outcome, ByteRangeRequest.Resolve(header, length, out long gotOffset, out long gotCount));
        if (outcome == RangeOutcome.Partial)
        {
            Assert.Equal((offset, count), (gotOffset, gotCount));
        }
    }
}
