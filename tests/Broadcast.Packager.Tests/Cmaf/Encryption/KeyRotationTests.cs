using System.Buffers;
using Broadcast.Media;
using Broadcast.Packager.Cmaf;
using Broadcast.Packager.Cmaf.Boxes;
using Broadcast.Packager.Cmaf.Encryption;
using Broadcast.TestSupport;

namespace Broadcast.Packager.Tests.Cmaf.Encryption;

/// <summary>
/// Key rotation read back (docs/protection.md): the sbgp and sgpd of 'seig' written as ISO/IEC 14496-12 §8.9 and ISO/IEC
/// 23001-7 §6 spell them, read by <see cref="FragmentKeys"/> wherever they stand in a traf, and a track of two key periods
/// decrypted to its clear samples with both keys (<see cref="TrackDecryptor"/> with a lookup), 'cenc' and 'cbcs', video
/// and audio; a KID the lookup has no key for is refused naming it.
/// </summary>
[Trait("Kind", "Component")]
public class KeyRotationTests(FlvClipFixture clip) : IClassFixture<FlvClipFixture>
{
    private RotatedCmaf Make(MediaKind kind, EncryptionScheme scheme, bool atTrafEnd = false) => kind == MediaKind.Video
        ? RotatedCmaf.Make(clip.Video, clip.VideoSamples, scheme, atTrafEnd: atTrafEnd)
        : RotatedCmaf.Make(clip.Audio, clip.AudioSamples, scheme, atTrafEnd: atTrafEnd);

