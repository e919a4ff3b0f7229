using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using TradeStore.Storage.Engine;

namespace TradeStore.Server.Lifetime;

/// <summary>
/// Stops the server with <see cref="ExitCode"/> when the <see cref="WriteEngine"/>'s writer fails for good (an internal
/// error, or a journal log that can no longer be appended to, for example after a failed fsync). A process that answers
/// reads but refuses every write would otherwise look alive to the guard and, in a cluster, keep its leader lease:
/// stopping lets the guard restart it (the log is replayed at start) and lets another node take over.
/// </summary>
public sealed class EngineFailureStop(WriteEngine engine, IHostApplicationLifetime lifetime, ILogger<EngineFailureStop> logger) : BackgroundService
{
    /// <summary>The exit code of <c>tradestore serve</c> after the write engine failed.</summary>
    public const int EngineFailedExitCode = 7;

    /// <summary><see cref="EngineFailedExitCode"/> once the engine failed and the stop began; otherwise <see langword="null"/>.</summary>
    public int? ExitCode { get; private set; }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        Exception failure;
        try
        {
            failure = await engine.Failure.WaitAsync(stoppingToken);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            return;
        }

        ExitCode = EngineFailedExitCode;
        Log.EngineFailed(logger, failure.Message, EngineFailedExitCode);
        lifetime.StopApplication();
    }
}
