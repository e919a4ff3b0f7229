using System.Diagnostics;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using TradeStore.Core.Lifetime;

namespace TradeStore.Server.Lifetime;

/// <summary>
/// Owns the order of a shutdown: leave the cluster (a node that leads hands over), stop accepting (the HTTP server),
/// drain the engine, flush the sinks, checkpoint, close (<see cref="ShutdownStage"/>). Each adapter registers its <see cref="ShutdownStep"/>s; this runs them by
/// stage, and the steps of one stage together (the two sinks flush at once: a sink that is slow to flush must not
/// spend the other's share of the shutdown timeout). Registered after every other hosted service, so the host stops it
/// first: the engine and the sinks are stopped here, in this order, and their own <c>StopAsync</c> later finds nothing
/// left to do. By design a failing step is logged and the sequence goes on: a sink that cannot flush must not keep the
/// database from its checkpoint.
/// </summary>
/// <remarks>
/// By design <see cref="ShutdownStage.LeaveCluster"/> runs in <see cref="StoppingAsync"/>, which the host calls before it
/// stops any hosted service: the web host's own service (which stops Kestrel, waiting up to the shutdown timeout for
/// requests in flight) is stopped before this one, and a leader's followers' streams are such requests.
/// </remarks>
internal sealed class ShutdownCoordinator(IServer server, IEnumerable<ShutdownStep> steps, ILogger<ShutdownCoordinator> logger) : IHostedLifecycleService
{
    // The server is stopped here, not left to the host's reverse registration order: requests in flight finish (up to
    // the shutdown timeout), new ones are refused, and only then is the engine drained.
    private readonly IReadOnlyList<IGrouping<ShutdownStage, ShutdownStep>> _stages =
        [.. steps.Append(new ShutdownStep(ShutdownStage.StopAccepting, "http server", server.StopAsync))
            .GroupBy(step => step.Stage)
            .OrderBy(stage => stage.Key)];
    private int _stopped;

    private int _left;

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task StoppingAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref _left, 1) == 1)
        {
            return;
        }

        foreach (var stage in _stages.Where(stage => stage.Key < ShutdownStage.StopAccepting))
        {
            await RunAsync(stage, cancellationToken);
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref _stopped, 1) == 1)
        {
            return;
        }

        await StoppingAsync(cancellationToken);
        foreach (var stage in _stages.Where(stage => stage.Key >= ShutdownStage.StopAccepting))
        {
            await RunAsync(stage, cancellationToken);
        }

        Log.ShutdownComplete(logger, _stages.Sum(stage => stage.Count()));
    }

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Runs one stage's steps together, each on its own thread: a step that blocks before its first await must not hold up the others.</summary>
    private Task RunAsync(IEnumerable<ShutdownStep> stage, CancellationToken cancellationToken) =>
        Task.WhenAll(stage.Select(step => Task.Run(() => RunAsync(step, cancellationToken), CancellationToken.None)));

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
