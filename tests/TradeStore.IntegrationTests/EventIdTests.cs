using System.Reflection;
using Microsoft.Extensions.Logging;

namespace TradeStore.IntegrationTests;

/// <summary>
/// Operators search logs, alerts and docs/operations.md by event id, so each id means one thing across the whole
/// service, not only within an assembly (the per-assembly check this replaces let two audits of one session each add
/// an event 1212 to the server: the open-file warning and the refused-key repeats).
/// </summary>
public sealed class EventIdTests
{
    private static readonly string[] Assemblies =
        ["TradeStore.Core", "TradeStore.Storage", "TradeStore.Redis", "TradeStore.ClickHouse", "TradeStore.Cluster", "TradeStore.Server", "TradeStore.Guard"];

    [Fact]
    public void EveryLoggedEventId_IsUsedByOneMessageOnly()
    {
        var messages = Assemblies
            .Select(Assembly.Load)
            .SelectMany(a => a.GetTypes())
            .SelectMany(t => t.GetMethods(BindingFlags.Static | BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly))
            .Select(m => (Method: $"{m.DeclaringType!.FullName}.{m.Name}", Attribute: m.GetCustomAttribute<LoggerMessageAttribute>()))
            .Where(m => m.Attribute is not null)
            .ToList();

        var shared = messages.GroupBy(m => m.Attribute!.EventId).Where(g => g.Count() > 1)
            .Select(g => $"{g.Key}: {string.Join(", ", g.Select(m => m.Method))}").ToList();

        Assert.True(messages.Count > 100, $"found only {messages.Count} logging methods");
        Assert.Empty(shared);
    }
}
