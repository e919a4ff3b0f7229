using System.Globalization;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using TradeStore.Server.Tests.Security;
using TradeStore.Storage;
using TradeStore.Storage.Engine;
using TradeStore.TestSupport;

namespace TradeStore.Server.Tests;

/// <summary>
/// A query waits a few seconds for DuckDB to hold every acknowledged write. When DuckDB's apply keeps failing, the
/// journal still acknowledges; the query then answers from what DuckDB holds, and the answer never hides it: its
/// <c>TradeStore-Applied-Seq</c> names the older seq, and the server logs event 1209.
/// </summary>
public sealed class StaleQueryTests
{
    [Fact]
    public async Task Query_DuckDbApplyFailing_AnswersWhatDuckDbHoldsNamingItsSeqAndLogs1209()
    {
        using var directory = new TempDirectory();
        var logs = new CapturingLoggerProvider();
        await using var app = await TestHostFactory.StartAsync(directory.Path, configure: b => b.Logging.AddProvider(logs));
        var api = new ApiClient(app.GetTestClient());
        var engine = app.Services.GetRequiredService<WriteEngine>();
        Assert.Equal(201, (await api.CreateAsync("STALE-1")).Code);
        Assert.True(engine.WaitApplied(engine.LastSeq, TimeSpan.FromSeconds(30)));
        var applied = engine.AppliedSeq.ToString(CultureInfo.InvariantCulture);
        // The apply appends to trade_events: without it, every apply fails and is retried, while the journal acknowledges.
        Exec(app, "ALTER TABLE trade_events RENAME TO trade_events_away");

        var written = await api.CreateAsync("STALE-2");
        var journalSeq = written.Headers.GetValues("TradeStore-Seq").Single();
        // Queries may read only TradeStore's own tables, and trade_events is away: the answer's header is what this is about.
        var stale = await api.PostAsync("/v1/query", """{"sql":"SELECT 42 AS answer"}""");

        Assert.Equal(201, written.Code);
        Assert.True(stale.Code == 200, stale.Raw);
        Assert.Equal(applied, stale.Headers.GetValues("TradeStore-Applied-Seq").Single());
        Assert.Equal(42, stale.Body.GetProperty("rows")[0][0].GetInt32());
        Assert.NotEqual(applied, journalSeq);
        Assert.Contains(logs.Lines, line => line.Contains("[1209]", StringComparison.Ordinal)
            && line.Contains($"at seq {applied}, behind the journal's seq {journalSeq}", StringComparison.Ordinal));

        // Once DuckDB can take the apply again, it catches up, and so does the next query's answer.
        Exec(app, "ALTER TABLE trade_events_away RENAME TO trade_events");
        var fresh = await api.PostAsync("/v1/query", """{"sql":"SELECT max(seq) FROM trade_events"}""");

        Assert.True(fresh.Code == 200, fresh.Raw);
        Assert.Equal(journalSeq, fresh.Headers.GetValues("TradeStore-Applied-Seq").Single());
        Assert.Equal(journalSeq, fresh.Body.GetProperty("rows")[0][0].GetInt64().ToString(CultureInfo.InvariantCulture));
    }

    private static void Exec(Microsoft.AspNetCore.Builder.WebApplication app, string sql)
    {
        using var connection = app.Services.GetRequiredService<DuckDbDatabase>().OpenConnection();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }
}
