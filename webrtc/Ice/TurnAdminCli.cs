using System.Globalization;
using System.Net.Sockets;
using System.Text;

namespace Broadcast.WebRtc.Ice;

/// <summary>
/// A client of coturn's admin CLI (<c>--cli-ip</c>, <c>--cli-port</c>, <c>--cli-password</c>; coturn's
/// <c>src/apps/relay/turn_admin_server.c</c>, the same in 4.6.1 and 4.7.0): a telnet-style line protocol over TCP. The
/// server greets, asks <c>Enter password: </c> and, once given it, prompts <c>&gt; </c> after each command's output. It
/// reads each TCP segment it receives as one command, so one command is sent at a time and its prompt awaited. Only the
/// three commands the sweeper needs: <c>pu</c> (each user and its session count, never cut short), <c>ps USER</c> (that
/// user's sessions, with their ids) and <c>cs ID</c> (cancel a session). Every read is bounded in bytes and time.
/// </summary>
internal sealed class TurnAdminCli : IAsyncDisposable
{
    /// <summary>The most one answer may hold: <c>pu</c> is a line a user, <c>ps USER</c> a dozen lines a session.</summary>
    internal const int MaxAnswerBytes = 1024 * 1024;

    private const string PasswordPrompt = "Enter password: \r\n";
    private readonly TcpClient _tcp;
    private NetworkStream? _stream;
    private readonly TimeSpan _timeout;
    private readonly byte[] _buffer = new byte[16 * 1024];

    private TurnAdminCli(TcpClient tcp, TimeSpan timeout)
    {
        _tcp = tcp;
        _timeout = timeout;
    }

    /// <summary>Connects and signs in; throws <see cref="IOException"/> when the CLI is not there or refuses the password.</summary>
    public static async Task<TurnAdminCli> ConnectAsync(string host, int port, string password, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var tcp = new TcpClient { NoDelay = true };
        var cli = new TurnAdminCli(tcp, timeout);
        try
        {
            using (var connect = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
            {
                connect.CancelAfter(timeout);
                try
                {
                    await tcp.ConnectAsync(host, port, connect.Token).ConfigureAwait(false);
                    cli._stream = tcp.GetStream();
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                    throw new IOException($"no connection to the TURN server's CLI within {timeout.TotalSeconds:0.#} s");
                }
            }

            string greeting = await cli.ReadAnswerAsync(cancellationToken).ConfigureAwait(false);
            if (!greeting.EndsWith(PasswordPrompt, StringComparison.Ordinal))
                throw new IOException("the TURN server's CLI asked for no password: give it one (--cli-password)");
            if (await cli.RunAsync(password, cancellationToken).ConfigureAwait(false) is { } answer && answer.EndsWith(PasswordPrompt, StringComparison.Ordinal))
                throw new IOException("the TURN server's CLI refused the password (Turn:AdminPassword is not its --cli-password)");
            return cli;
        }
        catch
        {
            await cli.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Sends one command and returns its output up to and including the prompt (or a new password prompt).</summary>
    public async Task<string> RunAsync(string command, CancellationToken cancellationToken)
    {
        if (command.AsSpan().IndexOfAny('\r', '\n') >= 0) throw new ArgumentException("a CLI command is one line", nameof(command));
        byte[] line = Encoding.ASCII.GetBytes(command + "\r\n");
        await _stream!.WriteAsync(line, cancellationToken).ConfigureAwait(false);
        return await ReadAnswerAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The users with sessions (<c>pu</c>): their names as coturn shows them (<c>    user: &lt;NAME&gt;, N sessions</c>).</summary>
    public async Task<IReadOnlyList<string>> UsersAsync(CancellationToken cancellationToken) =>
        ParseUsers(await RunAsync("pu", cancellationToken).ConfigureAwait(false));

    /// <summary>The ids of <paramref name="username"/>'s sessions (<c>ps USER</c>, an exact match).</summary>
    public async Task<IReadOnlyList<string>> SessionsOfAsync(string username, CancellationToken cancellationToken) =>
        ParseSessionIds(await RunAsync("ps " + username, cancellationToken).ConfigureAwait(false), username);

    /// <summary>Cancels a session (<c>cs ID</c>): coturn closes it and frees its relay.</summary>
    public Task CancelAsync(string sessionId, CancellationToken cancellationToken) => RunAsync("cs " + sessionId, cancellationToken);

    internal static IReadOnlyList<string> ParseUsers(string answer)
    {
        var users = new List<string>();
        foreach (string line in answer.Split('\n'))
        {
            string trimmed = line.Trim();
            if (!trimmed.StartsWith("user: <", StringComparison.Ordinal)) continue;
            int end = trimmed.LastIndexOf(">, ", StringComparison.Ordinal);
            if (end > "user: <".Length) users.Add(trimmed["user: <".Length..end]);
        }

        return users;
    }

    /// <summary>The ids in lines <c>    1) id=001000000000000003, user &lt;NAME&gt;:</c> that name <paramref name="username"/>.</summary>
    internal static IReadOnlyList<string> ParseSessionIds(string answer, string username)
    {
        var ids = new List<string>();
        string tail = $", user <{username}>:";
        foreach (string line in answer.Split('\n'))
        {
            string trimmed = line.Trim();
            int at = trimmed.IndexOf(") id=", StringComparison.Ordinal);
            if (at < 0 || !trimmed.EndsWith(tail, StringComparison.Ordinal)) continue;
            string id = trimmed[(at + ") id=".Length)..^tail.Length];
            if (id.Length is > 0 and <= 20 && ulong.TryParse(id, NumberStyles.None, CultureInfo.InvariantCulture, out _)) ids.Add(id);
        }

        return ids;
    }

    /// <summary>Reads until the prompt (<c>&gt; </c> at the start of a line) or the password prompt ends what came.</summary>
    private async Task<string> ReadAnswerAsync(CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_timeout);
        var answer = new StringBuilder();
        while (true)
        {
            int n;
            try
            {
                n = await _stream!.ReadAsync(_buffer, timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                throw new IOException($"the TURN server's CLI did not answer within {_timeout.TotalSeconds:0.#} s");
            }

            if (n == 0) throw new IOException("the TURN server's CLI closed the connection");
            if (answer.Length + n > MaxAnswerBytes) throw new IOException($"the TURN server's CLI answered more than {MaxAnswerBytes} bytes");
            // Telnet's IAC (0xFF) never comes in what is read here (no option is negotiated, the text is ASCII).
            answer.Append(Encoding.Latin1.GetString(_buffer, 0, n));
            if (IsComplete(answer)) return answer.ToString();
        }
    }

    private static bool IsComplete(StringBuilder answer)
    {
        int length = answer.Length;
        if (length >= PasswordPrompt.Length && answer.ToString(length - PasswordPrompt.Length, PasswordPrompt.Length) == PasswordPrompt) return true;
        return length >= 2 && answer[length - 2] == '>' && answer[length - 1] == ' ' && (length == 2 || answer[length - 3] == '\n');
    }

    public ValueTask DisposeAsync()
    {
        _stream?.Dispose();
        _tcp.Dispose();
        return ValueTask.CompletedTask;
    }
}
