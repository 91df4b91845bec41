using System.Text.RegularExpressions;
using Broadcast.TestSupport;

namespace Broadcast.Server.Tests.Security;

/// <summary>
/// docker-compose.yml is the production recipe: it must not ship a secret anyone can read in this repository. Every
/// secret is required from .env (<c>${NAME:?…}</c>, compose refuses to start without it), none has a default, and
/// the S3 service (SeaweedFS), whose master, volume and filer APIs take no credentials, publishes no port.
/// </summary>
public sealed partial class ComposeSecretsTests
{
    private static readonly string Compose = File.ReadAllText(Path.Combine(RepoPaths.Root, "docker-compose.yml"));

    [Fact]
    public void Every_secret_is_required_from_the_environment_with_no_default()
    {
        var secrets = Interpolation().Matches(Compose).Where(m => SecretName().IsMatch(m.Groups["name"].Value)).ToList();
        Assert.Contains(secrets, m => m.Groups["name"].Value == "BROADCAST_ADMIN_TOKEN");
        Assert.Contains(secrets, m => m.Groups["name"].Value == "POSTGRES_PASSWORD");
        Assert.Contains(secrets, m => m.Groups["name"].Value == "S3_ACCESS_KEY");
        Assert.Contains(secrets, m => m.Groups["name"].Value == "S3_SECRET_KEY");
        Assert.Contains(secrets, m => m.Groups["name"].Value == "BROADCAST_DB_PASSWORD");
        Assert.Contains(secrets, m => m.Groups["name"].Value == "BROADCAST_PLAYBACK_NODE_TOKEN");
        Assert.All(secrets, m => Assert.True(m.Groups["op"].Value == ":?", $"{m.Value} has a default or may be empty"));
    }

    [Fact]
    public void No_password_is_written_into_the_file()
    {
        Assert.DoesNotMatch(new Regex(@"Password=(?!\$\{)", RegexOptions.IgnoreCase), Compose);
        Assert.DoesNotContain("change-me", Compose, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("broadcast-secret", Compose, StringComparison.Ordinal);
        // The database role is created from the environment too.
        Assert.False(File.Exists(Path.Combine(RepoPaths.Root, "infra", "postgres", "01-broadcast.sql")));
        Assert.Contains("PASSWORD :'pw'", File.ReadAllText(Path.Combine(RepoPaths.Root, "infra", "postgres", "01-broadcast.sh")), StringComparison.Ordinal);
    }

    [Fact]
    public void Origins_hold_the_read_only_node_token_and_not_the_admin_token()
    {
        string origin = Service("origin");
        Assert.Contains("Playback__NodeToken: ${BROADCAST_PLAYBACK_NODE_TOKEN:?", origin, StringComparison.Ordinal);
        Assert.DoesNotContain("Admin__Token", origin, StringComparison.Ordinal);
        Assert.DoesNotContain("BROADCAST_ADMIN_TOKEN", origin, StringComparison.Ordinal);
        Assert.Contains("Playback__NodeToken: ${BROADCAST_PLAYBACK_NODE_TOKEN:?", Service("broadcast"), StringComparison.Ordinal);
    }

    private static string Service(string name)
    {
        int start = Compose.IndexOf($"\n  {name}:\n", StringComparison.Ordinal);
        Assert.True(start >= 0, $"no {name} service");
        var next = new Regex(@"\n  [a-z][a-z0-9-]*:\n|\nvolumes:").Match(Compose, start + 1);
        return next.Success ? Compose[start..next.Index] : Compose[start..];
    }

    [Fact]
    public void The_S3_service_publishes_no_port()
    {
        string s3 = Service("seaweedfs");
        Assert.DoesNotMatch(new Regex(@"^\s+ports:", RegexOptions.Multiline), s3);
        // Its identity comes from .env at every start, never from a file in the repository.
        Assert.Contains("S3_SECRET_KEY: ${S3_SECRET_KEY:?", s3, StringComparison.Ordinal);
        Assert.DoesNotMatch(new Regex(@"secretKey""\s*:\s*""[^%]", RegexOptions.IgnoreCase), s3);
    }

    // ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?error}, ${NAME?error}
    [GeneratedRegex(@"\$\{(?<name>[A-Z0-9_]+)(?<op>:?[-?])?[^}]*\}")]
    private static partial Regex Interpolation();

    [GeneratedRegex("TOKEN|PASSWORD|SECRET|ACCESS_KEY|ROOT_USER")]
    private static partial Regex SecretName();
}
