using System.Reflection;
using System.Runtime.CompilerServices;
using Broadcast.Media;
using Broadcast.Media.Flv;
using Broadcast.TestSupport;
using Broadcast.WebRtc.Relay;
using Microsoft.Extensions.DependencyInjection;

namespace Broadcast.Server.Tests;

/// <summary>
/// The publish gate is a type the compiler enforces (ARCHITECTURE.md): a hub's start needs a <see cref="PublishTicket"/>,
/// only the media assembly can make one, and the media assembly lets only the gate's project (<c>publish/</c>) and the tests
/// see its internals. So no type outside the gate's project can start a publish, whichever product assembly it is in.
/// </summary>
public sealed class PublishGateBoundaryTests
{
    private const BindingFlags Everything = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static;

    [Fact]
    public void A_ticket_has_no_constructor_or_factory_outside_its_assembly()
    {
        var open = typeof(PublishTicket).GetConstructors(Everything).Where(c => c.IsPublic || c.IsFamily || c.IsFamilyOrAssembly).ToList();
        Assert.Empty(open);
        Assert.True(typeof(PublishTicket).IsSealed);
        var factories = ProductAssemblies().Where(a => a.GetName().Name != "Broadcast.Publish")
            .SelectMany(a => a.GetExportedTypes())
            .SelectMany(t => t.GetMethods(BindingFlags.Public | BindingFlags.Static | BindingFlags.DeclaredOnly))
            .Where(m => m.ReturnType == typeof(PublishTicket) || m.ReturnType == typeof(Task<PublishTicket>))
            .Select(m => $"{m.DeclaringType}.{m.Name}")
            .ToList();
        Assert.True(factories.Count == 0, "tickets made outside the gate's project: " + string.Join(", ", factories));
    }

    [Fact]
    public void Every_way_to_start_a_hub_takes_a_ticket()
    {
        var starts = typeof(LiveStreamRegistry).GetMethods(BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly)
            .Where(m => m.GetParameters().Any(p => p.IsOut && p.ParameterType.GetElementType() == typeof(LiveStream)))
            .ToList();
        Assert.NotEmpty(starts);
        Assert.All(starts, m => Assert.Equal(typeof(PublishTicket), m.GetParameters()[0].ParameterType));
        Assert.All(typeof(FlvPublish).GetConstructors(), c => Assert.Contains(c.GetParameters(), p => p.ParameterType == typeof(PublishTicket)));
    }

    [Fact]
    public void Only_the_gates_project_and_tests_see_the_media_assemblys_internals()
    {
        var friends = typeof(LiveStreamRegistry).Assembly.GetCustomAttributes<InternalsVisibleToAttribute>()
            .Select(a => a.AssemblyName).ToList();
        Assert.Contains("Broadcast.Publish", friends);
        var others = friends.Where(f => f != "Broadcast.Publish" && !f.EndsWith(".Tests", StringComparison.Ordinal) && f != "Broadcast.TestSupport").ToList();
        Assert.True(others.Count == 0, "the media assembly lets other product assemblies make tickets: " + string.Join(", ", others));
    }

    [Fact]
    public async Task An_origin_only_node_relays_real_time_channels_with_the_gates_tickets()
    {
        using var data = new TempDirectory("gate-relay");
        await using var app = BroadcastApp.Build(["--Roles=origin", "--Http:Urls=http://127.0.0.1:0", "--Playback:PublicOnly=true",
            $"--Storage:Path={data.Path}", "--Whep:RelayFrom:0=http://127.0.0.1:9/", "--Playback:NodeToken=" + new string('n', 32)]);

        var admission = app.Services.GetRequiredService<IRelayAdmission>();
        Assert.Equal("Broadcast.Publish", admission.GetType().Assembly.GetName().Name);
        Assert.Equal("news", admission.Admit("news").Name);
        await using var relay = app.Services.GetRequiredService<ChannelRelays>().Create("news");
    }

    /// <summary>Every product assembly the server is made of (the server's references, followed), tests left out.</summary>
    private static List<Assembly> ProductAssemblies()
    {
        var found = new Dictionary<string, Assembly>(StringComparer.Ordinal);
        var queue = new Queue<Assembly>([typeof(Program).Assembly]);
        while (queue.TryDequeue(out var assembly))
        {
            if (!found.TryAdd(assembly.GetName().Name!, assembly)) continue;
            foreach (var name in assembly.GetReferencedAssemblies().Where(n => n.Name!.StartsWith("Broadcast.", StringComparison.Ordinal)))
                queue.Enqueue(Assembly.Load(name));
        }
        Assert.Contains("Broadcast.Publish", found.Keys);
        Assert.Contains("Broadcast.Ingest", found.Keys);
        return [.. found.Values];
    }
}
