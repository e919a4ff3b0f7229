using DuckDB.NET.Data;
using TradeStore.Core.Trades;
using TradeStore.Storage.Journal;
using TradeStore.Storage;
using TradeStore.Storage.Migrations;

namespace TradeStore.Redis.Tests;

/// <summary>
/// A test-only stand-in for the WriteEngine: decides commands with the real <see cref="TradeLifecycle"/>, appends
/// the events and states to a real DuckDB file in one transaction per batch, then tells the observers, as the
/// engine does. Refused commands are skipped.
/// </summary>
public sealed class TestJournal : IDisposable
{
    private readonly Dictionary<string, Trade> _states = new(StringComparer.Ordinal);
    private long _seq;

    public TestJournal(string path)
    {
        Database = DuckDbDatabase.Open(path);
        DuckDbSchema.MigrateToLatest(Database);
        _seq = new Storage.Journal.JournalReader(Database).LastSeq();
        foreach (var e in new Storage.Journal.JournalReader(Database).ReadAfter(0, int.MaxValue))
        {
            _states[e.TradeId] = e.State;
        }
    }

    public DuckDbDatabase Database { get; }

    public List<ICommitObserver> Observers { get; } = [];

    public IReadOnlyDictionary<string, Trade> States => _states;

    public long LastSeq => _seq;

    /// <summary>Decides and commits the commands as one batch; returns the committed events.</summary>
    public IReadOnlyList<TradeEvent> Commit(params TradeCommand[] commands)
    {
        var events = new List<TradeEvent>();
        var pending = new Dictionary<string, Trade>(StringComparer.Ordinal);
        foreach (var command in commands)
        {
            var current = pending.GetValueOrDefault(command.TradeId) ?? _states.GetValueOrDefault(command.TradeId);
            var now = DateTimeOffset.UtcNow;
            if (!TradeLifecycle.TryDecide(command, current, _seq + events.Count + 1, now, out var transition, out _))
            {
                continue;
            }

            pending[command.TradeId] = transition.State;
            events.Add(new TradeEvent(_seq + events.Count + 1, transition.Type, transition.State, transition.LastQuantity, transition.LastPrice,
                Timestamps.Normalize(now), command.IdempotencyKey));
        }

        if (events.Count == 0)
        {
            return events;
        }

        Append(events, pending.Values);
        _seq += events.Count;
        foreach (var (id, state) in pending)
        {
            _states[id] = state;
        }

        foreach (var observer in Observers)
        {
            observer.OnCommitted(events);
        }

        return events;
    }

    public void Dispose() => Database.Dispose();

    private void Append(List<TradeEvent> events, IEnumerable<Trade> states)
    {
        using var connection = Database.OpenConnection();
        using var transaction = connection.BeginTransaction();
        using (var appender = connection.CreateAppender("trade_events"))
        {
            foreach (var e in events)
            {
                JournalColumns.Append(appender, e);
            }
        }

        foreach (var s in states)
        {
            using var command = connection.CreateCommand();
            command.Transaction = transaction;
            command.CommandText = """
                INSERT OR REPLACE INTO trade_state VALUES ($id, $version, $seq, $account, $symbol, $side, $quantity, $price, $filled,
                    $notional, $status, $venue, $trader, $executed, $created, $updated)
                """;
            void Add(string name, object? value) => command.Parameters.Add(new DuckDBParameter(name, value ?? DBNull.Value));
            Add("id", s.TradeId);
            Add("version", s.Version);
            Add("seq", s.LastSeq);
            Add("account", s.Account);
            Add("symbol", s.Symbol);
            Add("side", s.Side.ToCode());
            Add("quantity", s.Quantity);
            Add("price", s.Price);
            Add("filled", s.FilledQuantity);
            Add("notional", s.FilledNotional);
            Add("status", s.Status.ToCode());
            Add("venue", s.Venue);
            Add("trader", s.Trader);
            Add("executed", s.ExecutedAt.UtcDateTime);
            Add("created", s.CreatedAt.UtcDateTime);
            Add("updated", s.UpdatedAt.UtcDateTime);
            command.ExecuteNonQuery();
        }

        transaction.Commit();
    }
}
