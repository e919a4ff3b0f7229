using Microsoft.Extensions.DependencyInjection;
using TradeStore.Core.Trades;
using TradeStore.Server.Lifetime;
using TradeStore.Storage.CommitLog;
using TradeStore.Storage.Engine;
using TradeStore.TestSupport;

namespace TradeStore.Server.Tests;

/// <summary>The engine as the host composes it: started with the host, drained and kept across a restart.</summary>
public sealed class EngineHostTests : IDisposable
{
    private readonly TempDirectory _data = new("engine-host");

    [Fact]
    public async Task Host_CommandsThenRestart_TradeAndPositionKept()
    {
        var ct = TestContext.Current.CancellationToken;
        await using (var app = await TestHostFactory.StartAsync(_data.Path))
        {
            var commands = app.Services.GetRequiredService<ITradeCommands>();
            Assert.True((await commands.SubmitAsync(new CreateTrade("H1", "ACC", "SYM", Side.Buy, 10, 2), ct)).Succeeded);
            Assert.True((await commands.SubmitAsync(new FillTrade("H1", 4, 2.5m), ct)).Succeeded);
            await app.StopAsync(ct);
            Assert.Equal(CommandErrorKind.Unavailable, (await commands.SubmitAsync(new CreateTrade("H2", "ACC", "SYM", Side.Buy, 1, 1), ct)).Error!.Kind);
        }

        await using (var app = await TestHostFactory.StartAsync(_data.Path))
        {
            var queries = app.Services.GetRequiredService<ITradeQueries>();
            Assert.Equal(TradeStatus.PartiallyFilled, queries.GetTrade("H1")!.Status);
            Assert.Null(queries.GetTrade("H2"));
            var position = Assert.Single(queries.GetPositions(new PositionFilter("ACC")).Positions);
            Assert.Equal(4m, position.NetQuantity);
            Assert.Equal(2.5m, position.AveragePrice);
            await app.StopAsync(ct);
        }
    }

    [Fact]
    public async Task Host_HostedServices_EngineStartsBeforeAndStopsAfterWebServer()
    {
        await using var app = await TestHostFactory.StartAsync(_data.Path);

        // The host starts hosted services in registration order and stops them in reverse.
        var order = app.Services.GetServices<Microsoft.Extensions.Hosting.IHostedService>().Select(s => s.GetType().Name).ToList();
        Assert.True(order.IndexOf("WriteEngineService") < order.IndexOf("GenericWebHostService"), string.Join(", ", order));
        await app.StopAsync(TestContext.Current.CancellationToken);
    }

    [Fact]
    public async Task Host_BadEngineSetting_ConfigurationErrorNamesKey()
    {
        var error = await Assert.ThrowsAsync<Configuration.ConfigurationException>(() =>
            TestHostFactory.StartAsync(_data.Path, new Dictionary<string, string> { ["TRADESTORE__ENGINE__MAXBATCHSIZE"] = "0" }));

        Assert.Contains("Engine:MaxBatchSize", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Host_WriteEngineFails_ServerStopsWithExitCode7()
    {
        var ct = TestContext.Current.CancellationToken;
        // A replication hook that throws at the hand-off breaks the journal log: the engine cannot write any more.
        await using var app = await TestHostFactory.StartAsync(_data.Path,
            configure: builder => builder.Services.AddSingleton<IJournalReplication>(new FailingReplication()));
        var stopping = new TaskCompletionSource();
        app.Lifetime.ApplicationStopping.Register(stopping.SetResult);
        var commands = app.Services.GetRequiredService<ITradeCommands>();

        var refused = await commands.SubmitAsync(new CreateTrade("F1", "ACC", "SYM", Side.Buy, 10, 2), ct);

        // Written to the log before the hand-off failed: in doubt, the next start applies it.
        Assert.Equal(CommandErrorKind.InDoubt, refused.Error!.Kind);
        await stopping.Task.WaitAsync(TimeSpan.FromSeconds(30), ct);
        Assert.Equal(7, app.Services.GetRequiredService<EngineFailureStop>().ExitCode);
    }

    [Fact]
    public async Task Host_StoppedNormally_NoEngineFailureExitCode()
    {
        await using var app = await TestHostFactory.StartAsync(_data.Path);

        await app.StopAsync(TestContext.Current.CancellationToken);

        Assert.Null(app.Services.GetRequiredService<EngineFailureStop>().ExitCode);
    }

    public void Dispose() => _data.Dispose();

    private sealed class FailingReplication : IJournalReplication
    {
        public long Term => 1;

        public void Appended(IReadOnlyList<LogRecord> records) => throw new InvalidOperationException("hand-off failed");

        public Task<bool> WaitReplicatedAsync(long seq, long term) => Task.FromResult(true);
    }
}
