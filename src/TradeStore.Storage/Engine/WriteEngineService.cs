using Microsoft.Extensions.Hosting;

namespace TradeStore.Storage.Engine;

/// <summary>
/// Ties the <see cref="WriteEngine"/> to the host's lifetime. Registered before the web server, so it starts
/// first (index loaded before any request) and stops last (requests drained, then the queue committed and the
/// database checkpointed).
/// </summary>
internal sealed class WriteEngineService(WriteEngine engine) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        engine.Start();
        return Task.CompletedTask;
    }

    /// <summary>
    /// Drains the engine (normally already done by the shutdown's <c>DrainEngine</c> step). By design the host's
    /// shutdown timeout (<c>Server:ShutdownTimeout</c>) does not cut the drain short: it commits only what is already
    /// queued, then applies and checkpoints it. Given up, it would leave the writer running under the database's
    /// checkpoint and close, and the cancellation would reach the host, which rethrows it from its stop: <c>serve</c> then
    /// ended with an unhandled <see cref="TaskCanceledException"/> instead of exit 0 after a slow HTTP drain. A hung disk
    /// is bounded by whatever supervises the process (the guard's grace period, systemd's <c>TimeoutStopSec</c>).
    /// </summary>
    public Task StopAsync(CancellationToken cancellationToken) => engine.StopAsync(CancellationToken.None);
}
