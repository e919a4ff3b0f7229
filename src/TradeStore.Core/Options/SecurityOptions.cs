using System.ComponentModel.DataAnnotations;
using TradeStore.Core.Security;

namespace TradeStore.Core.Options;

/// <summary>
/// Authentication, authorization and request limits (section <c>Security</c>). With no <see cref="ApiKeys"/>
/// authentication is off: only loopback callers are served, each with every role.
/// </summary>
public sealed class SecurityOptions : IValidatableObject
{
    public const string SectionName = "Security";

    /// <summary>The accepted API keys, as salted hashes (<c>tradestore keys new</c> prints an entry).</summary>
    /// <value>Default none: authentication off, loopback only.</value>
    public List<ApiKeyOptions> ApiKeys { get; set; } = [];

    /// <summary>Who may read <c>GET /metrics</c>: <c>Loopback</c> (loopback callers and admin keys), <c>Open</c> (anyone), <c>Admin</c> (admin keys only).</summary>
    /// <value>Default <c>Loopback</c>.</value>
    public MetricsAccess Metrics { get; set; } = MetricsAccess.Loopback;

    /// <summary>Requests per second per key (per remote address without a key); 0 means unlimited.</summary>
    /// <value>Default 10,000 (the design's write target, docs/benchmarks.md); a batch request counts once.</value>
    [Range(0, 10_000_000, ErrorMessage = "must be between 0 (unlimited) and 10000000.")]
    public int RequestsPerSecond { get; set; } = 10_000;

    /// <summary>The bucket holds at least this many milliseconds of <see cref="RequestsPerSecond"/>: a tenth of a second's requests.</summary>
    /// <remarks>
    /// By design: requests that arrive together within 100 ms at the configured rate are served, however small
    /// <see cref="RequestBurst"/> is (a burst of 20 at 400/s once served 20 requests a second). Each bucket refills by the
    /// time gone by at every request (<c>TradeStore.Server.Security.TokenBucket</c>).
    /// </remarks>
    public const int MinimumBucketMilliseconds = 100;

    /// <summary>
    /// Requests a key may send at once above <see cref="RequestsPerSecond"/> after being idle (the token bucket size);
    /// the bucket holds at least a tenth of <see cref="RequestsPerSecond"/> whatever this says (<see cref="BucketSize()"/>).
    /// </summary>
    /// <value>Default 20,000.</value>
    [Range(1, 10_000_000, ErrorMessage = "must be between 1 and 10000000.")]
    public int RequestBurst { get; set; } = 20_000;

    /// <summary>
    /// The token bucket's size: <see cref="RequestBurst"/>, or one refill's worth of <see cref="RequestsPerSecond"/> when
    /// that is more, so the configured rate is the rate served. (A burst of 20 at 400/s served 20 requests a second.)
    /// </summary>
    public int BucketSize() => (int)Math.Max(RequestBurst, ((long)RequestsPerSecond * MinimumBucketMilliseconds + 999) / 1000);

    /// <summary>Requests of one key (or remote address) in progress at once; 0 means unlimited.</summary>
    /// <value>Default 256.</value>
    [Range(0, 100_000, ErrorMessage = "must be between 0 (unlimited) and 100000.")]
    public int ConcurrentRequests { get; set; } = 256;

    /// <summary>The read-only SQL endpoint <c>POST /v1/query</c> (keys <c>Security:Query:*</c>); validated in <see cref="Validate"/>.</summary>
#pragma warning disable SYSLIB1212 // validated by Validate below, which names the full key (Security:Query:MaxRows)
    public QueryOptions Query { get; set; } = new();
#pragma warning restore SYSLIB1212

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        // By design not [ValidateObjectMembers]: the generated nested validator reported "Security:MaxRows", a key that
        // does not exist, and dropped the custom messages; an operator needs the full key.
        var query = new List<ValidationResult>();
        Validator.TryValidateObject(Query, new ValidationContext(Query), query, validateAllProperties: true);
        foreach (var result in query)
        {
            yield return new ValidationResult(result.ErrorMessage, [.. result.MemberNames.Select(name => $"{nameof(Query)}:{name}")]);
        }

