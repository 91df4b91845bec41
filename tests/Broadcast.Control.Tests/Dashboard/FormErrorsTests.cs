using Broadcast.Control.Clips;
using Broadcast.Control.Dashboard;
using Broadcast.Refusals;
using Microsoft.AspNetCore.Mvc.ModelBinding;

namespace Broadcast.Control.Tests.Dashboard;

/// <summary>
/// <see cref="FormErrors"/>: every kind of refusal a page catches shows in its form, an invalid field's messages beside
/// the field and anything about the record as a whole in the summary, and as one sentence for a redirecting page.
/// </summary>
public sealed class FormErrorsTests
{
    public static TheoryData<string, Refusal, string, string> Refusals => new()
    {
        { "invalid fields", new ValidationFailedException(new Dictionary<string, string[]> { ["name"] = ["Name is required."], ["days"] = ["At most 1095."] }),
            "Input.Days=At most 1095.|Input.Name=Name is required.", "Name is required. At most 1095." },
        { "a field's state", ValidationFailedException.For("state", "The event has ended."), "=The event has ended.", "The event has ended." },
        { "a conflict", new ConflictException("A key with this name exists."), "=A key with this name exists.", "A key with this name exists." },
        { "a clip range, invalid", new ClipRangeException("to", "The range is reversed.", conflict: false), "Input.To=The range is reversed.", "The range is reversed." },
        { "a clip range, in conflict", new ClipRangeException("from", "Nothing of it is stored.", conflict: true), "Input.From=Nothing of it is stored.", "Nothing of it is stored." },
        { "not found", new Refusal(RefusalKind.NotFound, "No such channel."), "=No such channel.", "No such channel." },
    };

    [Theory]
    [MemberData(nameof(Refusals))]
    public void A_refusal_shows_in_the_form_and_as_a_sentence(string kind, Refusal refusal, string expected, string sentence)
    {
        var state = new ModelStateDictionary();
        FormErrors.Add(state, refusal, "Input");

        // By key, in ordinal order (the expectations are written so).
        string shown = string.Join("|", state.OrderBy(e => e.Key, StringComparer.Ordinal).SelectMany(e => e.Value!.Errors.Select(m => $"{e.Key}={m.ErrorMessage}")));
        Assert.True(expected == shown, $"{kind}: {shown}");
        Assert.Equal(sentence, FormErrors.Sentence(refusal));
    }
}
