using System.Globalization;
using Microsoft.Extensions.Options;
using TradeStore.ClickHouse;
using TradeStore.ClickHouse.Rows;
using TradeStore.Redis;
using TradeStore.Server.Configuration;
using TradeStore.Storage;
using TradeStore.Storage.Integrity;
using TradeStore.Storage.Journal;

namespace TradeStore.Server;

/// <summary>A derived store whose position could not be compared with the journal at start-up, and why.</summary>
internal sealed record UncheckedSink(string Sink, long JournalLastSeq, string Reason);

/// <summary>What the start-up comparison leaves for the log.</summary>
/// <param name="Unchecked">The stores that could not be asked.</param>
/// <param name="BehindInCluster">In a cluster, the stores ahead of this node's journal (it catches up from the leader); else <see langword="null"/>.</param>
internal sealed record SinkCheck(IReadOnlyList<UncheckedSink> Unchecked, JournalBehindSinksException? BehindInCluster);

/// <summary>
/// At start-up, before the write engine exists, compares the journal's end with what each enabled derived store holds
/// (Redis's checkpoint, ClickHouse's <c>max(seq)</c>) and refuses to start with <see cref="JournalBehindSinksException"/>
/// (exit 5, with the recover command) when a store is ahead: the journal lost acknowledged events, and a new write
/// would reuse their seq. A store that does not answer within <see cref="Patience"/> is not waited for: start-up goes on,
/// and the projector or the sync refuses writes if it finds the store ahead later (<see cref="StorageWriteHealth.RefuseWrites"/>).
/// <para>
/// Not in a cluster (issue #14): there the stores are fed by the leader, so a node that was down while the others took
/// writes starts with its log behind them, as every follower that returns does, and catches up from the leader. The
/// stores ahead are then only reported (<see cref="SinkCheck.BehindInCluster"/>); this node feeds them only once it
/// leads, and its projector and sync make the same comparison then and refuse writes if it still holds less. Before, such
/// a node refused to start (exit 5) and named <c>recover --from redis</c>, which would have filled its log from the store
/// instead of from the leader.
/// </para>
/// </summary>
internal static class SinkPositionCheck
{
    /// <summary>How long start-up waits for the stores' answers (asked at the same time).</summary>
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(5);

    /// <summary>Returns the stores that could not be asked, and in a cluster those ahead of this node's journal, for the log.</summary>
    /// <exception cref="JournalBehindSinksException">Standalone: a store holds events the journal lacks.</exception>
    public static SinkCheck Verify(DuckDbDatabase database, TradeStoreSettings settings) =>
        Task.Run(() => VerifyAsync(database, settings)).GetAwaiter().GetResult();

    private static async Task<SinkCheck> VerifyAsync(DuckDbDatabase database, TradeStoreSettings settings)
    {
        var journalLast = new JournalReader(database).LastSeq();
        using var timeout = new CancellationTokenSource(Patience);
        var checks = new List<Task<(string Sink, long? Seq, string? Reason)>>();
        if (settings.Redis.Enabled)
        {
            checks.Add(AskAsync("redis", token => RedisCheckpointAsync(settings, token), timeout.Token));
        }

        if (settings.ClickHouse.Enabled)
        {
            checks.Add(AskAsync("clickhouse", token => ClickHouseMaxSeqAsync(settings, token), timeout.Token));
        }

        var answers = await Task.WhenAll(checks);
        var ahead = answers.Where(a => a.Seq > journalLast).Select(a => new SinkPosition(a.Sink, a.Seq!.Value)).OrderByDescending(a => a.LastSeq).ToList();
        if (ahead.Count > 0 && !settings.Cluster.Enabled)
        {
            throw new JournalBehindSinksException(journalLast, ahead);
        }

        return new SinkCheck([.. answers.Where(a => a.Reason is not null).Select(a => new UncheckedSink(a.Sink, journalLast, a.Reason!))],
            ahead.Count > 0 ? new JournalBehindSinksException(journalLast, ahead) : null);
    }

    private static async Task<(string Sink, long? Seq, string? Reason)> AskAsync(string sink, Func<CancellationToken, Task<long>> read, CancellationToken token)
    {
        try
        {
            return (sink, await read(token).WaitAsync(token), null);
        }
        catch (Exception ex)
        {
            // A store that is down or refuses the question: nothing it holds can be compared now.
            return (sink, null, ex is OperationCanceledException ? $"no answer within {Patience.TotalSeconds:0} s" : ex.Message);
        }
    }

    private static async Task<long> RedisCheckpointAsync(TradeStoreSettings settings, CancellationToken token)
    {
        await using var connection = new RedisConnection(Options.Create(settings.Redis));
        var value = await (await connection.GetReachableDatabaseAsync(settings.Redis.HealthTimeout, token)).StringGetAsync(new RedisKeys(settings.Redis.KeyPrefix).Checkpoint).WaitAsync(token);
        return value.IsNull ? 0 : long.Parse((string)value!, CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// ClickHouse's <c>max(seq)</c>; 0 when the database or table does not exist yet (a first start: the sync creates
    /// them): a store that holds no table holds no event, which compares like any other answer instead of being
    /// reported as one that could not be asked (event 1004, a warning on every fresh deployment).
    /// </summary>
    private static async Task<long> ClickHouseMaxSeqAsync(TradeStoreSettings settings, CancellationToken token)
    {
        var client = ClickHouseClient.Create(settings.ClickHouse);
        try
        {
            var rows = await client.QueryRowsAsync("SELECT max(seq) AS max_seq FROM trade_events", token, client.Database);
            return rows.Count == 0 ? 0 : ClickHouseJson.Int64(rows[0], "max_seq");
        }
        catch (ClickHouseException ex) when (ex.IsMissingTable)
        {
            return 0;
        }
    }
}
