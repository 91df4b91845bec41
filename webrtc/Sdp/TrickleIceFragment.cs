using System.Text;

namespace Broadcast.WebRtc.Sdp;

/// <summary>One ICE candidate of a fragment and the media section (<c>a=mid</c>) it was given under, if any.</summary>
public readonly record struct FragmentCandidate(string? Mid, string Candidate);

/// <summary>
/// An SDP fragment of the <c>application/trickle-ice-sdpfrag</c> type (RFC 8840 §9) as WHIP and WHEP carry it in an
/// HTTP <c>PATCH</c> (RFC 9725 §4.3): the ICE username fragment and password (new ones ask for an ICE restart,
/// RFC 8839 §4.4.1.1.1), the candidates gathered with them, grouped under <c>m=</c>/<c>a=mid</c> lines, and
/// <c>a=end-of-candidates</c>. What else a fragment may hold (<c>a=ice-options</c>, <c>a=group</c>) is read over.
/// Bounded like an offer: at most <see cref="MaxLines"/> lines and <see cref="MaxCandidates"/> candidates, and every
/// value checked against its grammar, so that nothing a client writes reaches Janus unread.
/// </summary>
public sealed class TrickleIceFragment
{
    public const string ContentType = "application/trickle-ice-sdpfrag";
    public const int MaxBytes = 16 * 1024;
    public const int MaxLines = 256;
    public const int MaxCandidates = 64;
    private const int MaxCandidateLength = 512;

    private TrickleIceFragment(string? ufrag, string? password, IReadOnlyList<FragmentCandidate> candidates, bool endOfCandidates)
    {
        Ufrag = ufrag;
        Password = password;
        Candidates = candidates;
        EndOfCandidates = endOfCandidates;
    }

    /// <summary>The <c>a=ice-ufrag</c> value, or null when the fragment has none (a plain trickle of candidates).</summary>
    public string? Ufrag { get; }

    /// <summary>The <c>a=ice-pwd</c> value, or null.</summary>
    public string? Password { get; }

    public IReadOnlyList<FragmentCandidate> Candidates { get; }

    public bool EndOfCandidates { get; }

    /// <summary>Reads <paramref name="text"/>; on failure <paramref name="error"/> names the line and what is wrong with it.</summary>
    public static bool TryParse(string text, out TrickleIceFragment fragment, out string error)
    {
        ArgumentNullException.ThrowIfNull(text);
        fragment = null!;
        error = "";
        string[] lines = text.Split('\n');
        if (lines.Length > MaxLines + 1)
        {
            error = $"more than {MaxLines} lines";
            return false;
        }

        string? ufrag = null, password = null, mid = null;
        bool end = false;
        var candidates = new List<FragmentCandidate>();
        int number = 0;
        foreach (string raw in lines)
        {
            number++;
            string line = raw.EndsWith('\r') ? raw[..^1] : raw;
            if (line.Length == 0) continue;
            if (line.Length < 2 || line[1] != '=' || line[0] is < 'a' or > 'z')
            {
                error = $"line {number} is not <type>=<value>";
                return false;
            }

            if (line.AsSpan().ContainsAnyInRange('\0', '\u001f') || line.AsSpan().ContainsAnyExceptInRange('\0', '\u007e'))
            {
                error = $"line {number} holds a control or non-ASCII character";
                return false;
            }

            if (line[0] == 'm')
            {
                mid = null; // a new media section: its a=mid follows
                continue;
            }

            if (line[0] != 'a') continue;
            string attribute = line[2..];
            if (attribute.StartsWith("ice-ufrag:", StringComparison.Ordinal))
            {
                string value = attribute["ice-ufrag:".Length..];
                // ice-char = ALPHA / DIGIT / "+" / "/", 4 to 256 of them (RFC 8839 §5.4).
                if (!IsIceChars(value, 4, 256) || (ufrag is not null && ufrag != value))
                {
                    error = $"line {number}: a malformed or second, different a=ice-ufrag";
                    return false;
                }

                ufrag = value;
            }
            else if (attribute.StartsWith("ice-pwd:", StringComparison.Ordinal))
            {
                string value = attribute["ice-pwd:".Length..];
                if (!IsIceChars(value, 22, 256) || (password is not null && password != value))
                {
                    error = $"line {number}: a malformed or second, different a=ice-pwd";
                    return false;
                }

                password = value;
            }
            else if (attribute.StartsWith("mid:", StringComparison.Ordinal))
            {
                mid = attribute["mid:".Length..];
                if (mid.Length is 0 or > 32 || mid.Contains(' ', StringComparison.Ordinal))
                {
                    error = $"line {number}: a malformed a=mid";
                    return false;
                }
            }
            else if (attribute.StartsWith("candidate:", StringComparison.Ordinal))
            {
                if (candidates.Count == MaxCandidates)
                {
                    error = $"more than {MaxCandidates} candidates";
                    return false;
                }

                string candidate = attribute["candidate:".Length..];
                if (candidate.Length > MaxCandidateLength || !IsCandidate(candidate))
                {
                    error = $"line {number}: a malformed candidate";
                    return false;
                }

                candidates.Add(new FragmentCandidate(mid, candidate));
            }
            else if (attribute == "end-of-candidates")
            {
                end = true;
            }
        }

        if ((ufrag is null) != (password is null))
        {
            error = "an ICE restart needs both a=ice-ufrag and a=ice-pwd";
            return false;
        }

        fragment = new TrickleIceFragment(ufrag, password, candidates, end);
        return true;
    }

