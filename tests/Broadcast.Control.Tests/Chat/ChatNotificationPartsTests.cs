using System.Text;
using Broadcast.Control.Chat;
using Broadcast.TestSupport;

namespace Broadcast.Control.Tests.Chat;

/// <summary>Chat events too large for one PostgreSQL notification travel in parts and are put together again; bad parts are refused with a reason.</summary>
public sealed class ChatNotificationPartsTests
{
    private readonly ManualClock _clock = new(new DateTimeOffset(2026, 11, 26, 7, 40, 0, TimeSpan.Zero));

    /// <summary>(name, the refusal says, the part).</summary>
    public static TheoryData<string, string, string> Malformed => new()
    {
        { "not JSON", "malformed part", "{\"node\":" },
        { "no node", "out of bounds", "{\"part\":\"p\",\"index\":0,\"count\":1,\"data\":\"\"}" },
        { "index past count", "out of bounds", "{\"node\":\"n\",\"part\":\"p\",\"index\":2,\"count\":2,\"data\":\"\"}" },
        { "negative index", "out of bounds", "{\"node\":\"n\",\"part\":\"p\",\"index\":-1,\"count\":2,\"data\":\"\"}" },
        { "too many parts", "out of bounds", "{\"node\":\"n\",\"part\":\"p\",\"index\":0,\"count\":17,\"data\":\"\"}" },
        { "data not base64", "not base64", "{\"node\":\"n\",\"part\":\"p\",\"index\":0,\"count\":2,\"data\":\"***\"}" },
        { "data larger than a part", "larger than a part", "{\"node\":\"n\",\"part\":\"p\",\"index\":0,\"count\":2,\"data\":\"" + Convert.ToBase64String(new byte[5001]) + "\"}" },
    };

    [Fact]
    public void A_large_event_outside_ascii_goes_in_parts_under_the_notification_limit_and_comes_back_whole()
    {
        // A 4000-character message in CJK and emoji, as JSON: about 14 KB of UTF-8.
        string json = "{\"text\":\"" + string.Concat(Enumerable.Repeat("漢字かな😀", 800)) + "\",\"pad\":\"" + new string('+', 3000) + "\"}";
        var parts = ChatNotificationParts.Split(json, "node1", "event1")!;
        Assert.True(parts.Count > 1);
        Assert.All(parts, p => Assert.True(Encoding.UTF8.GetByteCount(p) < 8000, $"{Encoding.UTF8.GetByteCount(p)} bytes"));

        var assembly = new ChatNotificationParts.Assembly(_clock);
        for (int i = 0; i < parts.Count - 1; i++)
        {
            Assert.Null(assembly.Add(parts[i], out string? pending));
            Assert.Null(pending);
        }
        Assert.Equal(json, assembly.Add(parts[^1], out string? error));
        Assert.Null(error);
        Assert.Equal(0, assembly.Count);
    }

    [Fact]
    public void An_event_past_the_parts_bound_is_not_split()
    {
        Assert.Null(ChatNotificationParts.Split(new string('a', ChatNotificationParts.PartBytes * ChatNotificationParts.MaxParts + 1), "n", "e"));
        Assert.Equal(ChatNotificationParts.MaxParts, ChatNotificationParts.Split(new string('a', ChatNotificationParts.PartBytes * ChatNotificationParts.MaxParts), "n", "e")!.Count);
    }

    [Theory]
    [MemberData(nameof(Malformed))]
    public void A_malformed_part_is_refused_with_its_reason(string name, string reason, string part)
    {
        var assembly = new ChatNotificationParts.Assembly(_clock);
        Assert.Null(assembly.Add(part, out string? error));
        Assert.True(error is not null && error.Contains(reason, StringComparison.Ordinal), $"{name}: {error}");
    }

    [Fact]
    public void A_part_sent_twice_or_with_another_count_drops_its_event_and_unfinished_events_expire_within_bounds()
    {
        var assembly = new ChatNotificationParts.Assembly(_clock);
        var parts = ChatNotificationParts.Split(new string('x', 12_000), "n", "e")!;
        Assert.Null(assembly.Add(parts[0], out _));
        Assert.Null(assembly.Add(parts[0], out string? twice));
        Assert.Contains("does not fit", twice, StringComparison.Ordinal);
        Assert.Equal(0, assembly.Count);

        // A sending node that died mid-event leaves nothing behind for long, and no more than the bound at once.
        for (int i = 0; i < ChatNotificationParts.Assembly.MaxPending; i++) Assert.Null(assembly.Add(ChatNotificationParts.Split(new string('y', 6000), "n", $"e{i}")![0], out _));
        Assert.Null(assembly.Add(ChatNotificationParts.Split(new string('y', 6000), "n", "one-too-many")![0], out string? full));
        Assert.Contains("at once", full, StringComparison.Ordinal);
        _clock.Advance(ChatNotificationParts.Assembly.Lifetime + TimeSpan.FromSeconds(1));
        Assert.Null(assembly.Add(ChatNotificationParts.Split(new string('y', 6000), "n", "later")![0], out string? later));
        Assert.Null(later);
        Assert.Equal(1, assembly.Count);
    }
}
