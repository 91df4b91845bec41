namespace Broadcast.Packager.Cmaf.Boxes;

/// <summary>
/// The 32-bit sample flags of trex/tfhd/trun (ISO/IEC 14496-12 §8.8.3.1):
/// <code>
/// reserved(4) is_leading(2) sample_depends_on(2) sample_is_depended_on(2) sample_has_redundancy(2)
/// sample_padding_value(3) sample_is_non_sync_sample(1) sample_degradation_priority(16)
/// </code>
/// </summary>
public static class SampleFlags
{
    /// <summary>A sync sample that depends on no other (sample_depends_on = 2: I-picture, or any audio frame).</summary>
    public const uint Sync = 2u << 24;

    /// <summary>A non-sync sample that depends on others (sample_depends_on = 1, sample_is_non_sync_sample = 1).</summary>
    public const uint NonSync = (1u << 24) | (1u << 16);

    public static uint For(bool isSync) => isSync ? Sync : NonSync;
}
