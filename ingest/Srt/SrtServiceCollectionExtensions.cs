using Broadcast.Processes;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;

namespace Broadcast.Ingest.Srt;

internal static class SrtServiceCollectionExtensions
{
    /// <summary>Registers <see cref="SrtServer"/> when Srt:Port is set (part of AddRtmpIngest, whose Rtmp limits it applies).</summary>
    public static IServiceCollection AddSrtIngest(this IServiceCollection services, IConfiguration configuration)
    {
        var section = configuration.GetSection(SrtOptions.SectionName);
        services.AddOptions<SrtOptions>()
            .Bind(section)
            .Validate(o => o.Port is null or (>= 0 and <= 65535), "Srt:Port must be 0..65535 (empty: off).")
            .Validate(o => o.BindAddress is null || System.Net.IPAddress.TryParse(o.BindAddress, out _), "Srt:BindAddress must be an IP address.")
            .Validate(o => string.IsNullOrEmpty(o.Passphrase) || o.Passphrase.Length is >= 10 and <= 79,
                "Srt:Passphrase must be 10 to 79 characters (SRTO_PASSPHRASE).")
            .Validate(o => o.KeyLength is 0 or 16 or 24 or 32, "Srt:KeyLength must be 0, 16, 24 or 32 (bytes of the AES key).")
            .Validate(o => o.LatencyMs is >= 20 and <= 10_000, "Srt:LatencyMs must be 20..10000.")
            .Validate(o => o.OpusToAacBitrate is >= 16_000 and <= 512_000, "Srt:OpusToAacBitrate must be 16000..512000.")
            .Validate(o => o.MaxAudioTracks is >= 1 and <= 8, "Srt:MaxAudioTracks must be 1..8 (1 keeps only the first audio stream).")
            // The node's ffmpeg: Transcode:FfmpegPath unless Srt:FfmpegPath names another.
            .PostConfigure<FfmpegLocator>((o, ffmpeg) => o.FfmpegPath = ffmpeg.For(SrtOptions.SectionName));
        services.GetFfmpegLocator(configuration);
        if (section.Get<SrtOptions>()?.Port is null) return services;
        // A publisher's Opus audio becomes AAC through it.
        services.RequireFfmpeg(configuration, "SRT ingest (Srt:Port)", SrtOptions.SectionName);
        services.TryAddSingleton<SrtServer>();
        services.AddSingleton<IHostedService>(sp => sp.GetRequiredService<SrtServer>());
        return services;
    }
}
