using Broadcast.Origin.Cmcd;

namespace Broadcast.Origin.Tests.Cmcd;

/// <summary>CTA-5004 payloads as hls.js, dash.js and Shaka send them, and the broken ones a hostile client sends.</summary>
public sealed class CmcdReaderTests
{
    private static (CmcdReadResult Result, CmcdData Data) Read(string text)
    {
        var data = new CmcdData();
        var result = CmcdReader.Read(text, ref data);
        return (result, data);
    }

    [Fact]
    public void A_full_version_1_payload_is_read_key_by_key()
    {
        // The shape hls.js 1.x writes (keys sorted, strings quoted, tokens bare, booleans as the key alone).
        var (result, d) = Read("bl=21300,br=3200,bs,cid=\"faec5fc2-ac30-11ea-bb37-0242ac130002\",d=4004,dl=18500,mtp=48100," +
            "nor=\"..%2F300kbps%2Fsegment35.m4v\",ot=v,pr=1.08,rtp=12000,sf=d,sid=\"6e2fb550-c457-11e9-bb97-0800200c9a66\",st=l,su,tb=6000,v=1");

        Assert.Equal(CmcdReadResult.Read, result);
        Assert.True(d.HasData);
        Assert.Equal(0, d.MalformedValues);
        Assert.Equal(21300, d.BufferLengthMs);
        Assert.Equal(3200, d.EncodedBitrateKbps);
        Assert.True(d.BufferStarvation);
        Assert.NotEqual(0UL, d.ContentIdHash);
        Assert.Equal(4004, d.ObjectDurationMs);
        Assert.Equal(18500, d.DeadlineMs);
        Assert.Equal(48100, d.MeasuredThroughputKbps);
        Assert.Equal(CmcdObjectType.Video, d.ObjectType);
        Assert.Equal(1080, d.PlaybackRatePerMille);
        Assert.Equal(12000, d.RequestedThroughputKbps);
        Assert.Equal(CmcdStreamingFormat.Dash, d.StreamingFormat);
        Assert.NotEqual(0UL, d.SessionIdHash);
        Assert.Equal(CmcdStreamType.Live, d.StreamType);
        Assert.True(d.Startup);
        Assert.Equal(6000, d.TopBitrateKbps);
        Assert.Equal(1, d.Version);
    }

    /// <summary>
    /// What the test players sent in AudienceReportTests, as they send it, reads with no malformed value: hls.js 1.7 says
    /// 'st=ll' (version 2's low-latency live) in its version 1 payloads, Shaka 5.2 says 'st=v' before it knows the stream
    /// is live, dash.js 5.2 sends each kind's first segment with 'bs'.
    /// </summary>
    [Theory]
    [InlineData("bl=0,br=2734,d=333,dl=0,mtp=2700,nor=\"20261203T072451Z-3.1.m4s\",ot=v,rtp=13700,sf=h,sid=\"audience-ll\",st=ll,su")]
    [InlineData("br=2734,d=0,mtp=2700,ot=i,sf=h,sid=\"audience-hls\",st=ll,su")]
    [InlineData("ot=m,sf=h,sid=\"audience-shaka\",st=v")]
    [InlineData("br=827,d=341,dl=0,nor=\"20261203T072451Z-4.0.m4s\",ot=a,sid=\"audience-shaka\",st=l,su")]
    [InlineData("bl=0,br=101,bs,d=1984,dl=0,nor=\"20261203T072451Z-5.m4s\",ot=a,rtp=2100,sf=d,sid=\"audience-dash\",st=l,su,tb=102")]
    public void What_hls_js_Shaka_and_dash_js_send_reads_without_a_malformed_value(string text)
    {
        var (result, data) = Read(text);
        Assert.Equal(CmcdReadResult.Read, result);
        Assert.Equal(0, data.MalformedValues);
        Assert.NotEqual(CmcdStreamType.None, data.StreamType);
    }

    [Fact]
    public void The_same_session_id_hashes_alike_and_another_apart()
    {
        var a = Read("sid=\"abc\"").Data.SessionIdHash;
        Assert.Equal(a, Read("br=1,sid=\"abc\"").Data.SessionIdHash);
        Assert.NotEqual(a, Read("sid=\"abd\"").Data.SessionIdHash);
    }

