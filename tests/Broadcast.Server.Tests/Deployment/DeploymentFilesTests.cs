using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Broadcast.TestSupport;
using YamlDotNet.RepresentationModel;

namespace Broadcast.Server.Tests.Deployment;

/// <summary>
/// docker-compose.yml and infra/Dockerfile are the production recipe, and no Docker engine runs here to try them:
/// these read them as data and hold them to what a fresh host needs. Images pinned to a version (a rebuild next
/// month gets the same thing), a stop grace longer than the server's drain, readiness (not liveness) healthchecks,
/// the origin role where /watch is served, rotated logs, and the edge depending on origins only.
/// infra/check-deploy.sh (./test.sh) adds Debian's docker-compose validation and the clean-clone build.
/// </summary>
public sealed partial class DeploymentFilesTests
{
    private static readonly YamlMappingNode Compose = LoadCompose();
    private static readonly YamlMappingNode Services = (YamlMappingNode)Compose["services"];
    private static readonly string Dockerfile = File.ReadAllText(Path.Combine(RepoPaths.Root, "infra", "Dockerfile"));

    /// <summary>The server's drain on SIGTERM: Shutdown:TimeoutSeconds (25) + Storage:Queue:FlushTimeout (10), with margin.</summary>
    private static readonly TimeSpan MinimumStopGrace = TimeSpan.FromSeconds(40);

    [Fact]
    public void Every_image_is_pinned_to_a_version()
    {
        // The server's image is built here from infra/Dockerfile (whose bases are checked below), not pulled; the
        // services that run it (origins) name the tag the building service gives it.
        var built = EachService().Where(s => s.Service.Children.ContainsKey("build")).Select(s => Scalar(s.Service, "image")).ToHashSet();
        Assert.Single(built);
        int pulled = 0;
        foreach (var (name, service) in EachService())
        {
            string image = Scalar(service, "image") ?? throw new Xunit.Sdk.XunitException($"service {name} has no image");
            if (built.Contains(image)) continue;
            // ${VARIABLE:-pinned}: a mirror may be named in .env; what is shipped is the default, which must be a pin.
            var variable = ImageVariable().Match(image);
            Assert.True(variable.Success, $"service {name}: image '{image}' is not ${{NAME_IMAGE:-pinned tag}}");
            AssertPinned(variable.Groups["default"].Value, $"service {name}");
            pulled++;
        }
        Assert.True(pulled >= 3, "postgres, the S3 service and the edge pull images");
        Assert.DoesNotContain("minio/", string.Join(' ', EachService().Select(s => Scalar(s.Service, "image"))), StringComparison.Ordinal);
    }

    [Fact]
    public void The_Dockerfile_bases_are_pinned_and_the_sdk_is_the_one_global_json_names()
    {
        // Each base is a build argument (FROM ${SDK_IMAGE}) whose default, declared before the first FROM, is the pin.
        var defaults = ArgDefault().Matches(Dockerfile).ToDictionary(m => m.Groups["name"].Value, m => m.Groups["value"].Value);
        var froms = FromLine().Matches(Dockerfile).Select(m => m.Groups["image"].Value)
            .Select(image => image.StartsWith("${", StringComparison.Ordinal) && image.EndsWith('}')
                ? defaults.GetValueOrDefault(image[2..^1]) ?? throw new Xunit.Sdk.XunitException($"FROM {image}: no ARG default before the first FROM")
                : image)
            .ToList();
        Assert.True(froms.Count >= 3, "node, SDK and runtime stages");
        Assert.All(froms, image => AssertPinned(image, "infra/Dockerfile FROM"));

        using var global = JsonDocument.Parse(File.ReadAllText(Path.Combine(RepoPaths.Root, "global.json")));
        string sdk = global.RootElement.GetProperty("sdk").GetProperty("version").GetString()!;
        Assert.Contains($"mcr.microsoft.com/dotnet/sdk:{sdk}", froms);
        Assert.Contains(froms, f => f.StartsWith("node:", StringComparison.Ordinal));
    }