    /// <summary>
    /// <paramref name="offer"/> (the session's last full offer) as the offer of this fragment's ICE restart: its ICE
    /// username fragment and password replaced wherever they stand, its old candidates left out and this fragment's
    /// candidates put in the media section of their <c>a=mid</c> (the first section when they name none, which under
    /// BUNDLE is the one that gathers, RFC 9725 §4.3.2). Everything else is the offer as it was: WHIP and WHEP
    /// renegotiate nothing but ICE.
    /// </summary>
    public string ApplyTo(string offer)
    {
        if (Ufrag is null || Password is null) throw new InvalidOperationException("only a fragment with new ICE credentials makes a restart offer");
        var sections = new List<List<string>> { new() };
        foreach (string raw in offer.Split('\n'))
        {
            string line = raw.EndsWith('\r') ? raw[..^1] : raw;
            if (line.Length == 0) continue;
            if (line.StartsWith("m=", StringComparison.Ordinal)) sections.Add([]);
            if (line.StartsWith("a=candidate:", StringComparison.Ordinal) || line == "a=end-of-candidates") continue;
            if (line.StartsWith("a=ice-ufrag:", StringComparison.Ordinal)) line = "a=ice-ufrag:" + Ufrag;
            else if (line.StartsWith("a=ice-pwd:", StringComparison.Ordinal)) line = "a=ice-pwd:" + Password;
            sections[^1].Add(line);
        }

        var mids = sections.Select(s => s.FirstOrDefault(l => l.StartsWith("a=mid:", StringComparison.Ordinal))?["a=mid:".Length..]).ToList();
        var text = new StringBuilder(offer.Length + Candidates.Count * 100);
        for (int i = 0; i < sections.Count; i++)
        {
            foreach (string line in sections[i]) text.Append(line).Append("\r\n");
            if (i == 0) continue;
            foreach (var candidate in Candidates)
            {
                bool here = candidate.Mid is not null && mids.Contains(candidate.Mid) ? candidate.Mid == mids[i] : i == 1;
                if (here) text.Append("a=candidate:").Append(candidate.Candidate).Append("\r\n");
            }

            if (EndOfCandidates) text.Append("a=end-of-candidates\r\n");
        }

        return text.ToString();
    }

    /// <summary>
    /// The answer to an ICE restart (RFC 9725 §4.3.2): the ICE username fragment, password and candidates of
    /// <paramref name="answer"/> (the full SDP answer to the restart offer) under its first media section's
    /// <c>m=</c> and <c>a=mid</c> lines, and <c>a=end-of-candidates</c>. Null when the answer has no ICE credentials.
    /// </summary>
    public static string? AnswerOf(string answer)
    {
        string? ufrag = null, password = null, mLine = null, mid = null;
        var candidates = new List<string>();
        bool inFirstSection = false, pastFirstSection = false;
        foreach (string raw in answer.Split('\n'))
        {
            string line = raw.EndsWith('\r') ? raw[..^1] : raw;
            if (line.StartsWith("m=", StringComparison.Ordinal))
            {
                pastFirstSection = mLine is not null;
                inFirstSection = mLine is null;
                mLine ??= line;
                continue;
            }

            if (pastFirstSection) continue;
            if (line.StartsWith("a=ice-ufrag:", StringComparison.Ordinal)) ufrag ??= line["a=ice-ufrag:".Length..];
            else if (line.StartsWith("a=ice-pwd:", StringComparison.Ordinal)) password ??= line["a=ice-pwd:".Length..];
            else if (inFirstSection && line.StartsWith("a=mid:", StringComparison.Ordinal)) mid ??= line["a=mid:".Length..];
            else if (inFirstSection && line.StartsWith("a=candidate:", StringComparison.Ordinal)) candidates.Add(line);
        }

        if (ufrag is null || password is null || mLine is null) return null;
        var text = new StringBuilder();
        text.Append("a=ice-ufrag:").Append(ufrag).Append("\r\n");
        text.Append("a=ice-pwd:").Append(password).Append("\r\n");
        text.Append(mLine).Append("\r\n");
        if (mid is not null) text.Append("a=mid:").Append(mid).Append("\r\n");
        foreach (string candidate in candidates) text.Append(candidate).Append("\r\n");
        text.Append("a=end-of-candidates\r\n");
        return text.ToString();
    }

    private static bool IsIceChars(string value, int min, int max)
    {
        if (value.Length < min || value.Length > max) return false;
        foreach (char c in value)
            if (!char.IsAsciiLetterOrDigit(c) && c is not '+' and not '/') return false;
        return true;
    }

    /// <summary>
    /// "foundation component-id transport priority address port typ type ..." (RFC 8839 §5.1): six leading fields and
    /// <c>typ</c>, checked for shape (the address may be an mDNS name, so it is not read as an IP).
    /// </summary>
    private static bool IsCandidate(string candidate)
    {
        string[] fields = candidate.Split(' ');
        if (fields.Length < 8 || fields.Length > 40) return false;
        if (fields[0].Length is 0 or > 32 || !IsIceChars(fields[0], 1, 32)) return false;
        if (!int.TryParse(fields[1], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int component)
            || component is < 1 or > 256) return false;
        if (fields[2].Length is 0 or > 16) return false;
        if (!uint.TryParse(fields[3], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out _)) return false;
        if (fields[4].Length is 0 or > 255) return false;
        if (!int.TryParse(fields[5], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int port)
            || port > 65535) return false;
        return fields[6] == "typ" && fields[7] is "host" or "srflx" or "prflx" or "relay";
    }
}
