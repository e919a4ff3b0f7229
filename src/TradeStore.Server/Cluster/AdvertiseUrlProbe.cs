using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using TradeStore.Cluster;

namespace TradeStore.Server.Cluster;

/// <summary>
/// Once the node listens, asks its own <see cref="ClusterOptions.AdvertiseUrl"/> for <c>/health/live</c> and warns (event
/// 1321, naming the setting) when that address does not answer. Nothing else notices a well-formed but wrong address (a
/// wrong port or host) until the node leads: then every redirected write and every follower's stream go to it and fail,
/// and with <c>Cluster:SyncReplicas</c> ≥ 1 no write is acknowledged. A warning, not a refusal: an address that a node
/// cannot reach from itself (a hairpin a load balancer does not allow) may still serve the others.
/// </summary>
internal sealed class AdvertiseUrlProbe(ClusterState state, IHostApplicationLifetime lifetime, ILogger<AdvertiseUrlProbe> logger) : BackgroundService
{
    private const int Attempts = 3;
    private static readonly TimeSpan AttemptTimeout = TimeSpan.FromSeconds(2);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var started = new TaskCompletionSource();
        using (lifetime.ApplicationStarted.Register(() => started.TrySetResult()))
        {
            await started.Task.WaitAsync(stoppingToken);
        }

        using var http = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false, ConnectTimeout = AttemptTimeout }) { Timeout = AttemptTimeout };
        var url = $"{state.AdvertiseUrl}/health/live";
        string? failure = null;
        for (var attempt = 0; attempt < Attempts; attempt++)
        {
            try
            {
                using var answer = await http.GetAsync(url, stoppingToken);
                return; // any HTTP answer: something serves HTTP there
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested && ex is HttpRequestException or TaskCanceledException)
            {
                failure = ex is TaskCanceledException ? $"no answer within {AttemptTimeout.TotalSeconds:0} s" : ex.GetBaseException().Message;
            }

            await Task.Delay(AttemptTimeout, stoppingToken);
        }

        Log.AdvertiseUrlUnreachable(logger, state.AdvertiseUrl, state.NodeName, failure!, Attempts);
    }
}