    [Fact]
    public void The_image_makes_a_data_directory_the_runtime_user_owns_before_the_volume()
    {
        int owned = Dockerfile.IndexOf("install -d -o broadcast -g broadcast", StringComparison.Ordinal);
        int volume = Dockerfile.IndexOf("VOLUME [\"/var/lib/broadcast/data\"]", StringComparison.Ordinal);
        int user = Dockerfile.IndexOf("USER 10001:10001", StringComparison.Ordinal);
        Assert.True(owned > 0 && volume > owned && user > volume, "data directory created and chowned, then VOLUME, then USER");
        Assert.Contains("--uid 10001", Dockerfile, StringComparison.Ordinal);
        Assert.Matches(@"HEALTHCHECK [^\n]*/readyz", Dockerfile);
        Assert.Contains("ARG TARGETARCH", Dockerfile, StringComparison.Ordinal);
        // BuildKit sets TARGETARCH; the classic builder sets none and builds for amd64.
        Assert.Contains("RUN infra/build-server.sh \"${TARGETARCH:-amd64}\"", Dockerfile, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("broadcast")]
    [InlineData("origin")]
    public void Server_services_outlast_the_drain_and_report_readiness(string name)
    {
        var service = Service(name);
        string grace = Scalar(service, "stop_grace_period") ?? throw new Xunit.Sdk.XunitException($"{name} has no stop_grace_period (Docker kills after 10 s)");
        Assert.True(ParseDuration(grace) >= MinimumStopGrace, $"{name}: stop_grace_period {grace} is shorter than {MinimumStopGrace.TotalSeconds} s");

        var test = HealthcheckTest(service) ?? throw new Xunit.Sdk.XunitException($"{name} has no healthcheck");
        Assert.Contains("/readyz", test, StringComparison.Ordinal);
    }

    [Fact]
    public void No_healthcheck_asks_healthz()
    {
        foreach (var (name, service) in EachService())
        {
            string? test = HealthcheckTest(service);
            if (test is not null) Assert.False(test.Contains("/healthz", StringComparison.Ordinal), $"{name} checks liveness, not readiness: {test}");
        }
    }

    [Fact]
    public void The_broadcast_node_serves_origin_too_and_knows_its_public_urls()
    {
        var service = Service("broadcast");
        var roles = Sequence(service, "command").Select(RolesOf).Single(r => r is not null)!;
        Assert.Contains("ingest", roles);
        Assert.Contains("control", roles);
        Assert.Contains("origin", roles);

        var env = (YamlMappingNode)service["environment"];
        Assert.StartsWith("${BROADCAST_HTTP_BASE_URL:?", Scalar(env, "Public__HttpBaseUrl"), StringComparison.Ordinal);
        Assert.StartsWith("${BROADCAST_RTMP_BASE_URL:?", Scalar(env, "Public__RtmpBaseUrl"), StringComparison.Ordinal);
        Assert.Equal("true", Scalar(env, "Storage__S3__CreateBucket"));
    }

    [Fact]
    public void Origins_let_the_edge_validate_tokens_and_the_edge_depends_on_origins_only()
    {
        var origin = Service("origin");
        Assert.Equal(new[] { "--Roles=origin" }, Sequence(origin, "command").Where(a => a.StartsWith("--Roles", StringComparison.Ordinal)));
        Assert.Equal("true", Scalar((YamlMappingNode)origin["environment"], "Origin__EdgeValidatesPlaybackTokens"));

        var dependsOn = Service("edge")["depends_on"];
        var names = dependsOn is YamlMappingNode map
            ? map.Children.Keys.Select(k => ((YamlScalarNode)k).Value!).ToList()
            : ((YamlSequenceNode)dependsOn).Children.Select(n => ((YamlScalarNode)n).Value!).ToList();
        Assert.Equal(new[] { "origin" }, names);
    }

    [Fact]
    public void The_turn_service_checks_signed_credentials_and_relays_to_janus_alone()
    {
        var turn = Sequence(Service("turn"), "command").ToList();
        Assert.Contains("--use-auth-secret", turn);
        Assert.Contains(turn, a => a.StartsWith("--static-auth-secret=${TURN_SECRET:?", StringComparison.Ordinal));
        // Every peer address refused, public ones too (no open relay), IPv4 and IPv6, and no TCP relay.
        Assert.Equal(["--denied-peer-ip=0.0.0.0-255.255.255.255", "--denied-peer-ip=::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"],
            turn.Where(a => a.StartsWith("--denied-peer-ip=", StringComparison.Ordinal)));
        Assert.Contains("--no-tcp-relay", turn);

        // The peers allowed among those: the broadcast node's fixed address, where its Janus keeps a host candidate, and
        // the origin replicas' range on the media network, where nothing else of ours gets an address (the turn service's
        // own is fixed below it).
        var broadcast = Service("broadcast");
        string address = Scalar((YamlMappingNode)((YamlMappingNode)broadcast["networks"])["default"], "ipv4_address")!;
        var media = (YamlMappingNode)((YamlSequenceNode)((YamlMappingNode)((YamlMappingNode)Compose["networks"])["media"])["ipam"]["config"]).Children.Single();
        var replicas = System.Net.IPNetwork.Parse(Scalar(media, "ip_range")!);
        byte[] first = replicas.BaseAddress.GetAddressBytes();
        byte[] last = (byte[])first.Clone();
        last[3] = (byte)(first[3] | (0xFF >> replicas.PrefixLength - 24));
        Assert.Equal([$"--allowed-peer-ip={address}", $"--allowed-peer-ip={new System.Net.IPAddress(first)}-{new System.Net.IPAddress(last)}"],
            turn.Where(a => a.StartsWith("--allowed-peer-ip=", StringComparison.Ordinal)));
        var turnOnMedia = System.Net.IPAddress.Parse(Scalar((YamlMappingNode)((YamlMappingNode)Service("turn")["networks"])["media"], "ipv4_address")!);
        Assert.False(replicas.Contains(turnOnMedia), "the turn service's own address must lie outside the range it relays to");
        Assert.Equal(new[] { "default", "media" }, ((YamlSequenceNode)Service("origin")["networks"]).Children.Select(c => ((YamlScalarNode)c).Value!));
        Assert.DoesNotContain(EachService(), s => s.Name is not ("origin" or "turn") && s.Service.Children.TryGetValue("networks", out var n)
            && n is YamlMappingNode m && m.Children.ContainsKey("media"));
        var env = (YamlMappingNode)broadcast["environment"];
        Assert.Equal("true", Scalar(env, "Janus__KeepPrivateHost"));
        Assert.StartsWith("${TURN_SECRET:?", Scalar(env, "Turn__Secret"), StringComparison.Ordinal);
        Assert.StartsWith("turn:", Scalar(env, "Turn__Urls__0"), StringComparison.Ordinal);
    }

    [Fact]
    public void The_turn_services_quotas_fit_its_relay_ports_and_its_cli_lets_the_broadcast_node_end_expired_relays()
    {
        var turn = Sequence(Service("turn"), "command").ToList();
        int Flag(string name) => int.Parse(turn.Single(a => a.StartsWith($"--{name}=", StringComparison.Ordinal)).Split('=')[1], CultureInfo.InvariantCulture);
        int ports = Flag("max-port") - Flag("min-port") + 1;
        // The relay ports are published one to one.
        Assert.Contains($"{Flag("min-port")}-{Flag("max-port")}:{Flag("min-port")}-{Flag("max-port")}/udp",
            Sequence(Service("turn"), "ports").Select(p => p.Split(' ')[0]));
        // Allocations refused by quota before the ports run out, and one address (one TURN user: WHEP viewers are named
        // after their address) holding at most a tenth of them.
        Assert.InRange(Flag("total-quota"), 1, ports);
        Assert.InRange(Flag("user-quota"), 2, ports / 10);
        // The CLI, with a password of its own, and the broadcast node pointed at it; never published on the host.
        Assert.DoesNotContain("--no-cli", turn);
        Assert.Contains(turn, a => a.StartsWith("--cli-password=${TURN_CLI_PASSWORD:?", StringComparison.Ordinal));
        var env = (YamlMappingNode)Service("broadcast")["environment"];
        Assert.Equal("turn", Scalar(env, "Turn__AdminAddress"));
        Assert.StartsWith("${TURN_CLI_PASSWORD:?", Scalar(env, "Turn__AdminPassword"), StringComparison.Ordinal);
        Assert.Equal(Flag("cli-port").ToString(CultureInfo.InvariantCulture), Scalar(env, "Turn__AdminPort") ?? "5766");
        Assert.DoesNotContain(Sequence(Service("turn"), "ports"), p => p.Contains($":{Flag("cli-port")}", StringComparison.Ordinal));
    }

    [Fact]
    public void Origin_replicas_relay_real_time_channels_from_the_broadcast_node_and_offer_janus_on_the_media_network_only()
    {
        var env = (YamlMappingNode)Service("origin")["environment"];
        // The broadcast node's HTTP port inside the network, asked with the node token it accepts.
        Assert.Equal("http://broadcast:8080", Scalar(env, "Whep__RelayFrom__0"));
        Assert.Equal("false", Scalar(env, "Janus__StartOnFirstViewer"));
        Assert.StartsWith("${BROADCAST_PLAYBACK_NODE_TOKEN:?", Scalar(env, "Playback__NodeToken"), StringComparison.Ordinal);
        // Viewers reach a replica's Janus through the turn service alone: credentials for it, candidates on the media network.
        Assert.StartsWith("${TURN_SECRET:?", Scalar(env, "Turn__Secret"), StringComparison.Ordinal);
        Assert.StartsWith("turn:", Scalar(env, "Turn__Urls__0"), StringComparison.Ordinal);
        var media = (YamlMappingNode)((YamlSequenceNode)((YamlMappingNode)((YamlMappingNode)Compose["networks"])["media"])["ipam"]["config"]).Children.Single();
        var subnet = System.Net.IPNetwork.Parse(Scalar(media, "subnet")!);
        string prefix = string.Join('.', subnet.BaseAddress.ToString().Split('.').Take(subnet.PrefixLength / 8)) + ".";
        Assert.Equal(prefix, Scalar(env, "Janus__IceEnforceList"));
        // The edge's forwarded address is believed, so the per-address WHEP limit counts viewers, not the edge.
        var network = System.Net.IPNetwork.Parse(Scalar((YamlMappingNode)((YamlSequenceNode)((YamlMappingNode)((YamlMappingNode)Compose["networks"])["default"])["ipam"]["config"]).Children.Single(), "subnet")!);
        Assert.Equal(network.ToString(), Scalar(env, "Http__TrustedProxies"));
    }

    [Fact]
    public void Every_service_rotates_its_logs()
    {
        foreach (var (name, service) in EachService())
        {
            Assert.True(service.Children.ContainsKey("logging"), $"{name} has no logging section: json-file grows without bound");
            var logging = (YamlMappingNode)service["logging"];
            Assert.Equal("json-file", Scalar(logging, "driver"));
            var options = (YamlMappingNode)logging["options"];
            Assert.Matches(@"^\d+[kmg]$", Scalar(options, "max-size"));
            Assert.Matches(@"^\d+$", Scalar(options, "max-file"));
        }
    }

    [Theory]
    [InlineData("60s", 60)]
    [InlineData("1m30s", 90)]
    [InlineData("2m", 120)]
    [InlineData("45", 45)]
    [InlineData("1500ms", 1.5)]
    public void Durations_read_like_compose_reads_them(string text, double seconds)
        => Assert.Equal(TimeSpan.FromSeconds(seconds), ParseDuration(text));

    [Theory]
    [InlineData("postgres:15.13-bookworm", true)]
    [InlineData("chrislusf/seaweedfs:3.80", true)]
    [InlineData("mcr.microsoft.com/dotnet/sdk:10.0.401", true)]
    [InlineData("debian:12.11-slim", true)]
    [InlineData("nginx:1.28.0-bookworm", true)]
    [InlineData("minio/minio:latest", false)]
    [InlineData("postgres:15", false)]
    [InlineData("postgres:15-bookworm", false)]
    [InlineData("debian:bookworm-slim", false)]
    [InlineData("nginx", false)]
    [InlineData("localhost:5000/nginx", false)]
    public void A_pin_names_at_least_major_and_minor(string image, bool pinned)
        => Assert.Equal(pinned, IsPinned(image));

    private static void AssertPinned(string image, string where)
        => Assert.True(IsPinned(image), $"{where}: image '{image}' is not pinned to a version (no latest, no bare major)");

    internal static bool IsPinned(string image)
    {
        if (image.Contains('@', StringComparison.Ordinal)) return true; // a digest pins exactly
        int slash = image.LastIndexOf('/');
        int colon = image.IndexOf(':', slash + 1);
        if (colon < 0) return false;
        string tag = image[(colon + 1)..];
        return !tag.Contains("latest", StringComparison.OrdinalIgnoreCase) && PinnedTag().IsMatch(tag);
    }

    internal static TimeSpan ParseDuration(string text)
    {
        if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double bare)) return TimeSpan.FromSeconds(bare);
        var parts = DurationPart().Matches(text);
        Assert.True(parts.Count > 0 && string.Concat(parts.Select(p => p.Value)) == text, $"not a compose duration: {text}");
        var total = TimeSpan.Zero;
        foreach (Match p in parts)
        {
            double n = double.Parse(p.Groups["n"].Value, CultureInfo.InvariantCulture);
            total += p.Groups["unit"].Value switch
            {
                "h" => TimeSpan.FromHours(n),
                "m" => TimeSpan.FromMinutes(n),
                "s" => TimeSpan.FromSeconds(n),
                "ms" => TimeSpan.FromMilliseconds(n),
                "us" => TimeSpan.FromMicroseconds(n),
                _ => throw new Xunit.Sdk.XunitException($"unit {p.Groups["unit"].Value} in {text}"),
            };
        }

