namespace TradeStore.Bench;

/// <summary>
/// Asks once, before a benchmark starts work that needs it, whether something answers at an address: a server the run
/// writes to, or etcd for the nodes it starts. Without the question a run against nothing waited out its own timeouts and
/// then failed without naming what was missing.
/// </summary>
internal static class Reachability
{
    /// <summary>
    /// Why a GET of <paramref name="address"/> got no answer within <paramref name="timeout"/> (or, with
    /// <paramref name="requireSuccess"/>, no 2xx answer); <see langword="null"/> when it did.
    /// </summary>
    public static async Task<string?> WhyNotAsync(HttpClient client, Uri address, TimeSpan timeout, bool requireSuccess, CancellationToken cancellationToken)
    {
        using var probe = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        probe.CancelAfter(timeout);
        try
        {
            using var response = await client.GetAsync(address, probe.Token);
            return requireSuccess && !response.IsSuccessStatusCode ? $"HTTP {(int)response.StatusCode}" : null;
        }
        catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            return ex is HttpRequestException ? ex.Message : $"no answer within {timeout.TotalSeconds:0.#} s";
        }
    }
}