    /// <summary>
    /// The session's identity for the audience kept per broadcast is the same on every node: not this process's keyed hash
    /// (a fixed value here, FNV-1a of the UTF-16 bytes then murmur3's finalizer), so two origins count one player once.
    /// </summary>
    [Fact]
    public void A_session_id_s_identity_is_the_same_in_every_process_and_apart_from_its_keyed_hash()
    {
        var data = Read("sid=\"abc\"").Data;
        Assert.Equal(0x6dbbb2667d84fe52UL, data.SessionIdIdentity);
        Assert.NotEqual(data.SessionIdIdentity, data.SessionIdHash);
        Assert.Equal(0UL, Read("br=1").Data.SessionIdIdentity);
        Assert.Equal(0UL, Read("sid=abc").Data.SessionIdIdentity); // a token, not a string: malformed, nothing kept
    }

    [Fact]
    public void Headers_read_one_after_another_add_up()
    {
        var data = new CmcdData();
        Assert.Equal(CmcdReadResult.Read, CmcdReader.Read("br=800,d=2000,ot=v,tb=2500", ref data)); // CMCD-Object
        Assert.Equal(CmcdReadResult.Read, CmcdReader.Read("bl=4000,mtp=9000", ref data)); // CMCD-Request
        Assert.Equal(CmcdReadResult.Read, CmcdReader.Read("bs", ref data)); // CMCD-Status
        Assert.Equal(CmcdReadResult.Read, CmcdReader.Read("cid=\"x\",sf=h,sid=\"s\",st=l", ref data)); // CMCD-Session
        Assert.Equal((800, 4000, 9000, true, CmcdStreamingFormat.Hls), (data.EncodedBitrateKbps, data.BufferLengthMs,
            data.MeasuredThroughputKbps, data.BufferStarvation, data.StreamingFormat));
    }

    [Theory]
    // Unknown keys (custom ones, version 2's) are skipped whatever their value: no data, nothing malformed.
    [InlineData("com.example-myNumericKey=500", CmcdReadResult.Read, 0, false)]
    [InlineData("ltc=120,msd=300,com.x-y=\"a,b\"", CmcdReadResult.Read, 0, false)]
    [InlineData("nor=\"next.m4s\"", CmcdReadResult.Read, 0, false)]
    // Whitespace around members is allowed (RFC 8941 §4.2.2).
    [InlineData("  br=1 ,  bl=2  ", CmcdReadResult.Read, 0, true)]
    [InlineData("bs=?0", CmcdReadResult.Read, 0, true)]
    // A bad value drops its key and is counted; the rest is read.
    [InlineData("br=-1,bl=100", CmcdReadResult.Read, 1, true)]
    [InlineData("br=9999999999,bl=100", CmcdReadResult.Read, 1, true)]
    [InlineData("br=\"3200\",bl=100", CmcdReadResult.Read, 1, true)]
    [InlineData("br,bl=100", CmcdReadResult.Read, 1, true)]
    [InlineData("br=12a", CmcdReadResult.Read, 1, false)]
    [InlineData("bs=?2", CmcdReadResult.Read, 1, false)]
    [InlineData("bs=1", CmcdReadResult.Read, 1, false)]
    [InlineData("ot=zz,sf=\"h\",st=x", CmcdReadResult.Read, 3, false)]
    [InlineData("pr=1.2345", CmcdReadResult.Read, 1, false)]
    [InlineData("pr=1.", CmcdReadResult.Read, 1, false)]
    [InlineData("pr=-1", CmcdReadResult.Read, 1, false)]
    [InlineData("sid=abc", CmcdReadResult.Read, 1, false)]
    [InlineData("sid=\"\"", CmcdReadResult.Read, 1, false)]
    [InlineData("sid=\"0123456789012345678901234567890123456789012345678901234567890123456789\"", CmcdReadResult.Read, 1, false)]
    // Not a dictionary: read stops at the fault (keys before it are kept).
    [InlineData("", CmcdReadResult.Empty, 0, false)]
    [InlineData("   ", CmcdReadResult.Empty, 0, false)]
    [InlineData("br=1,", CmcdReadResult.Malformed, 0, true)]
    [InlineData(",br=1", CmcdReadResult.Malformed, 0, false)]
    [InlineData("BR=1", CmcdReadResult.Malformed, 0, false)]
    [InlineData("br=1;x=2", CmcdReadResult.Read, 1, false)] // parameters are not CMCD's: a bad integer
    [InlineData("br=1 bl=2", CmcdReadResult.Malformed, 0, true)]
    [InlineData("sid=\"open", CmcdReadResult.Malformed, 0, false)]
    [InlineData("sid=\"bad\\escape\"", CmcdReadResult.Malformed, 0, false)]
    [InlineData("sid=\"tab\there\"", CmcdReadResult.Malformed, 0, false)]
    [InlineData("br=", CmcdReadResult.Malformed, 0, false)]
    [InlineData("br=1,,bl=2", CmcdReadResult.Malformed, 0, true)]
    [InlineData("\u00e9=1", CmcdReadResult.Malformed, 0, false)]
    public void Each_payload_reads_as_the_spec_says(string text, CmcdReadResult expected, int malformed, bool hasData)
    {
        var (result, data) = Read(text);
        Assert.Equal(expected, result);
        Assert.Equal(malformed, data.MalformedValues);
        Assert.Equal(hasData, data.HasData);
    }

