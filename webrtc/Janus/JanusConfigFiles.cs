using System.Globalization;
using System.Text;

namespace Broadcast.WebRtc.Janus;

/// <summary>
/// The configuration this server generates for its Janus (libconfig <c>.jcfg</c> files) and the folders Janus loads
/// its modules from: only the NoSIP and VideoRoom plugins and the HTTP transport are linked into them, so nothing else
/// Janus ships (Streaming, SIP, WebSockets, MQTT…) is loaded or reachable. The HTTP API binds 127.0.0.1 only and every
/// request needs the generated API secret; VideoRoom rooms are created, and their RTP forwarded, only with the same
/// secret as its admin key (browsers never reach Janus's API: our server signals for them).
/// </summary>
public sealed class JanusConfigFiles(JanusOptions options, string directory)
{
    public const string NoSipPlugin = "libjanus_nosip.so";
    public const string VideoRoomPlugin = "libjanus_videoroom.so";
    public const string HttpTransport = "libjanus_http.so";

    public string Directory { get; } = Path.GetFullPath(directory);

    public string MainFile => Path.Combine(Directory, "janus.jcfg");

    public string PluginsFolder => Path.Combine(Directory, "plugins");

    public string TransportsFolder => Path.Combine(Directory, "transports");

    /// <summary>Folders Janus must have but that stay empty: no event handlers, no external loggers.</summary>
    public string EmptyFolder => Path.Combine(Directory, "none");

    /// <summary>Writes every file and link for a start on <paramref name="httpPort"/> with <paramref name="apiSecret"/>.</summary>
    public void Write(int httpPort, string apiSecret)
    {
        System.IO.Directory.CreateDirectory(Directory);
        foreach (var folder in new[] { PluginsFolder, TransportsFolder, EmptyFolder })
        {
            if (System.IO.Directory.Exists(folder)) System.IO.Directory.Delete(folder, recursive: true);
            System.IO.Directory.CreateDirectory(folder);
        }

        File.CreateSymbolicLink(Path.Combine(PluginsFolder, NoSipPlugin), Path.Combine(options.LibraryDirectory, "plugins", NoSipPlugin));
        File.CreateSymbolicLink(Path.Combine(PluginsFolder, VideoRoomPlugin), Path.Combine(options.LibraryDirectory, "plugins", VideoRoomPlugin));
        File.CreateSymbolicLink(Path.Combine(TransportsFolder, HttpTransport), Path.Combine(options.LibraryDirectory, "transports", HttpTransport));
        WriteSecretFile(MainFile, Main(apiSecret));
        File.WriteAllText(Path.Combine(Directory, "janus.transport.http.jcfg"), Http(httpPort));
        File.WriteAllText(Path.Combine(Directory, "janus.plugin.nosip.jcfg"), NoSip());
        WriteSecretFile(Path.Combine(Directory, "janus.plugin.videoroom.jcfg"), VideoRoom(apiSecret));
    }

    internal string Main(string apiSecret)
    {
        var text = new StringBuilder();
        text.Append("general: {\n")
            .Append("  configs_folder = ").Append(Quote(Directory)).Append('\n')
            .Append("  plugins_folder = ").Append(Quote(PluginsFolder)).Append('\n')
            .Append("  transports_folder = ").Append(Quote(TransportsFolder)).Append('\n')
            .Append("  events_folder = ").Append(Quote(EmptyFolder)).Append('\n')
            .Append("  loggers_folder = ").Append(Quote(EmptyFolder)).Append('\n')
            .Append("  debug_level = ").Append(Math.Clamp(options.DebugLevel, 0, 7).ToString(CultureInfo.InvariantCulture)).Append('\n')
            .Append("  api_secret = ").Append(Quote(apiSecret)).Append('\n')
            .Append("  server_name = \"broadcast\"\n")
            // Our client keeps its one session alive with a long poll that never lasts longer than 30 s.
            .Append("  session_timeout = 60\n")
            .Append("}\n")
            .Append("media: {\n")
            .Append("  rtp_port_range = ").Append(Quote(options.RtpPortRange)).Append('\n')
            .Append("}\n")
            .Append("nat: {\n")
            .Append("  ice_lite = ").Append(options.IceLite ? "true" : "false").Append('\n');
        // One or the other: Janus uses an enforce list alone and warns at every start that the ignore list beside it
        // is ignored.
        if (!string.IsNullOrWhiteSpace(options.IceEnforceList)) text.Append("  ice_enforce_list = ").Append(Quote(options.IceEnforceList))
            .Append('\n');
        else text.Append("  ice_ignore_list = ").Append(Quote(options.IceIgnoreList)).Append('\n');
        if (!string.IsNullOrWhiteSpace(options.PublicAddress))
        {
            text.Append("  nat_1_1_mapping = ").Append(Quote(options.PublicAddress)).Append('\n');
            if (options.KeepPrivateHost) text.Append("  keep_private_host = true\n");
        }

        if (!string.IsNullOrWhiteSpace(options.StunServer))
        {
            string stun = options.StunServer;
            int colon = stun.LastIndexOf(':');
            string host = colon > 0 ? stun[..colon] : stun;
            string port = colon > 0 ? stun[(colon + 1)..] : "3478";
            text.Append("  stun_server = ").Append(Quote(host)).Append('\n').Append("  stun_port = ")
                .Append(int.Parse(port, CultureInfo.InvariantCulture).ToString(CultureInfo.InvariantCulture)).Append('\n');
        }

        text.Append("}\n")
            .Append("events: {\n  broadcast = false\n}\n");
        return text.ToString();
    }

    internal static string Http(int httpPort) => string.Create(CultureInfo.InvariantCulture, $$"""
        general: {
          json = "plain"
          base_path = "/janus"
          http = true
          port = {{httpPort}}
          ip = "127.0.0.1"
          https = false
        }
        admin: {
          admin_http = false
          admin_https = false
        }

        """);

    internal string NoSip() => $$"""
        general: {
          local_ip = "127.0.0.1"
          rtp_port_range = {{Quote(options.NoSipPortRange)}}
          events = false
        }

        """;

    /// <summary>No rooms of its own: each is created through the API with the admin key, as is each RTP forwarder.</summary>
    internal static string VideoRoom(string adminKey) => $$"""
        general: {
          admin_key = {{Quote(adminKey)}}
          lock_rtp_forward = true
          events = false
        }

        """;

    /// <summary>A libconfig string: backslashes and quotes escaped, control characters refused (they have no business in a setting).</summary>
    internal static string Quote(string value)
    {
        if (value.Any(char.IsControl)) throw new ArgumentException($"a Janus setting holds a control character: {value}", nameof(value));
        return "\"" + value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";
    }

    private static void WriteSecretFile(string path, string content)
    {
        // The API secret is in this file: readable by this user only (as ./data's other secrets are).
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        using var stream = new FileStream(path, options);
        using var writer = new StreamWriter(stream);
        writer.Write(content);
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
    }
}
