using System.Reflection;
using Microsoft.Extensions.Logging;

namespace TradeStore.Server.Tests;

/// <summary>Log event ids are stable and documented (docs/operations.md): no two messages of an assembly share one.</summary>
public sealed class LogEventIdTests
{
    public static TheoryData<string> Assemblies() =>
    [
        typeof(TradeStore.Server.TradeStoreHost).Assembly.GetName().Name!,
        typeof(TradeStore.Storage.DuckDbDatabase).Assembly.GetName().Name!,
        typeof(TradeStore.Cluster.ClusterOptions).Assembly.GetName().Name!,
        typeof(TradeStore.Redis.RedisConnection).Assembly.GetName().Name!,
        typeof(TradeStore.ClickHouse.ClickHouseClient).Assembly.GetName().Name!,
    ];

    [Theory]
    [MemberData(nameof(Assemblies))]
    public void LoggerMessages_OfOneAssembly_HaveDistinctEventIds(string assemblyName)
    {
        var messages = Assembly.Load(assemblyName).GetTypes()
            .SelectMany(type => type.GetMethods(BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly))
            .Select(method => (Method: method, Attribute: method.GetCustomAttribute<LoggerMessageAttribute>()))
            .Where(m => m.Attribute is not null)
            .ToList();

        Assert.NotEmpty(messages);
        var shared = messages.GroupBy(m => m.Attribute!.EventId).Where(g => g.Count() > 1)
            .Select(g => $"{g.Key}: {string.Join(", ", g.Select(m => m.Method.Name))}").ToList();
        Assert.True(shared.Count == 0, $"event ids used twice in {assemblyName}: {string.Join("; ", shared)}");
    }
}
