using System.Reflection;

namespace Broadcast.EndToEnd.Tests.Harness;

/// <summary>The parallel phase's schedule (CollectionSchedule.cs) names collections that exist.</summary>
public sealed class CollectionScheduleTests
{
    [Fact]
    public void Every_name_in_the_longest_first_list_is_a_collection_of_this_assembly()
    {
        var types = typeof(CollectionScheduleTests).Assembly.GetTypes();
        var defined = types.SelectMany(t => t.GetCustomAttributesData())
            .Where(a => a.AttributeType == typeof(CollectionDefinitionAttribute))
            .Select(a => (string)a.ConstructorArguments[0].Value!).ToHashSet(StringComparer.Ordinal);
        // A class without [Collection] is a collection of its own, named after the class.
        var classOwn = types.Where(t => t.GetCustomAttribute<CollectionAttribute>() is null
                && t.GetMethods().Any(m => m.GetCustomAttribute<FactAttribute>(inherit: true) is not null))
            .Select(t => t.Name);
        defined.UnionWith(classOwn);

        var unknown = LongestFirstCollectionOrderer.Longest.Where(n => !defined.Contains(n)).ToList();
        Assert.True(unknown.Count == 0, $"not a collection (renamed or moved into one?): {string.Join(", ", unknown)}");
        Assert.Equal(LongestFirstCollectionOrderer.Longest.Count, LongestFirstCollectionOrderer.Longest.Distinct().Count());
    }

    [Theory]
    [InlineData("server", "server")]
    [InlineData("Test collection for Broadcast.EndToEnd.Tests.Chat.ChatBrowserTests", "ChatBrowserTests")]
    [InlineData("Test collection for Broadcast.EndToEnd.Tests.Chat.ChatBrowserTests (id: 0c1f)", "ChatBrowserTests")]
    public void A_collection_is_named_by_its_definition_or_its_class(string displayName, string name) =>
        Assert.Equal(name, LongestFirstCollectionOrderer.NameOf(displayName));
}
