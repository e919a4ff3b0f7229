using TradeStore.ClickHouse.Migrations;
using TradeStore.ClickHouse.Rows;
using TradeStore.Core.Options;
using TradeStore.TestSupport;

namespace TradeStore.ClickHouse.Tests.Support;

/// <summary>A ClickHouse database of its own for one test, on a real server; dropped on dispose.</summary>
internal sealed class ClickHouseTestDatabase : IAsyncDisposable
{
    private ClickHouseTestDatabase(string url, string name)
    {
        Url = url;
        Name = name;
        Client = ClickHouseClient.Create(new ClickHouseOptions { Url = url, Database = name });
    }

    public string Url { get; }

    public string Name { get; }

    /// <summary>A client straight to the server (never through a test proxy), for set-up and assertions.</summary>
    public ClickHouseClient Client { get; }

    /// <summary>A fresh database named after <paramref name="prefix"/>; with <paramref name="migrate"/> the TradeStore tables exist and merges of <c>trade_events</c> are stopped, so duplicates stay visible.</summary>
    public static async Task<ClickHouseTestDatabase> CreateAsync(string prefix, bool migrate = true, string? url = null)
    {
        var database = new ClickHouseTestDatabase(url ?? TestServers.ClickHouse, $"ts_{prefix}_{Guid.NewGuid():N}");
        if (migrate)
        {
            await ClickHouseSchema.MigrateToLatestAsync(database.Client, database.Name, TestContext.Current.CancellationToken);
            await database.StopMergesAsync();
        }

        return database;
    }

    /// <summary>
    /// By design merges are stopped: ReplacingMergeTree would silently collapse duplicate rows in the background,
    /// and the tests must see every row that was inserted to prove none was inserted twice.
    /// </summary>
    public Task StopMergesAsync() => Client.ExecuteAsync($"SYSTEM STOP MERGES {Name}.trade_events", TestContext.Current.CancellationToken);

    public async Task<(long Rows, long Distinct, long MaxSeq)> CountEventsAsync()
    {
        var row = (await Client.QueryRowsAsync("SELECT count() AS rows, uniqExact(seq) AS distinct_seq, max(seq) AS max_seq FROM trade_events", TestContext.Current.CancellationToken, Name))[0];
        return (ClickHouseJson.Int64(row, "rows"), ClickHouseJson.Int64(row, "distinct_seq"), ClickHouseJson.Int64(row, "max_seq"));
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await Client.ExecuteAsync($"DROP DATABASE IF EXISTS {Name}", CancellationToken.None);
        }
        catch (Exception ex) when (ex is ClickHouseException or HttpRequestException or TimeoutException)
        {
            // The server of a destructive test may be gone already; its data directory is deleted anyway.
        }
    }
}
