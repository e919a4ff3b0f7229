using Microsoft.Extensions.DependencyInjection;
using TradeStore.Core.Lifetime;
using TradeStore.TestSupport;

namespace TradeStore.Server.Tests;

/// <summary>
/// The steps of one shutdown stage run together: two sinks that are each slow to flush share the shutdown timeout
/// instead of spending it one after the other. (The order of the stages themselves is <c>ShutdownOrderTests</c>.)
/// </summary>
public sealed class ShutdownStageTests : IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);
    private readonly TempDirectory _data = new("shutdown-stage");

    [Fact]
    public async Task Stop_TwoFlushStepsThatEachWaitForTheOther_BothFinish()
    {
        var first = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var second = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var finished = new List<string>();

        // Each step blocks its thread until the other has started: run one after the other, the first times out.
        ShutdownStep WaitingFor(string name, TaskCompletionSource started, TaskCompletionSource other) =>
            new(ShutdownStage.FlushSinks, name, _ =>
            {
                started.SetResult();
                other.Task.Wait(Patience);
                if (other.Task.IsCompleted)
                {
                    lock (finished)
                    {
                        finished.Add(name);
                    }
                }

                return Task.CompletedTask;
            });

        await using var app = await TestHostFactory.StartAsync(_data.Path, configure: builder =>
        {
            builder.Services.AddSingleton(WaitingFor("first sink", first, second));
            builder.Services.AddSingleton(WaitingFor("second sink", second, first));
        });

        await app.StopAsync(TestContext.Current.CancellationToken);

        Assert.Equal(["first sink", "second sink"], finished.Order());
    }

    public void Dispose() => _data.Dispose();
}