    [Fact]
    public void The_sample_group_boxes_are_written_as_the_specifications_spell_them()
    {
        var kid = Convert.FromHexString("fedcba9876543210fedcba9876543210");
        var iv = Convert.FromHexString("0f1e2d3c4b5a69788796a5b4c3d2e1f0");
        // 'cbcs' video: pattern 1:9, no per-sample IV, the constant IV; 61-byte sgpd, default_length 37.
        var cbcs = new SampleEncryptionGroupEntry(true, 0, KeyId.FromBytes(kid), 1, 9, InitializationVector.FromBytes(iv));
        Assert.Equal(Convert.FromHexString("0000001C736267700000000073656967000000010000000C00010001"
            + "0000003D7367706401000000736569670000002500000001" + "00190100" + Convert.ToHexString(kid) + "10" + Convert.ToHexString(iv)),
            RotatedCmaf.Groups(12, cbcs));
        Assert.Equal(28 + 61, SampleEncryptionGroup.Size(cbcs));
        // 'cenc': no pattern, 8-byte IVs per sample, no constant IV; 44-byte sgpd, default_length 20.
        var cenc = new SampleEncryptionGroupEntry(true, 8, KeyId.FromBytes(kid));
        var sgpd = new ArrayBufferWriter<byte>();
        SampleEncryptionGroup.WriteDescription(sgpd, cenc);
        Assert.Equal(Convert.FromHexString("0000002C7367706401000000736569670000001400000001" + "00000108" + Convert.ToHexString(kid)),
            sgpd.WrittenSpan.ToArray());
        var sbgp = new ArrayBufferWriter<byte>();
        SampleEncryptionGroup.WriteSampleToGroup(sbgp, 3);
        Assert.Equal(RotatedCmaf.Groups(3, cenc)[..28], sbgp.WrittenSpan.ToArray());
        Assert.Equal(SampleEncryptionGroup.SampleToGroupSize, sbgp.WrittenCount);

        // What cannot be written is refused before anything is.
        var output = new ArrayBufferWriter<byte>();
        Assert.Throws<ArgumentException>(() => SampleEncryptionGroup.Write(output, 3, cenc with { PerSampleIvSize = 0 }));
        Assert.Throws<ArgumentException>(() => SampleEncryptionGroup.Write(output, 3, cenc with { IsProtected = false }));
        Assert.Throws<ArgumentException>(() => SampleEncryptionGroup.Write(output, 3, cbcs with { CryptBlocks = 16 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => SampleEncryptionGroup.Write(output, 0, cenc));
        Assert.Equal(0, output.WrittenCount);
    }

    [Theory]
    [InlineData(MediaKind.Video, EncryptionScheme.Cenc, false)]
    [InlineData(MediaKind.Video, EncryptionScheme.Cbcs, false)]
    [InlineData(MediaKind.Audio, EncryptionScheme.Cenc, false)]
    [InlineData(MediaKind.Audio, EncryptionScheme.Cbcs, false)]
    [InlineData(MediaKind.Video, EncryptionScheme.Cbcs, true)]
    [InlineData(MediaKind.Audio, EncryptionScheme.Cenc, true)]
    public void Two_key_periods_decrypt_to_the_clear_samples_with_each_fragment_s_key(MediaKind kind, EncryptionScheme scheme, bool atTrafEnd)
    {
        var rotated = Make(kind, scheme, atTrafEnd);
        var protection = ProtectedInit.Read(rotated.Init)!;
        Assert.Equal(EncryptedCmafTests.Kid, protection.KeyId);
        Assert.Equal((true, RotatedCmaf.KidB, scheme == EncryptionScheme.Cenc ? 8 : 0, scheme == EncryptionScheme.Cbcs && kind == MediaKind.Video ? 1 : 0,
                scheme == EncryptionScheme.Cbcs ? RotatedCmaf.ConstantIvB : (InitializationVector?)null),
            (rotated.GroupB.IsProtected, rotated.GroupB.KeyId, rotated.GroupB.PerSampleIvSize, rotated.GroupB.CryptBlocks, rotated.GroupB.ConstantIv));

        // The first period has no group; the second names B in every traf, and its moofs carry both keys' pssh.
        var first = FragmentKeys.Read(rotated.Segments[0]);
        Assert.Equal([0, 1], first.Select(t => t.Fragment));
        Assert.All(first, t => Assert.Equal([new SampleKeyRun(3, null)], t.Runs));
        Assert.All(first, t => Assert.Empty(t.SystemHeaders));
        var second = FragmentKeys.Read(rotated.Segments[1]);
        Assert.All(second, t => Assert.Equal([new SampleKeyRun(3, rotated.GroupB)], t.Runs));
        Assert.All(second, t => Assert.Equal([RotatedCmaf.PsshA, RotatedCmaf.PsshB], t.SystemHeaders.Select(h => h.ToArray())));
        Assert.Equal([SampleEncryptionGroupEntry.Of(protection)], FragmentKeys.EntriesOf(rotated.Segments[0], protection));
        Assert.Equal([rotated.GroupB], FragmentKeys.EntriesOf(rotated.Segments[1], protection));

        for (int s = 0; s < 2; s++)
        {
            var encrypted = CmafReader.ReadSamples(rotated.Segments[s], CmafReader.ReadInit(rotated.Init));
            Assert.Contains(Enumerable.Range(0, encrypted.Count), i => !encrypted[i].Data.Span.SequenceEqual(rotated.Clear[s][i].Data.Span));
            var decrypted = rotated.Decrypt(rotated.Segments[s]);
            Assert.Equal(rotated.Clear[s].Length, decrypted.Count);
            for (int i = 0; i < decrypted.Count; i++) Assert.True(decrypted[i].Data.Span.SequenceEqual(rotated.Clear[s][i].Data.Span), $"segment {s} sample {i}");
        }

        // A segment of both periods (A's fragments, then B's) decrypts too, each fragment with its own key.
        byte[] mixed = [.. rotated.Segments[0], .. rotated.Segments[1]];
        Assert.Equal(rotated.Clear.SelectMany(c => c).Select(c => c.Data.ToArray()), rotated.Decrypt(mixed).Select(d => d.Data.ToArray()));

        // Its clear copy has nothing of the encryption left: the groups, pssh, saiz, saio and senc are free boxes.
        var protectionTypes = new[] { "sbgp", "sgpd", "pssh", "saiz", "saio", "senc" };
        var decryptor = new TrackDecryptor(RotatedCmaf.Keys, protection);
        using (decryptor)
        {
            var clear = decryptor.Decrypt(rotated.Segments[1], CmafReader.ReadInit(rotated.Init));
            Assert.Equal(rotated.Segments[1].Length, clear.Length);
            Assert.DoesNotContain(Mp4BoxReader.Read(clear).SelectMany(b => b.Children.Concat(b.Children.SelectMany(c => c.Children))),
                b => protectionTypes.Contains(b.Type));
        }
    }

    [Fact]
    public void A_kid_with_no_key_is_refused_naming_it()
    {
        var rotated = Make(MediaKind.Video, EncryptionScheme.Cbcs);
        // The first period needs only A; the second names B, which the lookup (or a decryptor of one key) has not.
        Assert.Equal(rotated.Clear[0].Length, rotated.Decrypt(rotated.Segments[0], kid => kid == EncryptedCmafTests.Kid ? EncryptedCmafTests.Key : null).Count);
        var missing = Assert.Throws<InvalidDataException>(() => rotated.Decrypt(rotated.Segments[1], kid => kid == EncryptedCmafTests.Kid ? EncryptedCmafTests.Key : null));
        Assert.Contains("KID fedcba98-7654-3210-fedc-ba9876543210, which there is no key for", missing.Message, StringComparison.Ordinal);
        using var single = new TrackDecryptor(EncryptedCmafTests.Key, ProtectedInit.Read(rotated.Init)!);
        Assert.Contains("fedcba98-7654-3210-fedc-ba9876543210", Assert.Throws<InvalidDataException>(() =>
            single.Decrypt(rotated.Segments[1], CmafReader.ReadInit(rotated.Init))).Message, StringComparison.Ordinal);
        // A lookup that answers another key for a KID is a fault of the caller's, not of the segment.
        Assert.Throws<InvalidOperationException>(() => rotated.Decrypt(rotated.Segments[1], _ => EncryptedCmafTests.Key));
    }

    [Fact]
    public void Runs_that_name_no_group_or_stop_short_are_under_the_init_s_key()
    {
        var rotated = Make(MediaKind.Audio, EncryptionScheme.Cenc);
        var defaults = SampleEncryptionGroupEntry.Of(ProtectedInit.Read(rotated.Init)!);
        // The traf's entry (the init's own key) for the first sample, group index 0 (no group) for the next; the third is past the runs.
        var partial = CmafSplice.Insert(rotated.Segments[0], _ => [.. Sbgp(1, [(1, 0x10001), (1, 0)]), .. Sgpd(defaults)]);
        Assert.All(FragmentKeys.Read(partial), t => Assert.Equal([new SampleKeyRun(1, defaults), new SampleKeyRun(2, null)], t.Runs));
        Assert.Equal(rotated.Clear[0].Select(c => c.Data.ToArray()), rotated.Decrypt(partial).Select(d => d.Data.ToArray()));
        // An sgpd that no sbgp uses puts no sample in its group.
        var unused = CmafSplice.Insert(rotated.Segments[0], _ => Sgpd(rotated.GroupB));
        Assert.All(FragmentKeys.Read(unused), t => Assert.Equal([new SampleKeyRun(3, null)], t.Runs));
        Assert.Equal(rotated.Clear[0].Select(c => c.Data.ToArray()), rotated.Decrypt(unused).Select(d => d.Data.ToArray()));
    }

    [Fact]
    public void Damaged_sample_group_boxes_are_refused_with_what_was_wrong()
    {
        var rotated = Make(MediaKind.Audio, EncryptionScheme.Cenc);
        var entry = SampleEncryptionGroupEntry.Of(ProtectedInit.Read(rotated.Init)!);
        var sgpd = Sgpd(entry); // 44 bytes: default_length at 16, entry_count at 20, the entry at 24
        byte[] Good(uint index = 0x10001) => [.. Sbgp(0, [(3, index)]), .. sgpd];
        void Refused(byte[] boxes, string reason)
        {
            var segment = CmafSplice.Insert(rotated.Segments[0], _ => boxes);
            Assert.Contains(reason, Assert.Throws<InvalidDataException>(() => FragmentKeys.Read(segment)).Message, StringComparison.Ordinal);
            Assert.Contains(reason, Assert.Throws<InvalidDataException>(() => rotated.Decrypt(segment)).Message, StringComparison.Ordinal);
        }

        // Truncated, or counts larger than the box holds (checked before anything is allocated for them).
        Refused(Size(Sbgp(0, [(3, 0x10001)]), 20)[..20], "names 1 entries, more than its box holds");
        Refused(Size(Sbgp(0, [])[..16], 16), "a box ends before byte");
        Refused([.. Poke(Sbgp(0, [(3, 0x10001)]), 16, 0xFFFFFFFF), .. sgpd], "names 4294967295 entries, more than its box holds");
        Refused([.. Sbgp(0, [(3, 0x10001)]), .. Poke(sgpd, 20, 0xFFFFFFFF)], "an sgpd of 'seig' names 4294967295 entries, more than its box holds");
        Refused([.. Sbgp(0, [(3, 0x10001)]), .. Size(sgpd[..22], 22)], "a box ends before byte");
        // Versions other than those read.
        Refused([.. Poke(Sbgp(0, [(3, 0x10001)]), 8, 0x02000000), .. sgpd], "an sbgp of 'seig' is version 2; versions 0 and 1 are read");
        Refused([.. Sbgp(0, [(3, 0x10001)]), .. Poke(sgpd, 8, 0)], "an sgpd of 'seig' is version 0; version 1 is read");
        Refused([.. Sbgp(0, [(3, 0x10001)]), .. Poke(sgpd, 8, 0x02000000)], "an sgpd of 'seig' is version 2; version 1 is read");
        // Counts that disagree with the traf, and indexes that point nowhere.
        Refused([.. Sbgp(0, [(2, 0x10001), (2, 0)]), .. sgpd], "groups 4 samples, more than its traf's truns name (3)");
        Refused(Good(1), "names description 1 of the init segment, which is not read");
        Refused(Good(0x10000), "names description 65536 of the init segment");
        Refused(Good(0x10002), "names entry 2 of its traf's sgpd, which has 1");
        Refused(Sbgp(0, [(3, 0x10001)]), "the traf has no sgpd of 'seig'");
        Refused([.. Sbgp(0, [(3, 0x10001)]), .. Size(Poke(sgpd, 20, 0)[..24], 24)], "names entry 1 of its traf's sgpd, which has 0");
        // Oversize: bytes after the entries, an entry longer than its fields, two boxes of one grouping type.
        Refused([.. Size([.. Sbgp(0, [(3, 0x10001)]), 0, 0, 0, 0], 32), .. sgpd], "has 4 bytes after its 1 entries");
        Refused([.. Sbgp(0, [(3, 0x10001)]), .. Size([.. sgpd, 0, 0], 46)], "an sgpd of 'seig' has 2 bytes after its 1 entries");
        Refused([.. Sbgp(0, [(3, 0x10001)]), .. Size([.. Poke(sgpd, 16, 21), 0], 45)], "a seig entry is 20 bytes, its sgpd says 21");
        Refused([.. Sbgp(0, [(3, 0x10001)]), .. Size([.. Poke(sgpd, 16, 0)[..24], .. U32(30), .. sgpd[24..]], 48)], "an sgpd entry of 30 bytes runs past its box");
        Refused([.. Sbgp(0, [(3, 0x10001)]), .. Poke(sgpd, 16, 12)], "a seig entry is 12 bytes, shorter than its 20 fixed ones");
        Refused([.. Good(), .. Sbgp(0, [(3, 0x10001)])], "a traf has two sbgp boxes of 'seig'");
        Refused([.. Good(), .. sgpd], "a traf has two sgpd boxes of 'seig'");
        // The entry's own fields (ISO/IEC 23001-7 §6).
        Refused([.. Sbgp(0, [(3, 0x10001)]), .. Poke(sgpd, 24, 0x00000208)], "isProtected is 2, not 0 or 1");
        Refused([.. Sbgp(0, [(3, 0x10001)]), .. Poke(sgpd, 24, 0x00000107)], "Per_Sample_IV_Size is 7, not 0, 8 or 16");
        Refused([.. Sbgp(0, [(3, 0x10001)]), .. Poke(sgpd, 24, 0x00000008)], "a seig entry of unprotected samples has a Per_Sample_IV_Size of 8");
        Refused([.. Sbgp(0, [(3, 0x10001)]), .. Poke(sgpd, 24, 0x00000100)], "a seig entry with no per-sample IV has no constant IV");
        var cbcs = Sgpd(new SampleEncryptionGroupEntry(true, 0, RotatedCmaf.KidB, 0, 0, RotatedCmaf.ConstantIvB)); // constant IV size at 44
        Refused([.. Sbgp(0, [(3, 0x10001)]), .. Poke(cbcs, 44, 0x05000000)], "a seig entry's constant IV is 5 bytes, not 8 or 16");
        Refused([.. Sbgp(0, [(3, 0x10001)]), .. Poke(cbcs, 44, 0x08000000)], "a seig entry is 29 bytes, its sgpd says 37");

        // Boxes of another grouping type ('roll') are not read.
        var roll = CmafSplice.Insert(rotated.Segments[0], _ => [.. Poke(Sbgp(0, [(3, 0x10001)]), 12, 0x726F6C6C), .. Poke(sgpd, 12, 0x726F6C6C)]);
        Assert.Equal(rotated.Clear[0].Select(c => c.Data.ToArray()), rotated.Decrypt(roll).Select(d => d.Data.ToArray()));
        // A group of clear samples (isProtected 0) leaves them as they are ('cbcs' audio: no senc to give them IVs).
        var audio = Make(MediaKind.Audio, EncryptionScheme.Cbcs);
        var clear = CmafSplice.Insert(audio.Segments[0], _ => [.. Sbgp(0, [(3, 0x10001)]), .. Sgpd(new SampleEncryptionGroupEntry(false, 0, default))]);
        Assert.Equal(CmafReader.ReadSamples(clear, CmafReader.ReadInit(audio.Init)).Select(s => s.Data.ToArray()),
            audio.Decrypt(clear).Select(s => s.Data.ToArray()));
    }

    private static byte[] Poke(byte[] bytes, int at, uint value)
    {
        var copy = bytes.ToArray();
        U32(value).CopyTo(copy, at);
        return copy;
    }

    /// <summary><paramref name="box"/> with its size field set to <paramref name="size"/>.</summary>
    private static byte[] Size(byte[] box, uint size) => Poke(box, 0, size);

    /// <summary>An sbgp of 'seig' of <paramref name="version"/> with the runs given (sample_count, group_description_index).</summary>
    internal static byte[] Sbgp(byte version, (uint Count, uint Index)[] runs)
    {
        var bytes = new List<byte>();
        int size = 12 + 4 + (version == 1 ? 4 : 0) + 4 + 8 * runs.Length;
        bytes.AddRange(U32((uint)size));
        bytes.AddRange("sbgp"u8.ToArray());
        bytes.AddRange(U32((uint)version << 24));
        bytes.AddRange("seig"u8.ToArray());
        if (version == 1) bytes.AddRange(U32(0));
        bytes.AddRange(U32((uint)runs.Length));
        foreach (var (count, index) in runs)
        {
            bytes.AddRange(U32(count));
            bytes.AddRange(U32(index));
        }
        return [.. bytes];
    }

    /// <summary>An sgpd of 'seig' holding <paramref name="entry"/>.</summary>
    internal static byte[] Sgpd(SampleEncryptionGroupEntry entry)
    {
        var output = new ArrayBufferWriter<byte>();
        SampleEncryptionGroup.WriteDescription(output, entry);
        return output.WrittenSpan.ToArray();
    }

    private static byte[] U32(uint value) => [(byte)(value >> 24), (byte)(value >> 16), (byte)(value >> 8), (byte)value];
}