        return total;
    }

    private static string[]? RolesOf(string argument)
        => argument.StartsWith("--Roles=", StringComparison.Ordinal)
            ? argument["--Roles=".Length..].Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
            : null;

    private static string? HealthcheckTest(YamlMappingNode service)
    {
        if (!service.Children.TryGetValue("healthcheck", out var node)) return null;
        var test = ((YamlMappingNode)node)["test"];
        return test is YamlSequenceNode seq ? string.Join(' ', seq.Children.Select(c => ((YamlScalarNode)c).Value)) : ((YamlScalarNode)test).Value;
    }

    private static IEnumerable<(string Name, YamlMappingNode Service)> EachService()
        => Services.Children.Select(kv => (((YamlScalarNode)kv.Key).Value!, (YamlMappingNode)kv.Value));

    private static YamlMappingNode Service(string name)
        => Services.Children.TryGetValue(name, out var node) ? (YamlMappingNode)node : throw new Xunit.Sdk.XunitException($"no service {name}");

    private static string? Scalar(YamlMappingNode map, string key)
        => map.Children.TryGetValue(key, out var node) ? ((YamlScalarNode)node).Value : null;

    private static IEnumerable<string> Sequence(YamlMappingNode map, string key)
        => ((YamlSequenceNode)map[key]).Children.Select(c => ((YamlScalarNode)c).Value!);

    private static YamlMappingNode LoadCompose()
    {
        var yaml = new YamlStream();
        using var reader = new StreamReader(Path.Combine(RepoPaths.Root, "docker-compose.yml"));
        yaml.Load(reader);
        return (YamlMappingNode)yaml.Documents.Single().RootNode;
    }

    // A version that names at least major.minor (15.13, 3.80, 10.0.401, 1.28.0), then an optional variant (-bookworm, -slim).
    [GeneratedRegex(@"^v?\d+\.\d+(\.\d+)*([-_][a-z0-9.]+)*$")]
    private static partial Regex PinnedTag();

    [GeneratedRegex(@"(?<n>\d+(\.\d+)?)(?<unit>h|ms|us|m|s)")]
    private static partial Regex DurationPart();

    [GeneratedRegex(@"^FROM\s+(--platform=\S+\s+)?(?<image>\S+)", RegexOptions.Multiline)]
    private static partial Regex FromLine();

    [GeneratedRegex(@"^ARG\s+(?<name>[A-Z_]+_IMAGE)=(?<value>\S+)", RegexOptions.Multiline)]
    private static partial Regex ArgDefault();

    [GeneratedRegex(@"^\$\{(?<name>[A-Z_]+_IMAGE):-(?<default>[^}]+)\}$")]
    private static partial Regex ImageVariable();
}
