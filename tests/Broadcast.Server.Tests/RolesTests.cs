namespace Broadcast.Server.Tests;

public class RolesTests
{
    public static TheoryData<string?, bool, bool, bool> Cases => new()
    {
        { null, true, true, true },
        { "all", true, true, true },
        { "ingest", true, false, false },
        { "origin", false, true, false },
        { "Ingest, Control", true, false, true },
        { "origin,origin", false, true, false },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Parse(string? value, bool ingest, bool origin, bool control) =>
        Assert.Equal(new ServerRoles(ingest, origin, control), ServerRoles.Parse(value));

    [Fact]
    public void An_unknown_role_names_the_key_and_the_choices()
    {
        var error = Assert.Throws<InvalidOperationException>(() => ServerRoles.Parse("ingest,edge"));
        Assert.Contains("Roles", error.Message);
        Assert.Contains("'edge'", error.Message);
        Assert.Contains("'ingest', 'origin', 'control'", error.Message);
    }

    [Fact]
    public void Round_trips_through_its_text() =>
        Assert.Equal("ingest,control", ServerRoles.Parse("control,ingest").ToString());
}
