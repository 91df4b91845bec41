using System.Globalization;

namespace Broadcast.Soak;

/// <summary>
/// One row of Linux's <c>/proc/net/tcp</c> (or <c>tcp6</c>): <c>sl local_address rem_address st ... uid timeout inode</c>,
/// addresses as hex <c>ADDR:PORT</c>, the state as the kernel's hex TCP state number.
/// </summary>
public readonly record struct TcpSocketRow(int LocalPort, int State, long Inode)
{
    public const int Established = 0x01;
    public const int Listen = 0x0A;

    /// <summary>Parses one row; the header line and anything malformed give false.</summary>
    public static bool TryParse(string line, out TcpSocketRow row)
    {
        row = default;
        var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (fields.Length < 10 || !fields[0].EndsWith(':')) return false;
        int colon = fields[1].LastIndexOf(':');
        if (colon < 0
            || !int.TryParse(fields[1].AsSpan(colon + 1), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out int port)
            || !int.TryParse(fields[3], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out int state)
            || !long.TryParse(fields[9], NumberStyles.None, CultureInfo.InvariantCulture, out long inode))
            return false;
        row = new TcpSocketRow(port, state, inode);
        return true;
    }
}
