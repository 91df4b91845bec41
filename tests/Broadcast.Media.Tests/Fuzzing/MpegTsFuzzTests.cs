using Broadcast.Media.Codecs.Opus;
using Broadcast.Media.MpegTs;
using Broadcast.Media.Scte35;
using Broadcast.Media.Tests.MpegTs;
using Broadcast.TestSupport;
using Broadcast.TestSupport.Fuzzing;
using Xunit.Abstractions;

namespace Broadcast.Media.Tests.Fuzzing;

/// <summary>
/// Fuzzes the MPEG-TS wire types with mutations of their case tables, and the demuxer — what an SRT publisher's bytes
/// reach — with mutations of the start of real ffmpeg streams (H.264 and HEVC with AAC: PSI, PES headers, parameter
/// sets and ADTS), and of one carrying SCTE-35 on a splice PID (a splice_insert split across two packets, a
/// time_signal), fed in random slices. Failure paths are <c>false</c> with a reason; nothing may throw.
/// </summary>
[Trait("Kind", "Component")]
public class MpegTsFuzzTests(ITestOutputHelper output)
{
    private void Check(FuzzReport report)
    {
        output.WriteLine(report.ToString());
        Assert.Equal(FuzzSettings.Iterations, report.Accepted + report.Refused);
        Assert.True(report.Accepted > 0 && report.Refused > 0, report.ToString());
    }

    private static List<byte[]> Seeds(IEnumerable<object?[]> cases) => FuzzSeeds.Column(cases, 2).ToList();

    [Fact]
    public void Wire_types()
    {
        Check(FuzzRunner.Run("ts packet header", Seeds(MpegTsWireTests.PacketHeaders).Select(s => MpegTsWireTests.Packet(Convert.ToHexString(s))).ToList(),
            (input, random) => TsPacketHeader.TryRead(input, out _, out _)));
        Check(FuzzRunner.Run("pes header", Seeds(MpegTsWireTests.PesHeaders), (input, random) => PesHeader.TryRead(input, out _, out _)));
        Check(FuzzRunner.Run("adts header", Seeds(MpegTsWireTests.AdtsHeaders), (input, random) => AdtsHeader.TryRead(input, out _, out _)));
        var sections = Seeds(MpegTsWireTests.Pats).Concat(Seeds(MpegTsWireTests.Pmts)).ToList();
        Check(FuzzRunner.Run("psi sections", sections, (input, random) =>
            ProgramAssociationSection.TryRead(input, out _, out _) | ProgramMapSection.TryRead(input, out _, out _)));
        Check(FuzzRunner.Run("iso 639 language descriptor", FuzzSeeds.Column(Iso639LanguageDescriptorTests.Loops, 1).Where(s => s.Length > 0).ToList(),
            (input, random) => Iso639LanguageDescriptor.Find(new PmtStream(TsStreamType.AacAdts, 0x101, input)) is { Language.Length: 3 }));
        Check(FuzzRunner.Run("opus control header", Seeds(OpusTsTests.ControlHeaders), (input, random) => OpusControlHeader.TryRead(input, out _, out _)));
        var opusPackets = OpusTsTests.Packets.Select(row => OpusTsTests.Bytes((string)row[1])).Where(p => p.Length > 0).ToList();
        Check(FuzzRunner.Run("opus packet", opusPackets, (input, random) => OpusPacket.TryGetSamples(input, out int n) && n is > 0 and <= OpusPacket.MaxSamples));
    }

