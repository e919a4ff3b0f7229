using System.Diagnostics;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using TradeStore.Core.Lifetime;

namespace TradeStore.Server.Lifetime;

/// <summary>
/// Owns the order of a shutdown: stop accepting (the HTTP server), drain the engine, flush the sinks, checkpoint,
/// close (<see cref="ShutdownStage"/>). Each adapter registers its <see cref="ShutdownStep"/>s; this runs them by
/// stage. Registered after every other hosted service, so the host stops it first: the engine and the sinks are
/// stopped here, in this order, and their own <c>StopAsync</c> later finds nothing left to do. By design a failing
/// step is logged and the sequence goes on: a sink that cannot flush must not keep the database from its checkpoint.
/// </summary>
internal sealed class ShutdownCoordinator(IServer server, IEnumerable<ShutdownStep> steps, ILogger<ShutdownCoordinator> logger) : IHostedService
{
    private readonly IReadOnlyList<ShutdownStep> _steps = [.. steps.OrderBy(step => step.Stage)]; // stable: registration order within a stage
    private int _stopped;

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref _stopped, 1) == 1)
        {
            return;
        }

        // The server is stopped here, not left to the host's reverse registration order: requests in flight finish
        // (up to the shutdown timeout), new ones are refused, and only then is the engine drained.
        await RunAsync(new ShutdownStep(ShutdownStage.StopAccepting, "http server", server.StopAsync), cancellationToken);
        foreach (var step in _steps)
        {
            await RunAsync(step, cancellationToken);
        }

        Log.ShutdownComplete(logger, _steps.Count + 1);
    }

    private async Task RunAsync(ShutdownStep step, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        try
        {
            await step.RunAsync(cancellationToken);
            Log.ShutdownStepDone(logger, step.Stage, step.Name, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        }
        catch (Exception ex)
        {
            Log.ShutdownStepFailed(logger, step.Stage, step.Name, ex);
        }
    }
}
