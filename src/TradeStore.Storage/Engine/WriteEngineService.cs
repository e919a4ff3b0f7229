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

    public Task StopAsync(CancellationToken cancellationToken) => engine.StopAsync(cancellationToken);
}
