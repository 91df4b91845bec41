using Broadcast.Ingest.Rtmp;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;

namespace Broadcast.Ingest.Rtmps;

internal static class RtmpsServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="RtmpsServer"/> when Rtmps:Port is set (part of AddRtmpIngest). Its RTMP settings are the
    /// "Rtmp" section bound again under the name "Rtmps", so every RTMP limit applies, with the RTMPS port and address.
    /// </summary>
    public static IServiceCollection AddRtmpsIngest(this IServiceCollection services, IConfiguration configuration)
    {
        var section = configuration.GetSection(RtmpsOptions.SectionName);
        services.AddOptions<RtmpsOptions>()
            .Bind(section)
            .Validate(o => o.Port is null or (>= 0 and <= 65535), "Rtmps:Port must be 0..65535 (0 or empty: off).")
            .Validate(o => o.BindAddress is null || System.Net.IPAddress.TryParse(o.BindAddress, out _), "Rtmps:BindAddress must be an IP address.");
        if (section.Get<RtmpsOptions>() is not { Enabled: true }) return services;

        services.AddOptions<RtmpOptions>(RtmpsOptions.SectionName)
            .Bind(configuration.GetSection(RtmpOptions.SectionName))
            .Configure<Microsoft.Extensions.Options.IOptions<RtmpsOptions>>((rtmp, tls) =>
            {
                rtmp.Port = tls.Value.Port ?? 0;
                if (tls.Value.BindAddress is { } address) rtmp.BindAddress = address;
            });
        services.TryAddSingleton<RtmpsServer>();
        services.AddSingleton<IHostedService>(sp => sp.GetRequiredService<RtmpsServer>());
        return services;
    }
}
