using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using TradeStore.Core.Trades;
using TradeStore.Storage.Engine;
using TradeStore.TestSupport;

namespace TradeStore.Server.Tests;

/// <summary>
/// A batch whose item finds the write queue full (503 busy) writes nothing after it: its items are written in order, and a
/// later one written without the refused one before it would change the outcome of resending the refused items.
/// </summary>
public sealed class BatchBusyTests : IDisposable
{
    private readonly TempDirectory _data = new("batch-busy");

    public void Dispose() => _data.Dispose();

    /// <summary>
    /// The queue is full at the third item only (a real queue empties again within a commit: 2 of 72 batches of 1,000 items
    /// from 12 clients, with Engine:QueueCapacity 1000, had items written after a busy one). Before, the cancel after the
    /// refused fill was written, and the fill sent again was refused: the trade was cancelled with one fill instead of two.
    /// </summary>
    [Fact]
    public async Task Batch_WriteQueueFullAtOneItem_NoLaterItemIsWrittenAndEachSaysFromWhereToResend()
    {
        var ct = TestContext.Current.CancellationToken;
        BusyAtSubmission? commands = null;
        await using var app = await TestHostFactory.StartAsync(_data.Path, configure: builder => builder.Services.Replace(
            ServiceDescriptor.Singleton<ITradeCommands>(services => commands = new BusyAtSubmission(services.GetRequiredService<WriteEngine>(), busyAt: 2))));
        using var client = app.GetTestClient();
        const string Body = """
            [
              {"tradeId":"Q-1","account":"ACC-Q","symbol":"AAPL","side":"buy","quantity":"10","price":"1"},
              {"type":"fill","tradeId":"Q-1","quantity":"4","price":"1"},
              {"type":"fill","tradeId":"Q-1","quantity":"3","price":"1"},
              {"type":"cancel","tradeId":"Q-1"},
              {"tradeId":"Q-2","account":"ACC-Q","symbol":"AAPL","side":"buy","quantity":"1","price":"1"}
            ]
            """;

        using var answer = await client.PostAsync("/v1/trades/batch", new StringContent(Body, Encoding.UTF8, "application/json"), ct);
        using var json = JsonDocument.Parse(await answer.Content.ReadAsStringAsync(ct));

        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        var results = json.RootElement.GetProperty("results").EnumerateArray().ToList();
        Assert.Equal([201, 200, 503, 503, 503], results.Select(r => r.GetProperty("status").GetInt32()));
        Assert.All(results[2..], r => Assert.Equal("urn:tradestore:problem:busy", r.GetProperty("problem").GetProperty("type").GetString()));
        Assert.All(results[3..], r => Assert.Contains("resend the items from index 2 on", r.GetProperty("problem").GetProperty("detail").GetString(), StringComparison.Ordinal));
        Assert.Equal(3, commands!.Submissions); // the items after the busy one never reached the writer
        var queries = app.Services.GetRequiredService<ITradeQueries>();
        var written = queries.GetTrade("Q-1")!;
        Assert.Equal((TradeStatus.PartiallyFilled, 4m, 2L), (written.Status, written.FilledQuantity, written.Version));
        Assert.Null(queries.GetTrade("Q-2"));

        // Resending from index 2, as the answer says, gives what the batch meant: two fills, then the cancel.
        using var resent = await client.PostAsync("/v1/trades/batch", new StringContent(
            "[" + string.Join(",", JsonDocument.Parse(Body).RootElement.EnumerateArray().Skip(2).Select(item => item.GetRawText())) + "]", Encoding.UTF8, "application/json"), ct);
        Assert.Equal(HttpStatusCode.OK, resent.StatusCode);
        var trade = queries.GetTrade("Q-1")!;
        Assert.Equal((TradeStatus.Cancelled, 7m, 4L), (trade.Status, trade.FilledQuantity, trade.Version));
        Assert.NotNull(queries.GetTrade("Q-2"));
    }

    /// <summary>The real engine, except that one submission is refused as busy, as a full write queue refuses it.</summary>
    private sealed class BusyAtSubmission(ITradeCommands engine, int busyAt) : ITradeCommands
    {
        private int _submissions;

        public int Submissions => Volatile.Read(ref _submissions);

        public ValueTask<CommandResult> SubmitAsync(TradeCommand command, CancellationToken cancellationToken = default) =>
            Interlocked.Increment(ref _submissions) - 1 == busyAt
                ? new(CommandResult.Refused(new CommandError(CommandErrorKind.Busy, "The write queue is full (100000 commands); retry shortly.")))
                : engine.SubmitAsync(command, cancellationToken);
    }
}
