using Broadcast.Processes;
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
    /// The transcoder: options from <c>Transcode</c> (read now, so a bad ladder stops start-up naming its key), the node's
    /// ffmpeg (<see cref="FfmpegLocator"/>; required at start when enabled), the real encoder probe, and
    /// <see cref="TranscoderService"/> as hosted service and <see cref="ITranscoderStatus"/>.
    /// </summary>
    public static IServiceCollection AddTranscoder(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        var options = TranscodeOptions.FromConfiguration(configuration);
        string ffmpeg = services.GetFfmpegLocator(configuration).Shared;
        if (options.Enabled) services.RequireFfmpeg(configuration, "the transcoder (Transcode:Enabled)");
        int segmentSeconds = int.TryParse(configuration["Packager:SegmentSeconds"], out int s) && s > 0 ? s : 2;
        // "Hung" is no output for two segment durations; the first output may take longer (probing, encoder start).
        var settings = new TranscodeSessionSettings(ffmpeg, TimeSpan.FromSeconds(2 * segmentSeconds),
            TimeSpan.FromSeconds(Math.Max(10, 4 * segmentSeconds)),
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
        AddThumbnails(services, configuration, ffmpeg);
        return services;
    }

    /// <summary>
    /// <c>Thumbnails:*</c>: a JPEG of each live stream every <c>Thumbnails:IntervalSeconds</c> while looked at (the host's
    /// <see cref="Thumbnails.IThumbnailLooks"/>; none: always), every <c>Thumbnails:IdleIntervalSeconds</c> while not, handed
    /// to the host's <see cref="Thumbnails.IThumbnailSink"/> (none registered: no thumbnails).
    /// </summary>
    private static void AddThumbnails(IServiceCollection services, IConfiguration configuration, string ffmpeg)
    {
        var thumbnails = new Thumbnails.ThumbnailOptions
        {
            Enabled = !bool.TryParse(configuration["Thumbnails:Enabled"], out bool enabled) || enabled,
            IntervalSeconds = int.TryParse(configuration["Thumbnails:IntervalSeconds"], out int interval) ? interval : 10,
            IdleIntervalSeconds = int.TryParse(configuration["Thumbnails:IdleIntervalSeconds"], out int idle) ? idle : 300,
            Height = int.TryParse(configuration["Thumbnails:Height"], out int height) ? Math.Clamp(height, 90, 1080) : 360,
            FfmpegPath = ffmpeg,
        };
        if (!thumbnails.Enabled) return;
        // The host registers its sink first (no sink: no thumbnails, so no ffmpeg needed for them).
        if (services.Any(d => d.ServiceType == typeof(Thumbnails.IThumbnailSink)))
            services.RequireFfmpeg(configuration, "thumbnails (Thumbnails:Enabled)");
        services.AddSingleton(sp => new Thumbnails.ThumbnailService(sp.GetRequiredService<Media.LiveStreamRegistry>(),
            sp.GetRequiredService<Thumbnails.IThumbnailSink>(), Microsoft.Extensions.Options.Options.Create(thumbnails),
            sp.GetRequiredService<ILogger<Thumbnails.ThumbnailService>>(), looks: sp.GetService<Thumbnails.IThumbnailLooks>()));
        services.AddSingleton<IHostedService>(sp => sp.GetService<Thumbnails.IThumbnailSink>() is null
            ? NoHostedService.Instance
            : sp.GetRequiredService<Thumbnails.ThumbnailService>());
    }

    /// <summary>A hosted service that does nothing (a feature whose host part is not registered).</summary>
    private sealed class NoHostedService : IHostedService
    {
        public static NoHostedService Instance { get; } = new();

        public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