    [Fact]
    public void A_payload_past_the_limit_is_not_read_at_all()
    {
        string text = "br=1," + string.Concat(Enumerable.Repeat("com.x-k=1,", CmcdReader.MaxLength / 10)) + "bl=2";
        var (result, data) = Read(text);
        Assert.Equal(CmcdReadResult.TooLong, result);
        Assert.False(data.HasData);
    }

    [Theory]
    [InlineData("CMCD=bl%3D21300%2Cbr%3D3200%2Csid%3D%22s-1%22", CmcdReadResult.Read, "bl=21300,br=3200,sid=\"s-1\"")]
    [InlineData("?_HLS_msn=4&CMCD=br%3D800&x=1", CmcdReadResult.Read, "br=800")]
    [InlineData("?token=a&cmcd=br%3D1", CmcdReadResult.Empty, "")]
    [InlineData("?CMCDX=br%3D1&xCMCD=br%3D2", CmcdReadResult.Empty, "")]
    [InlineData("?CMCD=", CmcdReadResult.Empty, "")]
    [InlineData("?CMCD=br%3", CmcdReadResult.Malformed, "")]
    [InlineData("?CMCD=br%3Z1", CmcdReadResult.Malformed, "")]
    [InlineData("?CMCD=sid%3D%22%C3%A9%22", CmcdReadResult.Malformed, "")]
    [InlineData("?CMCD=a+b", CmcdReadResult.Read, "a b")]
    public void The_query_argument_is_found_and_decoded(string query, CmcdReadResult expected, string decoded)
    {
        Span<char> buffer = stackalloc char[CmcdReader.MaxLength];
        var result = CmcdQuery.Decode(query, buffer, out int length);
        Assert.Equal(expected, result);
        if (expected == CmcdReadResult.Read) Assert.Equal(decoded, buffer[..length].ToString());
    }

    [Fact]
    public void A_query_argument_that_decodes_past_the_limit_is_too_long()
    {
        Span<char> buffer = stackalloc char[CmcdReader.MaxLength];
        Assert.Equal(CmcdReadResult.TooLong, CmcdQuery.Decode("CMCD=" + new string('a', CmcdReader.MaxLength + 1), buffer, out _));
        Assert.Equal(CmcdReadResult.TooLong, CmcdQuery.Decode("CMCD=" + new string('a', (3 * CmcdReader.MaxLength) + 1), buffer, out _));
    }

    [Fact]
    public void Reading_a_payload_allocates_nothing()
    {
        const string text = "bl=21300,br=3200,bs,cid=\"c\",d=4004,mtp=48100,ot=v,pr=1,sf=h,sid=\"s\",st=l,su,tb=6000";
        var data = new CmcdData();
        CmcdReader.Read(text, ref data); // warm up
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 100; i++)
        {
            data = new CmcdData();
            CmcdReader.Read(text, ref data);
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }
}
