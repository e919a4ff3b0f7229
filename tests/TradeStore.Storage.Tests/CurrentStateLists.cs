using System.Globalization;
using System.Text;
using DuckDB.NET.Data;
using TradeStore.Core.Trades;
using TradeStore.Storage.Engine;

namespace TradeStore.Storage.Tests;

/// <summary>
/// The reference for in-memory lists: the same filter and keyset position as SQL on DuckDB's <c>current_trade_state</c>
/// (<c>trade_state</c> with the journal tail folded over it), ordered by (executed_at, trade_id).
/// </summary>
internal static class CurrentStateLists
{
    /// <summary>The page after (<paramref name="after"/>) that DuckDB answers for <paramref name="filter"/> (its limit; its cursor is ignored).</summary>
    public static List<Trade> Page(DuckDbDatabase database, TradeFilter filter, (DateTimeOffset ExecutedAt, string TradeId)? after)
    {
        using var connection = database.OpenConnection();
        using var command = connection.CreateCommand();
        var sql = new StringBuilder($"SELECT {TradeStateRow.Columns} FROM current_trade_state WHERE status <> 'deleted'");
        void Add(string condition, string name, object value)
        {
            sql.Append(" AND ").Append(condition);
            command.Parameters.Add(new DuckDBParameter(name, value));
        }

        if (filter.Account is { } account)
        {
            Add("account = $account", "account", account);
        }

        if (filter.Symbol is { } symbol)
        {
            Add("symbol = $symbol", "symbol", symbol);
        }

        if (filter.Status is { } status)
        {
            Add("status = $status", "status", status.ToCode());
        }

        // DuckDB's TIMESTAMP parameter holds microseconds: a finer bound is rounded up first, which keeps "at or after
        // from" and "before to" exact for stored (whole-microsecond) times. Rounded past the last tick of the year 9999,
        // no stored time is at or after it.
        if (filter.From is { } from)
        {
            var ticks = Timestamps.CeilingTicks(from);
            if (ticks > DateTime.MaxValue.Ticks)
            {
                sql.Append(" AND false");
            }
            else
            {
                Add("executed_at >= $from", "from", new DateTime(ticks, DateTimeKind.Utc));
            }
        }

        if (filter.To is { } to && Timestamps.CeilingTicks(to) is var toTicks && toTicks <= DateTime.MaxValue.Ticks)
        {
            Add("executed_at < $to", "to", new DateTime(toTicks, DateTimeKind.Utc));
        }

        if (after is var (time, id))
        {
            Add("(executed_at > $after_time OR (executed_at = $after_time AND trade_id > $after_id))", "after_time", time.UtcDateTime);
            command.Parameters.Add(new DuckDBParameter("after_id", id));
        }

        sql.Append(" ORDER BY executed_at, trade_id LIMIT ").Append(filter.Limit.ToString(CultureInfo.InvariantCulture));
        command.CommandText = sql.ToString();
        var trades = new List<Trade>();
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            trades.Add(TradeStateRow.Read(reader));
        }

        return trades;
    }

    /// <summary>Every page of <paramref name="filter"/> from DuckDB, concatenated.</summary>
    public static List<Trade> All(DuckDbDatabase database, TradeFilter filter)
    {
        var all = new List<Trade>();
        (DateTimeOffset, string)? after = null;
        while (true)
        {
            var page = Page(database, filter, after);
            all.AddRange(page);
            if (page.Count < filter.Limit)
            {
                return all;
            }

            after = (page[^1].ExecutedAt, page[^1].TradeId);
        }
    }
}
