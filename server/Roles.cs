namespace Broadcast.Server;

/// <summary>
/// Which parts of the service this process runs (`Roles` config): `all` (single node), or any of
/// `ingest` (RTMP + packager), `origin` (HTTP playback), `control` (admin API and database).
/// </summary>
public sealed record ServerRoles(bool Ingest, bool Origin, bool Control)
{
    public static ServerRoles Parse(string? value)
    {
        if (string.IsNullOrWhiteSpace(value)) return new ServerRoles(true, true, true);
        bool ingest = false, origin = false, control = false;
        foreach (var raw in value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            switch (raw.ToLowerInvariant())
            {
                case "all": ingest = origin = control = true; break;
                case "ingest": ingest = true; break;
                case "origin": origin = true; break;
                case "control": control = true; break;
                default:
                    throw new InvalidOperationException(
                        $"Roles: unknown role '{raw}'. Use 'all' or a comma list of 'ingest', 'origin', 'control'.");
            }
        }
        return new ServerRoles(ingest, origin, control);
    }

    public override string ToString() =>
        Ingest && Origin && Control ? "all" : string.Join(',', new[] { Ingest ? "ingest" : null, Origin ? "origin" : null,
            Control ? "control" : null }.Where(r => r is not null));
}