        var names = new HashSet<string>(StringComparer.Ordinal);
        var ids = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < ApiKeys.Count; i++)
        {
            var key = ApiKeys[i];
            var prefix = $"{nameof(ApiKeys)}:{i}:";
            if (string.IsNullOrWhiteSpace(key.Name))
            {
                yield return new ValidationResult("is required.", [prefix + nameof(ApiKeyOptions.Name)]);
            }
            else if (!names.Add(key.Name))
            {
                yield return new ValidationResult($"'{key.Name}' is used by another key.", [prefix + nameof(ApiKeyOptions.Name)]);
            }

            if (!ApiKeyHash.TryParseHash(key.Hash, out var stored, out var error))
            {
                yield return new ValidationResult(error, [prefix + nameof(ApiKeyOptions.Hash)]);
            }
            else if (!ids.Add(stored.Id))
            {
                yield return new ValidationResult($"the key id {stored.Id} is configured twice.", [prefix + nameof(ApiKeyOptions.Hash)]);
            }

            if (!ApiRoles.IsKnown(key.Role))
            {
                yield return new ValidationResult($"must be reader, trader or admin; got '{key.Role}'.", [prefix + nameof(ApiKeyOptions.Role)]);
            }

            if (key.Accounts.Any(string.IsNullOrWhiteSpace))
            {
                yield return new ValidationResult("an account may not be empty.", [prefix + nameof(ApiKeyOptions.Accounts)]);
            }
        }
    }
}

/// <summary>One accepted API key: who it is, its role, and the accounts it may touch (none listed = every account).</summary>
public sealed class ApiKeyOptions
{
    /// <summary>A name for logs, metrics partitions and error messages (never the key itself).</summary>
    public string Name { get; set; } = "";

    /// <summary>The salted hash <c>sha256$id$salt$hash</c>; the key itself is never configured.</summary>
    [Secret]
    public string Hash { get; set; } = "";

    /// <summary><c>reader</c>, <c>trader</c> or <c>admin</c>.</summary>
    public string Role { get; set; } = "";

    /// <summary>The accounts this key may read and write; empty means every account.</summary>
    public List<string> Accounts { get; set; } = [];
}

/// <summary>Who may read <c>/metrics</c>.</summary>
public enum MetricsAccess
{
    /// <summary>Loopback callers (with a key of any role or none), and admin keys from anywhere.</summary>
    Loopback,

    /// <summary>Anyone who reaches a listener.</summary>
    Open,

    /// <summary>Admin keys only.</summary>
    Admin,
}

/// <summary>Limits of <c>POST /v1/query</c> (section <c>Security:Query</c>).</summary>
public sealed class QueryOptions
{
    /// <summary>Whether the endpoint exists. When on, the DuckDB instance is locked down at start-up (no file or network access, configuration locked).</summary>
    /// <value>Default <c>true</c>.</value>
    public bool Enabled { get; set; } = true;

    /// <summary>Whether reader and trader keys may query too (admin keys always may).</summary>
    /// <value>Default <c>false</c>.</value>
    public bool AllowReaders { get; set; }

    /// <summary>Most rows returned; the answer says <c>truncated</c> when there were more.</summary>
    /// <value>Default 10,000.</value>
    [Range(1, 1_000_000, ErrorMessage = "must be between 1 and 1000000.")]
    public int MaxRows { get; set; } = 10_000;

    /// <summary>
    /// Most bytes of an answer's body, counted while the rows are written: the rows stop before the body would pass
    /// it, and the answer says <c>truncated</c>. Bounds what one query holds in the server's memory and sends.
    /// </summary>
    /// <value>Default 16 MiB.</value>
    [Range(1024, 1L << 30, ErrorMessage = "must be between 1024 and 1073741824 bytes.")]
    public long MaxResultBytes { get; set; } = 16L << 20;

    /// <summary>
    /// How much the server process may grow while a query runs before the query is interrupted (answered 422
    /// <c>query-memory</c>). Checked every 50 ms on the process's working set, so the writer keeps its memory; by design
    /// not DuckDB's instance-wide <c>memory_limit</c>, which also starves the writer's commits (docs/security.md).
    /// </summary>
    /// <value>Default 1 GiB.</value>
    [Range(16L << 20, 1L << 40, ErrorMessage = "must be between 16777216 (16 MiB) and 1099511627776 bytes.")]
    public long MaxMemory { get; set; } = 1L << 30;

    /// <summary>How long a query may run before it is interrupted.</summary>
    /// <value>Default 10 seconds.</value>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:10:00", ErrorMessage = "must be between 00:00:00.010 and 00:10:00.")]
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// A query that ran at least this long is logged at information (event 1214, with its caller, rows and time); a
    /// faster one only at debug (event 1204), so a busy analyst does not flood the log. <c>00:00:00</c> logs every query at information.
    /// </summary>
    /// <value>Default 1 second.</value>
    [Range(typeof(TimeSpan), "00:00:00", "00:10:00", ErrorMessage = "must be between 00:00:00 and 00:10:00.")]
    public TimeSpan SlowQueryThreshold { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Queries running at once; one more is answered 429.</summary>
    /// <value>Default 2 (the machine's writer needs the rest).</value>
    [Range(1, 64, ErrorMessage = "must be between 1 and 64.")]
    public int MaxConcurrent { get; set; } = 2;
}