    [Fact]
    public void Demuxer()
    {
        using var dir = new TempDirectory();
        var seeds = new List<byte[]>();
        foreach (var encoder in new[] { "libx264", "libx265" })
        {
            string path = dir.Combine(encoder + ".ts");
            MediaTools.Run("ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc2=size=64x64:rate=10",
                "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=8000", "-t", "1", "-c:v", encoder, "-preset", "ultrafast",
                "-x265-params", "log-level=error", "-c:a", "aac", "-b:a", "16k", "-ac", "1", "-f", "mpegts", path);
            var ts = File.ReadAllBytes(path);
            // The start of the stream (SDT, PAT, PMT, the first keyframe with its parameter sets, audio): under 16 KiB.
            seeds.Add(ts[..Math.Min(ts.Length, 80 * 188)]);
            seeds.Add(ts[..Math.Min(ts.Length, 12 * 188)]);
            if (encoder != "libx264") continue;
            var scte35 = new Scte35TsWriter();
            var breakOut = new SpliceInfoSection
            {
                CommandType = SpliceCommandType.SpliceInsert,
                Insert = new SpliceInsert { EventId = 1, OutOfNetwork = true, PtsTime = 200_000, BreakDuration = 2_700_000 },
                Descriptors = Convert.FromHexString("00084355454900000135"),
            };
            byte[] splices = [.. scte35.Packets(breakOut, firstChunk: 12), .. scte35.Packets(new SpliceInfoSection { CommandType = SpliceCommandType.TimeSignal, TimeSignalPts = 5 })];
            seeds.Add(Scte35TsWriter.Insert(scte35.WithSplicePid(ts)[..(78 * 188)], 40, splices));
        }
        // Opus audio (a program with a control header before each packet, then one ffmpeg wrote beside H.264).
        seeds.Add(OpusTsTests.OpusProgram(2, (900_000, [[0xF8, 1, 2, 3], [0xF9, .. new byte[200]]]), (903_600, [[0xFB, 0x03, 9]])));
        string opusPath = dir.Combine("opus.ts");
        MediaTools.Run("ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc2=size=64x64:rate=10",
            "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", "1", "-c:v", "libx264", "-preset", "ultrafast",
            "-c:a", "libopus", "-b:a", "16k", "-ac", "1", "-f", "mpegts", opusPath);
        var opusTs = File.ReadAllBytes(opusPath);
        seeds.Add(opusTs[..Math.Min(opusTs.Length, 80 * 188)]);
        // Two languages: the second AAC stream feeds an alternate audio hub of its own.
        string languagesPath = dir.Combine("languages.ts");
        MediaTools.Run("ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc2=size=64x64:rate=10",
            "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=8000", "-f", "lavfi", "-i", "sine=frequency=660:sample_rate=8000", "-t", "1",
            "-map", "0:v", "-map", "1:a", "-map", "2:a", "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-b:a", "16k", "-ac", "1",
            "-metadata:s:a:0", "language=eng", "-metadata:s:a:1", "language=fra", "-f", "mpegts", languagesPath);
        var languagesTs = File.ReadAllBytes(languagesPath);
        seeds.Add(languagesTs[..Math.Min(languagesTs.Length, 80 * 188)]);
        long breaks = 0, refusals = 0;
        Check(FuzzRunner.Run("ts demuxer", seeds, (input, random) =>
        {
            var stream = new LiveStream("fuzz");
            using var demuxer = new MpegTsDemuxer(stream, maxPesSize: 64 * 1024, opus: new CheckingOpusSink(), maxAudioTracks: 3);
            var rest = input.AsSpan();
            while (!rest.IsEmpty)
            {
                int slice = Math.Min(rest.Length, (int)random.Between(1, 1500));
                if (!demuxer.TryWrite(rest[..slice], out var error))
                    return !string.IsNullOrEmpty(error) ? false : throw new InvalidOperationException("refused without a reason");
                foreach (var signal in demuxer.SpliceSignals)
                    if (signal.Cue is null == string.IsNullOrEmpty(signal.Refusal) || signal.Cue is { Duration: < Timescales.Video })
                        throw new InvalidOperationException($"splice signal neither a break nor a refusal with a reason: {signal}");
                    else if (signal.Cue is null) Interlocked.Increment(ref refusals);
                    else Interlocked.Increment(ref breaks);
                rest = rest[slice..];
            }
            stream.Complete();
            if (stream.AlternateAudioTracks.Count > 2) throw new InvalidOperationException("more alternate audio tracks than the cap");
            return true;
        }, new FuzzOptions { MaxInputLength = 16 * 1024 }));
        output.WriteLine($"SCTE-35: {breaks} breaks and {refusals} refusals read");
        Assert.True(breaks > 0 && refusals > 0, "the SCTE-35 seed's sections never reached the demuxer");
    }

    /// <summary>What the demuxer hands on must be an Opus packet it measured: a channel count of 1–8, a packet of 1 to 120 ms.</summary>
    private sealed class CheckingOpusSink : IOpusAudioSink
    {
        public void Open(int channels)
        {
            if (channels is < 1 or > 8) throw new InvalidOperationException($"opened with {channels} channels");
        }

        public void Write(long dts, ReadOnlySpan<byte> packet, int samples)
        {
            if (packet.IsEmpty || samples is < 120 or > OpusPacket.MaxSamples) throw new InvalidOperationException($"{packet.Length} bytes, {samples} samples");
        }
    }
}
