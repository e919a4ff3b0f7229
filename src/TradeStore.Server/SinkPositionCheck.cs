using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using TradeStore.ClickHouse;
using TradeStore.ClickHouse.Rows;
using TradeStore.Core.Options;
using TradeStore.Redis;
using TradeStore.Storage;
using TradeStore.Storage.Integrity;
using TradeStore.Storage.Journal;

namespace TradeStore.Server;

/// <summary>
/// Before the write engine starts, compares the journal's end with what each enabled derived store holds (Redis's
/// checkpoint, ClickHouse's <c>max(seq)</c>) and refuses to start with <see cref="JournalBehindSinksException"/> (exit 5,
/// with the recover command) when a store is ahead: the journal lost acknowledged events, and a new write would reuse
/// their seq. A store that does not answer within <see cref="Patience"/> is not waited for: start-up goes on, and the
/// projector or the sync refuses writes when it finds the store ahead later (<see cref="StorageWriteHealth.RefuseWrites"/>).
/// </summary>
internal sealed class SinkPositionCheck(DuckDbDatabase database, IServiceProvider services, ILogger<SinkPositionCheck> logger) : IHostedService
{
    /// <summary>How long start-up waits for each store's answer.</summary>
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(5);

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var journalLast = new JournalReader(database).LastSeq();
        var ahead = new List<SinkPosition>();
        if (services.GetService<RedisConnection>() is { } redis)
        {
            var keys = new RedisKeys(services.GetRequiredService<IOptions<RedisOptions>>().Value.KeyPrefix);
            await CheckAsync("redis", async token =>
            {
                var value = await (await redis.GetDatabaseAsync().WaitAsync(token)).StringGetAsync(keys.Checkpoint).WaitAsync(token);
                return value.IsNull ? 0 : long.Parse((string)value!, CultureInfo.InvariantCulture);
            }, journalLast, ahead, cancellationToken);
        }

        if (services.GetService<ClickHouseClient>() is { } clickHouse)
        {
            await CheckAsync("clickhouse", async token =>
            {
                var rows = await clickHouse.QueryRowsAsync("SELECT max(seq) AS max_seq FROM trade_events", token, clickHouse.Database);
                return rows.Count == 0 ? 0 : ClickHouseJson.Int64(rows[0], "max_seq");
            }, journalLast, ahead, cancellationToken);
        }

        if (ahead.Count > 0)
        {
            throw new JournalBehindSinksException(journalLast, [.. ahead.OrderByDescending(a => a.LastSeq)]);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private async Task CheckAsync(string sink, Func<CancellationToken, Task<long>> read, long journalLast, List<SinkPosition> ahead, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(Patience);
        try
        {
            var position = await read(timeout.Token);
            if (position > journalLast)
            {
                ahead.Add(new SinkPosition(sink, position));
            }
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            // A fresh ClickHouse without the table, or a store that is down: nothing it holds can be compared now.
            Log.SinkPositionUnchecked(logger, sink, journalLast, ex.Message);
        }
    }
}
