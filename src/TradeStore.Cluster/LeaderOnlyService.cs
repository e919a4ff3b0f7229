using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace TradeStore.Cluster;

/// <summary>
/// Runs a hosted service only while this node leads: started when it becomes leader, stopped when it stops leading,
/// started again if it leads again. TradeStore gates its sinks (the Redis projection, the ClickHouse sync) with it, so
/// exactly one node writes to them; each resumes from its checkpoint in the sink, so a change of leader leaves no gap
/// and no duplicate. A stop waits for the inner service's own final flush.
/// </summary>
public sealed class LeaderOnlyService : IHostedService, IHostedLifecycleService, IDisposable
{
    private readonly IHostedService _inner;
    private readonly ClusterState _state;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _changed = new(0, 1);
    private readonly CancellationTokenSource _stopping = new();
    private Task _loop = Task.CompletedTask;
    private bool _running;
    private bool _everStarted;

    public LeaderOnlyService(IHostedService inner, ClusterState state, ILogger<LeaderOnlyService> logger)
    {
        _inner = inner;
        _state = state;
        _logger = logger;
        Name = inner.GetType().Name;
    }

    /// <summary>The gated service, by type name (for logs and tests).</summary>
    public string Name { get; }

    /// <summary>The gated service.</summary>
    public IHostedService Inner => _inner;

    /// <summary>Whether the gated service runs now.</summary>
    public bool IsRunning => Volatile.Read(ref _running);

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _state.Changed += OnChanged;
        _loop = FollowAsync(_stopping.Token);
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        _state.Changed -= OnChanged;
        await _stopping.CancelAsync();
        await _loop;
        if (_running)
        {
            await _inner.StopAsync(cancellationToken);
            Volatile.Write(ref _running, false);
        }
    }

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Passes the host's last stage on (the Redis projector flushes what the writer committed while draining).</summary>
    public Task StoppedAsync(CancellationToken cancellationToken) =>
        _everStarted && _inner is IHostedLifecycleService lifecycle ? lifecycle.StoppedAsync(cancellationToken) : Task.CompletedTask;

    public void Dispose()
    {
        _changed.Dispose();
        _stopping.Dispose();
    }

    private void OnChanged()
    {
        if (_changed.CurrentCount == 0)
        {
            try
            {
                _changed.Release();
            }
            catch (SemaphoreFullException)
            {
                // already signalled
            }
        }
    }

    private async Task FollowAsync(CancellationToken stopping)
    {
        await Task.Yield();
        while (!stopping.IsCancellationRequested)
        {
            var lead = _state.IsLeader;
            try
            {
                if (lead && !_running)
                {
                    await _inner.StartAsync(stopping);
                    Volatile.Write(ref _running, true);
                    _everStarted = true;
                    Log.LeaderServiceStarted(_logger, Name);
                }
                else if (!lead && _running)
                {
                    await _inner.StopAsync(CancellationToken.None);
                    Volatile.Write(ref _running, false);
                    Log.LeaderServiceStopped(_logger, Name);
                }
            }
            catch (Exception ex) when (!stopping.IsCancellationRequested)
            {
                Log.LeaderServiceFailed(_logger, ex, Name);
            }

            try
            {
                // Changed covers elections; the timeout covers a lease that merely ran out on the clock.
                await _changed.WaitAsync(TimeSpan.FromMilliseconds(250), stopping);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }
}
