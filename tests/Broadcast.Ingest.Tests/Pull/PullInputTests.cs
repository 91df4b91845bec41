using Broadcast.Ingest.Pull;

namespace Broadcast.Ingest.Tests.Pull;

public sealed class PullInputTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("pull-root").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    // (url, kind, what logs and the API show)
    public static TheoryData<string, PullSourceKind, string> Accepted => new()
    {
        { "rtmp://cdn.example.com/live/SECRETKEY", PullSourceKind.Rtmp, "rtmp://cdn.example.com/live/…" },
        { "rtmps://live-api-s.facebook.com:443/rtmp/FB-KEY?s_bl=1", PullSourceKind.Rtmp, "rtmps://live-api-s.facebook.com:443/rtmp/…" },
        { "rtmp://127.0.0.1:1935/app", PullSourceKind.Rtmp, "rtmp://127.0.0.1:1935/…" },
        { "srt://10.0.0.5:9000?streamid=guest&passphrase=xyz", PullSourceKind.Srt, "srt://10.0.0.5:9000/" },
        { "https://cdn.example.com/hls/show/index.m3u8?token=abc", PullSourceKind.Http, "https://cdn.example.com/hls/…" },
        { "http://127.0.0.1:8000/index.m3u8", PullSourceKind.Http, "http://127.0.0.1:8000/index.m3u8" },
        { "HTTP://user:pass@example.com/a/b.m3u8", PullSourceKind.Http, "http://example.com/a/…" },
        { "file:intro.mp4", PullSourceKind.File, "file:intro.mp4" },
        { "file:clips/premiere.mov", PullSourceKind.File, "file:clips/premiere.mov" },
        { "  rtmp://host/live/key  ", PullSourceKind.Rtmp, "rtmp://host/live/…" },
    };

    // (url, words the error must contain)
    public static TheoryData<string?, string> Refused => new()
    {
        { null, "empty" },
        { "", "empty" },
        { "   ", "empty" },
        { "ftp://example.com/a.mp4", "'ftp' is not supported" },
        { "rtsp://camera/stream", "'rtsp' is not supported" },
        { "javascript:alert(1)", "'javascript' is not supported" },
        { "example.com/live/key", "no scheme" },
        { "rtmp:/live/key", "rtmp://HOST" },
        { "rtmp:///live/key", "rtmp://HOST" },
        { "srt://host", "needs a port" },
        { "http://exa mple.com/a.m3u8", "spaces" },
        { "rtmp://host/live/key\nX", "control characters" },
        { "file:", "needs a path" },
        { "file:/etc/passwd", "relative to the media library" },
        { "file:../outside.mp4", "'..'" },
        { "file:clips/../../outside.mp4", "'..'" },
        { "file:./a.mp4", "'.'" },
        { "file:clips\\a.mp4", "relative to the media library" },
        { "file://etc/passwd", "relative to the media library" },
        { "rtmp://host/" + new string('a', PullInput.MaxUrlLength), "longer than" },
    };

    [Theory]
    [MemberData(nameof(Accepted))]
    public void Accepts_supported_sources_and_redacts_them(string url, PullSourceKind kind, string display)
    {
        Assert.True(PullInput.TryResolve(url, _root, out var input, out var error), error);
        Assert.Equal(kind, input.Kind);
        Assert.Equal(display, input.Display);
        Assert.Equal(kind is PullSourceKind.File or PullSourceKind.Http, input.ReadAtNativeRate);
    }

    [Theory]
    [MemberData(nameof(Refused))]
    public void Refuses_what_cannot_be_a_source_with_a_reason(string? url, string reason)
    {
        Assert.False(PullInput.TryResolve(url, _root, out _, out var error));
        Assert.Contains(reason, error, StringComparison.Ordinal);
    }

    [Fact]
    public void A_file_resolves_under_the_media_root()
    {
        Assert.True(PullInput.TryResolve("file:clips/a.mp4", _root, out var input, out _));
        Assert.Equal("file:" + Path.Combine(_root, "clips", "a.mp4"), input.FfmpegInput);
    }

    [Fact]
    public void A_symbolic_link_out_of_the_media_root_is_refused()
    {
        var outside = Path.Combine(Path.GetTempPath(), $"pull-outside-{Guid.NewGuid():N}.mp4");
        File.WriteAllText(outside, "x");
        try
        {
            File.CreateSymbolicLink(Path.Combine(_root, "escape.mp4"), outside);
            Assert.False(PullInput.TryResolve("file:escape.mp4", _root, out _, out var error));
            Assert.Contains("outside the media library", error, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(outside);
        }
    }

    [Fact]
    public void A_symbolic_link_to_a_directory_out_of_the_media_root_is_refused()
    {
        // The file itself is no link: only the directory on its way is, which a check of the last component misses.
        var outside = Directory.CreateTempSubdirectory("pull-outside").FullName;
        try
        {
            File.WriteAllText(Path.Combine(outside, "secret.mp4"), "x");
            Directory.CreateSymbolicLink(Path.Combine(_root, "dirlink"), outside);
            Assert.False(PullInput.TryResolve("file:dirlink/secret.mp4", _root, out _, out var error));
            Assert.Contains("outside the media library", error, StringComparison.Ordinal);
            // Even a file that is not there yet: the directory already leads out.
            Assert.False(PullInput.TryResolve("file:dirlink/later.mp4", _root, out _, out _));
        }
        finally
        {
            Directory.Delete(outside, recursive: true);
        }
    }

    [Fact]
    public void A_relative_link_climbing_out_of_the_media_root_is_refused()
    {
        Directory.CreateDirectory(Path.Combine(_root, "clips"));
        Directory.CreateSymbolicLink(Path.Combine(_root, "clips", "up"), "../..");
        Assert.False(PullInput.TryResolve("file:clips/up/etc/passwd", _root, out _, out var error));
        Assert.Contains("outside the media library", error, StringComparison.Ordinal);
    }

    [Fact]
    public void A_loop_of_links_is_refused()
    {
        File.CreateSymbolicLink(Path.Combine(_root, "a"), Path.Combine(_root, "b"));
        File.CreateSymbolicLink(Path.Combine(_root, "b"), Path.Combine(_root, "a"));
        Assert.False(PullInput.TryResolve("file:a/film.mp4", _root, out _, out var error));
        Assert.Contains("too many symbolic links", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Files_and_links_that_stay_in_the_media_root_are_accepted_by_their_real_path()
    {
        Directory.CreateDirectory(Path.Combine(_root, "clips"));
        string film = Path.Combine(_root, "clips", "film.mp4");
        File.WriteAllText(film, "x");
        Directory.CreateSymbolicLink(Path.Combine(_root, "shortcut"), "clips");

        Assert.True(PullInput.TryResolve("file:clips/film.mp4", _root, out var direct, out var error), error);
        Assert.Equal("file:" + film, direct.FfmpegInput);
        Assert.True(PullInput.TryResolve("file:shortcut/film.mp4", _root, out var linked, out error), error);
        Assert.Equal("file:" + film, linked.FfmpegInput);
        Assert.Equal("file:shortcut/film.mp4", linked.Display);
    }

    [Fact]
    public void A_media_root_that_is_itself_a_link_still_holds_its_files()
    {
        string alias = _root + "-alias";
        Directory.CreateSymbolicLink(alias, _root);
        try
        {
            File.WriteAllText(Path.Combine(_root, "film.mp4"), "x");
            Assert.True(PullInput.TryResolve("file:film.mp4", alias, out var input, out var error), error);
            Assert.Equal("file:" + Path.Combine(_root, "film.mp4"), input.FfmpegInput);
        }
        finally
        {
            Directory.Delete(alias);
        }
    }
}
