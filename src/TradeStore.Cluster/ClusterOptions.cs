using System.ComponentModel.DataAnnotations;
using System.Globalization;
using Microsoft.Extensions.Options;

namespace TradeStore.Cluster;

/// <summary>
/// High availability (section <c>Cluster</c>). Off unless <see cref="Etcd"/> is set: without it TradeStore runs
/// standalone exactly as it always has. With it, the nodes elect one leader through an etcd lease; only the leader
/// acknowledges writes, and the others redirect them to it.
/// </summary>
public sealed partial class ClusterOptions : IValidatableObject
{
    public const string SectionName = "Cluster";

    /// <summary>The smallest fence margin: how long before the lease could expire the leader stops acknowledging.</summary>
    public static readonly TimeSpan MinimumFenceMargin = TimeSpan.FromMilliseconds(250);

    /// <summary>etcd client endpoints, separated by <c>,</c> or <c>;</c>, for example <c>http://10.0.0.1:2379,http://10.0.0.2:2379</c>.</summary>
    /// <value>Default unset: standalone.</value>
    public string? Etcd { get; set; }

    /// <summary>This node's name, unique in the cluster (1-64 of <c>A-Za-z0-9._-</c>).</summary>
    public string? Node { get; set; }

    /// <summary>The address other nodes and clients reach this node's HTTP API at; the <c>Location</c> of a redirect to it.</summary>
    public string? AdvertiseUrl { get; set; }

    /// <summary>
    /// Followers whose fsync a write waits for before it is acknowledged (issue #14). 0 = asynchronous: a write is
    /// acknowledged after the leader's own fsync and streamed in the background.
    /// </summary>
    /// <value>Default 0.</value>
    [Range(0, 8, ErrorMessage = "must be between 0 and 8.")]
    public int SyncReplicas { get; set; }

