using Broadcast.Transcoder.Encoding;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Broadcast.Transcoder;

public static class TranscoderServiceCollectionExtensions
{
    /// <summary>
    /// The transcoder: options from <c>Transcode</c> (read now, so a bad ladder stops start-up naming its key), ffmpeg
    /// located now (absent: an error naming the Debian package), the real encoder probe, and
    /// <see cref="TranscoderService"/> as hosted service and <see cref="ITranscoderStatus"/>.
    /// </summary>
    public static IServiceCollection AddTranscoder(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        var options = TranscodeOptions.FromConfiguration(configuration);
        string ffmpeg = options.Enabled ? FfmpegLocator.Resolve(options.FfmpegPath) : options.FfmpegPath;
        int segmentSeconds = int.TryParse(configuration["Packager:SegmentSeconds"], out int s) && s > 0 ? s : 2;
        // "Hung" is no output for two segment durations; the first output may take longer (probing, encoder start).
        var settings = new TranscodeSessionSettings(ffmpeg, TimeSpan.FromSeconds(2 * segmentSeconds), TimeSpan.FromSeconds(Math.Max(10, 4 * segmentSeconds)),
            options.StopGrace, options.ShedBelowSpeed, options.ShedAfter);
        services.AddSingleton(options);
        services.AddSingleton(settings);
        services.TryAddSingleton<IEncoderProbe>(_ => new FfmpegEncoderProbe(ffmpeg));
        services.TryAddSingleton<TranscoderService>(sp => new TranscoderService(
            sp.GetRequiredService<Media.LiveStreamRegistry>(), options, sp.GetRequiredService<IEncoderProbe>(), settings,
            sp.GetRequiredService<ILogger<TranscoderService>>(), sp.GetService<Ladder.ILadderOverride>(),
            sp.GetService<Broadcast.Media.ILowLatencyPolicy>()));
        services.TryAddSingleton<ITranscoderStatus>(sp => sp.GetRequiredService<TranscoderService>());
        services.AddSingleton<IHostedService>(sp => sp.GetRequiredService<TranscoderService>());
        // Ingest:Slate (a still image): reconnect gaps are filled with it, encoded by the same ffmpeg.
        if (options.Enabled && configuration["Ingest:Slate"] is { Length: > 0 } slate)
            services.AddSingleton<IHostedService>(sp => new Slate.SlateFiller(sp.GetRequiredService<Media.LiveStreamRegistry>(), ffmpeg,
                Path.GetFullPath(slate), segmentSeconds, sp.GetRequiredService<ILogger<Slate.SlateFiller>>()));
        return services;
    }
}
