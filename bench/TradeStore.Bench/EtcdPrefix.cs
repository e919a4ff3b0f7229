using Etcdserverpb;
using Google.Protobuf;
using TradeStore.Cluster;

namespace TradeStore.Bench;

/// <summary>
/// The throw-away etcd key prefix of one <c>tradestore-bench failover</c> run. Its nodes write their members, history
/// and sync records under it, which outlive their leases; they are deleted when the run ends, so a run against an etcd
/// that others use (by default the configured <c>Cluster:Etcd</c>) leaves no keys behind, also when interrupted.
/// </summary>
internal static class EtcdPrefix
{
    private static readonly TimeSpan DeleteTimeout = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Deletes every key under <paramref name="prefix"/> on <paramref name="endpoints"/> and returns how many there were,
    /// or, when etcd did not answer, returns why (the run's figures are taken; the caller says what is left).
    /// </summary>
    public static async Task<(long Deleted, string? Failure)> DeleteAsync(string endpoints, string prefix)
    {
        try
        {
            var uris = endpoints.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(e => new Uri(e, UriKind.Absolute)).ToList();
            using var channel = new EtcdChannel(uris);
            var client = new KV.KVClient(channel.Channel);
            using var timeout = new CancellationTokenSource(DeleteTimeout);
            var response = await client.DeleteRangeAsync(
                new DeleteRangeRequest { Key = ByteString.CopyFromUtf8(prefix), RangeEnd = ByteString.CopyFromUtf8(End(prefix)) },
                cancellationToken: timeout.Token);
            return (response.Deleted, null);
        }
        catch (Exception ex) when (ex is Grpc.Core.RpcException or OperationCanceledException or HttpRequestException or UriFormatException)
        {
            return (0, ex.Message);
        }
    }

    /// <summary>The first key after every key that starts with <paramref name="prefix"/> (etcd's range end of a prefix).</summary>
    private static string End(string prefix) => prefix[..^1] + (char)(prefix[^1] + 1);
}