    /// <summary>
    /// How long a group of writes waits for <see cref="SyncReplicas"/> follower acknowledgements before it is answered
    /// <c>503 replication-unavailable</c> (never acknowledged silently).
    /// </summary>
    /// <value>Default 2 seconds.</value>
    [Range(typeof(TimeSpan), "00:00:00.050", "00:01:00", ErrorMessage = "must be between 00:00:00.050 and 00:01:00.")]
    public TimeSpan ReplicationTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>How long a read with <c>?minSeq=N</c> waits for this node to hold seq N before it answers <c>503 seq-not-reached</c>.</summary>
    /// <value>Default 1 second.</value>
    [Range(typeof(TimeSpan), "00:00:00", "00:00:30", ErrorMessage = "must be between 00:00:00 and 00:00:30.")]
    public TimeSpan ReadWaitTimeout { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Least time between two DuckDB commits on a follower, in place of <c>Engine:ApplyInterval</c>. A follower's DuckDB
    /// serves only <c>POST /v1/query</c>, history and the offline tools (a query with <c>?minSeq=</c> cuts the wait short,
    /// and history adds what DuckDB does not hold yet), while every DuckDB commit costs CPU and an fsync taken from the
    /// leader's writes on shared hardware. A node that becomes leader goes back to <c>Engine:ApplyInterval</c>.
    /// </summary>
    /// <value>Default 1 second: with three nodes on one 2-core machine, 1.2–1.5× the synchronous leader's writes per second of 100 ms in alternated runs (docs/benchmarks.md).</value>
    [Range(typeof(TimeSpan), "00:00:00", "00:00:10", ErrorMessage = "must be between 00:00:00 and 00:00:10.")]
    public TimeSpan FollowerApplyInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// The API key (plain text, <c>ts_…</c>) a follower sends to the leader's replication endpoints when API keys are
    /// configured; it must be an <c>admin</c> key of <c>Security:ApiKeys</c> on every node. Unset without API keys.
    /// </summary>
    [TradeStore.Core.Options.Secret]
    public string? ReplicationKey { get; set; }

    /// <summary>
    /// TTL of the etcd lease that holds leadership, in whole seconds. A dead leader is replaced about this long after
    /// it stopped renewing; a leader that cannot renew stops acknowledging <see cref="FenceMargin"/> before it.
    /// </summary>
    /// <value>Default 3 seconds.</value>
    [Range(typeof(TimeSpan), "00:00:02", "00:01:00", ErrorMessage = "must be between 00:00:02 and 00:01:00.")]
    public TimeSpan LeaseTtl { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>Prefix of every etcd key of this cluster, so several clusters (or test runs) can share one etcd.</summary>
    /// <value>Default <c>/tradestore/</c>.</value>
    [RegularExpression(KeyPrefixPattern, ErrorMessage = KeyPrefixError)]
    public string KeyPrefix { get; set; } = "/tradestore/";

    private const string KeyPrefixPattern = "^/([A-Za-z0-9._-]+/)*$";
    private const string KeyPrefixError = "must start and end with '/' and hold only A-Z, a-z, 0-9, '.', '_', '-' and '/'.";

    public bool Enabled => !string.IsNullOrWhiteSpace(Etcd);

    /// <summary>How often the lease is renewed: a third of its TTL, so two renewals may fail before the fence.</summary>
    public TimeSpan RenewInterval => LeaseTtl / 3;

    /// <summary>How long before the earliest moment etcd may expire the lease the leader stops acknowledging.</summary>
    public TimeSpan FenceMargin => LeaseTtl / 5 > MinimumFenceMargin ? LeaseTtl / 5 : MinimumFenceMargin;

    /// <summary>The etcd endpoints as absolute URIs (valid only after validation).</summary>
    public IReadOnlyList<Uri> EtcdEndpoints => SplitEndpoints(Etcd).Select(e => new Uri(e, UriKind.Absolute)).ToList();

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (!Enabled)
        {
            if (Etcd is { Length: > 0 })
            {
                yield return new ValidationResult("is blank; leave it unset to run standalone.", [nameof(Etcd)]);
            }

            foreach (var (name, set) in new[] { (nameof(Node), Node is not null), (nameof(AdvertiseUrl), AdvertiseUrl is not null), (nameof(SyncReplicas), SyncReplicas != 0), (nameof(ReplicationKey), ReplicationKey is not null) })
            {
                if (set)
                {
                    yield return new ValidationResult($"is set but Cluster:Etcd is not: set Cluster:Etcd to join a cluster, or remove Cluster:{name} to run standalone.", [name]);
                }
            }

            yield break;
        }

        foreach (var failure in ValidateEtcd())
        {
            yield return failure;
        }

        if (string.IsNullOrWhiteSpace(Node))
        {
            yield return new ValidationResult("is required with Cluster:Etcd: a name unique in the cluster, for example the host name.", [nameof(Node)]);
        }
        else if (!NodeNamePattern().IsMatch(Node))
        {
            yield return new ValidationResult($"'{Node}' must be 1-64 characters of A-Z, a-z, 0-9, '.', '_', '-'.", [nameof(Node)]);
        }

        if (string.IsNullOrWhiteSpace(AdvertiseUrl))
        {
            yield return new ValidationResult("is required with Cluster:Etcd: the http(s) address other nodes and clients reach this node at.", [nameof(AdvertiseUrl)]);
        }
        else if (!IsHttpUrl(AdvertiseUrl, out var advertise) || advertise!.Host is "0.0.0.0" or "[::]" || AdvertiseUrl.Contains("://*", StringComparison.Ordinal) || AdvertiseUrl.Contains("://+", StringComparison.Ordinal))
        {
            yield return new ValidationResult($"'{AdvertiseUrl}' must be an absolute http:// or https:// address with a reachable host (not a wildcard such as 0.0.0.0).", [nameof(AdvertiseUrl)]);
        }
        else if (advertise.PathAndQuery != "/")
        {
            yield return new ValidationResult($"'{AdvertiseUrl}' must have no path or query: redirects append the request's own path.", [nameof(AdvertiseUrl)]);
        }

        if (LeaseTtl.Ticks % TimeSpan.TicksPerSecond != 0)
        {
            yield return new ValidationResult(string.Create(CultureInfo.InvariantCulture, $"must be whole seconds (etcd leases count seconds); got {LeaseTtl}."), [nameof(LeaseTtl)]);
        }
    }

    /// <summary>
    /// Only what reaching the cluster's keys in etcd needs, <see cref="Etcd"/> and <see cref="KeyPrefix"/>, for
    /// <see cref="Enabled"/> options: the admin commands (<c>tradestore cluster status|forget</c>) run from an ops host
    /// that is no node, so they need no <see cref="Node"/> or <see cref="AdvertiseUrl"/>. A node checks everything
    /// (<see cref="Validate"/>).
    /// </summary>
    public IEnumerable<ValidationResult> ValidateEtcdAccess()
    {
        foreach (var failure in ValidateEtcd())
        {
            yield return failure;
        }

        if (!KeyPrefixRegex().IsMatch(KeyPrefix ?? string.Empty))
        {
            yield return new ValidationResult(KeyPrefixError, [nameof(KeyPrefix)]);
        }
    }

    private IEnumerable<ValidationResult> ValidateEtcd()
    {
        foreach (var endpoint in SplitEndpoints(Etcd))
        {
            if (!IsHttpUrl(endpoint, out _))
            {
                yield return new ValidationResult($"'{endpoint}' is not an absolute http:// or https:// address (for example http://127.0.0.1:2379).", [nameof(Etcd)]);
            }
        }
    }

    private static IEnumerable<string> SplitEndpoints(string? value) =>
        (value ?? string.Empty).Split([',', ';'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    private static bool IsHttpUrl(string value, out Uri? uri) =>
        Uri.TryCreate(value, UriKind.Absolute, out uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps);

    [System.Text.RegularExpressions.GeneratedRegex("^[A-Za-z0-9._-]{1,64}$")]
    private static partial System.Text.RegularExpressions.Regex NodeNamePattern();

    [System.Text.RegularExpressions.GeneratedRegex(KeyPrefixPattern)]
    private static partial System.Text.RegularExpressions.Regex KeyPrefixRegex();
}

/// <summary>Compile-time generated validator of <see cref="ClusterOptions"/>: no reflection at start-up.</summary>
[OptionsValidator]
public sealed partial class ClusterOptionsValidator : IValidateOptions<ClusterOptions>;
