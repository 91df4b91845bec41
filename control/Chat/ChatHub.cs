using Broadcast.Control.Channels;
using Broadcast.Control.Playback;
using Broadcast.Control.Playback.Jwt;
using Broadcast.Control.Security;
using Broadcast.Refusals;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Broadcast.Control.Chat;

/// <summary>What a viewer gets on joining: their (signed) viewer id to keep, their author tag, the settings and recent messages.</summary>
public sealed record ChatJoined(string ViewerId, string Author, bool Moderator, ChatSettingsView Settings, IReadOnlyList<ChatMessageView> Messages,
    IReadOnlyList<string> Reactions, IReadOnlyList<ChatQuestionView> Questions, IReadOnlyList<ChatHeldView>? Held, IReadOnlyList<ChatBanView>? Bans,
    IReadOnlyList<string>? BlockedWords);

/// <summary>The result of <see cref="ChatHub.Send"/>: the message id and whether it waits for a moderator.</summary>
public sealed record ChatSent(string Id, bool Held);

/// <summary>
/// The chat hub (<c>/chat/hub</c>), open to anonymous viewers. A connection first calls <see cref="Join"/> for one
/// channel (a private channel needs the same viewing token as its stream, or a signed-in admin); then
/// <see cref="Send"/> and <see cref="React"/>. Admins and moderator accounts (signed in with the dashboard's session) are the moderators:
/// they also get
/// held messages and bans, and may approve, delete, time out, ban and change the settings. Errors come back as hub
/// errors with a sentence for the viewer.
/// </summary>
[AllowAnonymous]
public sealed class ChatHub(ChatService chat, ChatQuestions chatQuestions, ChannelService channels, ReactionAggregator reactions, ChatReaderWatch readers, TimeProvider time,
    ILogger<ChatHub> logger) : Hub
{
    private const string TokenExpiryKey = "chat.token-expiry";
    private const string ChannelKey = "chat.channel";
    private const string ViewerKey = "chat.viewer";
    private const string ReactionBudgetKey = "chat.reactions";
    private const string RefusalsKey = "chat.refusals";

    public async Task<ChatJoined> Join(string slug, string? viewerId, string? token)
    {
        if (Context.Items.ContainsKey(ChannelKey)) throw new HubException("This connection has joined a chat already; " +
            "open another one for another channel.");
        if (!Slugs.IsValid(slug)
            || await channels.GetBySlugSharedAsync(slug).WaitAsync(Context.ConnectionAborted).ConfigureAwait(false) is not { } channel)
        {
            throw new HubException("There is no such channel.");
        }

        var moderator = IsModerator;
        var access = Context.GetHttpContext()?.RequestServices.GetService<PlaybackAccessService>();
        var tokenExpires = default(DateTimeOffset);
        var address = Context.GetHttpContext()?.Connection.RemoteIpAddress;
        PlaybackGrant grant = default;
        if (!moderator && access is not null && access.IsPrivate(channel.Slug)
            && (token is null || access.Verify(channel.Slug, token, address, out grant) != PlaybackTokenResult.Valid))
        {
            // The same answer as an unknown channel: nothing tells a caller that a private channel exists.
            throw new HubException("There is no such channel.");
        }

        tokenExpires = grant.ExpiresAt;
        // A platform JWT that names its viewer (sub) gives the chat identity: the same viewer on every device, banned as one.
        var viewer = grant.ViewerId is { } platformViewer ? chat.IdentifyPlatformViewer(platformViewer, address) : chat.Identify(viewerId, address);
        var settings = await chat.GetSettingsAsync(channel.Id, Context.ConnectionAborted).ConfigureAwait(false);
        Context.Items[ChannelKey] = channel.Id;
        Context.Items[ViewerKey] = viewer;
        Context.Items[ReactionBudgetKey] = new ReactionBudget(chat.Options.ReactionsPerSecond);
        Context.Items[RefusalsKey] = new RefusalWindow();
        if (tokenExpires != default)
        {
            // A private channel's viewer is in its chat for as long as their viewing token is: the connection closes when
            // it expires, and reconnecting needs a valid token, as the stream does.
            var context = Context;
            Context.Items[TokenExpiryKey] = time.CreateTimer(_ => context.Abort(), null, Max(tokenExpires - time.GetUtcNow(), TimeSpan.Zero),
                Timeout.InfiniteTimeSpan);
        }
        await Groups.AddToGroupAsync(Context.ConnectionId, ChatGroups.Viewers(channel.Id), Context.ConnectionAborted).ConfigureAwait(false);
        readers.Add(Context, channel.Slug, tokenExpires != default ? token : null, moderator);
        if (moderator)
        {
            await Groups.AddToGroupAsync(Context.ConnectionId, ChatGroups.Moderators(channel.Id), Context.ConnectionAborted).ConfigureAwait(false);
        }

        // After joining the group: what is posted from here on arrives live. A viewer's history is shared between joins for
        // a second (ChatService.JoinHistoryLifetime); a moderator's, with the held messages, is read for them alone.
        IReadOnlyList<ChatMessageView> visible;
        IReadOnlyList<ChatHeldView> held = [];
        IReadOnlyList<ChatQuestionView> questions;
        if (moderator)
        {
            (visible, held) = await chat.RecentAsync(channel.Id, moderator, Context.ConnectionAborted).ConfigureAwait(false);
            questions = await chatQuestions.ListAsync(channel.Id, moderator, Context.ConnectionAborted).ConfigureAwait(false);
        }
        else
        {
            (visible, questions) = await chat.ViewerHistoryAsync(channel.Id).WaitAsync(Context.ConnectionAborted).ConfigureAwait(false);
        }

        return new ChatJoined(viewer.ViewerId, viewer.Author, moderator, ChatService.View(settings), visible, ReactionAggregator.Emoji, questions,
            moderator ? held : null,
            moderator ? await chat.ListBansAsync(channel.Id, Context.ConnectionAborted).ConfigureAwait(false) : null,
            moderator ? settings.BlockedWords : null);
    }

    public async Task<ChatSent> Send(string? name, string? text)
    {
        var (channelId, viewer) = Joined();
        var m = await ToViewerAsync(() => chat.PostAsync(channelId, viewer, name, text, IsModerator,
            Context.ConnectionAborted)).ConfigureAwait(false);
        return new ChatSent(m.Id, m.State == ChatMessageState.Held);
    }

    /// <summary>Asks a question (Q&amp;A): the same checks as <see cref="Send"/>.</summary>
    public async Task<ChatSent> Ask(string? name, string? text)
    {
        var (channelId, viewer) = Joined();
        var q = await ToViewerAsync(() => chatQuestions.AskAsync(channelId, viewer, name, text, IsModerator, Context.ConnectionAborted)).ConfigureAwait(false);
        return new ChatSent(q.Id, q.State == QuestionState.Held);
    }

    /// <summary>Upvotes a question, once per viewer: false when already voted (or the question is closed).</summary>
    public async Task<bool> Upvote(string questionId)
    {
        var (channelId, viewer) = Joined();
        if (Context.Items[ReactionBudgetKey] is ReactionBudget budget && !budget.TryTake(Environment.TickCount64)) return false;
        return await ToViewerAsync(() => chatQuestions.UpvoteAsync(channelId, questionId ?? "", viewer, Context.ConnectionAborted)).ConfigureAwait(false);
    }

    /// <summary>Moderators: <c>approve</c>, <c>answering</c>, <c>answered</c> or <c>dismiss</c> a question.</summary>
    public async Task<bool> ModerateQuestion(string questionId, string action)
    {
        var channelId = Moderating();
        return await ToViewerAsync(() => chatQuestions.ModerateAsync(channelId, questionId ?? "", QuestionActions.Parse(action), ModeratorName,
            Context.ConnectionAborted))
            .ConfigureAwait(false);
    }

    /// <summary>One reaction; more than <c>Chat:ReactionsPerSecond</c> from one connection are dropped silently.</summary>
    public void React(string? emoji)
    {
        var (channelId, _) = Joined();
        if (Context.Items[ReactionBudgetKey] is ReactionBudget budget && budget.TryTake(Environment.TickCount64) && !reactions.Add(channelId, emoji))
        {
            throw new HubException("That reaction is not offered here.");
        }
    }

    public async Task<bool> Approve(string messageId)
    {
        var channelId = Moderating();
        return await chat.ApproveAsync(channelId, messageId ?? "", ModeratorName, Context.ConnectionAborted).ConfigureAwait(false);
    }

    public async Task<bool> Delete(string messageId)
    {
        var channelId = Moderating();
        return await chat.DeleteAsync(channelId, messageId ?? "", ModeratorName, Context.ConnectionAborted).ConfigureAwait(false);
    }

    /// <summary>Bans (no <paramref name="minutes"/>) or times out the author of a message.</summary>
    public async Task<ChatBanView?> Ban(string messageId, string? reason, int? minutes, bool byAddress)
    {
        var channelId = Moderating();
        var ban = await ToViewerAsync(() => chat.BanAsync(channelId, messageId ?? "", reason, minutes, byAddress, ModeratorName,
            Context.ConnectionAborted))
            .ConfigureAwait(false);
        return ban is null ? null : new ChatBanView(ban.Id, ban.Author, ban.DisplayName, ban.Reason, ban.CreatedBy,
            ban.CreatedAt.ToUnixTimeMilliseconds(),
            ban.ExpiresAt?.ToUnixTimeMilliseconds(), ban.AddressHash is not null);
    }

    public async Task<bool> Unban(string banId)
    {
        var channelId = Moderating();
        return await chat.UnbanAsync(channelId, banId ?? "", ModeratorName, Context.ConnectionAborted).ConfigureAwait(false);
    }

    public async Task<ChatSettingsView> SaveSettings(string? mode, int? slowModeSeconds, string? links, string[]? blockedWords)
    {
        var channelId = Moderating();
        return ChatService.View(await ToViewerAsync(() => chat.SaveSettingsAsync(channelId, mode, slowModeSeconds, links, blockedWords,
            Context.ConnectionAborted))
            .ConfigureAwait(false));
    }

    public override Task OnDisconnectedAsync(Exception? exception)
    {
        if (Context.Items.TryGetValue(TokenExpiryKey, out var timer) && timer is ITimer expiry) expiry.Dispose();
        readers.Remove(Context.ConnectionId);
        return base.OnDisconnectedAsync(exception);
    }

    /// <summary>
    /// Runs a chat operation, turning its refusals (a viewer's message refused, a moderator's field invalid) into hub errors
    /// with the sentence for the person: SignalR sends a <see cref="HubException"/>'s message, nothing else. A refusal is
    /// the chat working, not a fault: it is logged once per connection a minute (<see cref="RefusalWindow"/>), and the
    /// server's log leaves out SignalR's own error line for a <see cref="HubException"/>.
    /// </summary>
    private async Task<T> ToViewerAsync<T>(Func<Task<T>> operation)
    {
        try
        {
            return await operation().ConfigureAwait(false);
        }
        catch (ChatRefusedException e)
        {
            NoteRefusal(e.Message);
            throw new HubException(e.Message);
        }
        catch (Refusal e)
        {
            throw new HubException(Dashboard.FormErrors.Sentence(e));
        }
    }

    private void NoteRefusal(string reason)
    {
        if (Context.Items.TryGetValue(ChannelKey, out var c) && c is string channelId && Context.Items[ViewerKey] is ChatViewer viewer
            && Context.Items[RefusalsKey] is RefusalWindow window && window.Note(Environment.TickCount64) is { } notLogged)
        {
            ChatLog.ConnectionRefused(logger, viewer.Author, channelId, reason, notLogged, RefusalWindow.Seconds);
        }
    }

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;

    private bool IsModerator => Context.User is { } user && (user.IsInRole(ControlAuth.AdminRole) || user.IsInRole(ControlAuth.ModeratorRole));

    private string ModeratorName => Context.User?.Identity?.Name ?? "admin";

    private (string ChannelId, ChatViewer Viewer) Joined()
        => Context.Items.TryGetValue(ChannelKey, out var c) && c is string channelId && Context.Items[ViewerKey] is ChatViewer viewer
            ? (channelId, viewer)
            : throw new HubException("Join a channel's chat first.");

    private string Moderating()
    {
        var (channelId, _) = Joined();
        return IsModerator ? channelId : throw new HubException("Only moderators may do that.");
    }

    /// <summary>
    /// One connection's refusals: the first of each <see cref="Seconds"/>-second window is logged, with how many came
    /// since the last line, so a client hammering a refusal costs the log one line a minute.
    /// </summary>
    private sealed class RefusalWindow
    {
        public const int Seconds = 60;
        private readonly Lock _gate = new();
        private long _loggedAt = long.MinValue;
        private int _notLogged;

        /// <summary>The refusals not logged since the last line when this one is to be logged; null when it is not.</summary>
        public int? Note(long now)
        {
            lock (_gate)
            {
                if (_loggedAt != long.MinValue && now - _loggedAt < Seconds * 1000L)
                {
                    _notLogged++;
                    return null;
                }

                _loggedAt = now;
                var count = _notLogged;
                _notLogged = 0;
                return count;
            }
        }
    }

    private sealed class ReactionBudget(double perSecond)
    {
        private readonly Lock _gate = new();
        private readonly double _capacity = Math.Max(1, perSecond * 2);
        private double _tokens = Math.Max(1, perSecond * 2);
        private long _stamp = Environment.TickCount64;

        public bool TryTake(long now)
        {
            lock (_gate)
            {
                _tokens = Math.Min(_capacity, _tokens + (now - _stamp) / 1000.0 * perSecond);
                _stamp = now;
                if (_tokens < 1) return false;
                _tokens--;
                return true;
            }
        }
    }
}
