using System.ComponentModel.DataAnnotations;

namespace TradeStore.Core.Options;

/// <summary>The Redis real-time projection (section <c>Redis</c>). Off unless <see cref="Connection"/> is set.</summary>
public sealed class RedisOptions : IValidatableObject
{
    public const string SectionName = "Redis";

    /// <summary>StackExchange.Redis configuration string, for example <c>127.0.0.1:6379</c>.</summary>
    /// <value>Default unset: Redis is disabled.</value>
    public string? Connection { get; set; }

    /// <summary>Password sent with AUTH; may come from <c>secrets.toml</c>.</summary>
    [Secret]
    public string? Password { get; set; }

    /// <summary>How long a readiness probe waits for <c>PING</c>.</summary>
    /// <value>Default 1 second.</value>
    [Range(typeof(TimeSpan), "00:00:00.050", "00:01:00", ErrorMessage = "must be between 00:00:00.050 and 00:01:00.")]
    public TimeSpan HealthTimeout { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Prefix of every key TradeStore writes, so several deployments can share one Redis (for example <c>desk1:</c>).</summary>
    /// <value>Default empty: keys are <c>trade:{id}</c>, <c>positions:{account}</c>, <c>trades:changes</c>, <c>tradestore:checkpoint</c>.</value>
    [RegularExpression("^[A-Za-z0-9._:{}-]{0,64}$", ErrorMessage = "must be at most 64 characters of A-Z, a-z, 0-9, '.', '_', ':', '-', '{{', '}}'.")]
    public string KeyPrefix { get; set; } = string.Empty;

    /// <summary>Approximate bound of the change stream (<c>XADD … MAXLEN ~</c>): how far back <c>tail --from</c> and <c>recover --from redis</c> reach.</summary>
    /// <value>Default 1,000,000 entries (about 100 s at 10,000 trades/s).</value>
    [Range(1_000, 100_000_000, ErrorMessage = "must be between 1000 and 100000000.")]
    public int StreamMaxLength { get; set; } = 1_000_000;

    /// <summary>Most journal events applied to Redis in one atomic script.</summary>
    /// <value>Default 1,000.</value>
    [Range(1, 10_000, ErrorMessage = "must be between 1 and 10000.")]
    public int MaxBatchSize { get; set; } = 1_000;

    /// <summary>First retry delay after a failed projection; doubles (with jitter) up to <see cref="RetryMaxDelay"/>.</summary>
    /// <value>Default 100 ms.</value>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:01:00", ErrorMessage = "must be between 00:00:00.010 and 00:01:00.")]
    public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Longest wait between two projection retries; the projector never gives up.</summary>
    /// <value>Default 5 seconds.</value>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:10:00", ErrorMessage = "must be between 00:00:00.010 and 00:10:00.")]
    public TimeSpan RetryMaxDelay { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Readiness reports Redis <c>degraded</c> when the projection is this far behind the journal.</summary>
    /// <value>Default 5 seconds.</value>
    [Range(typeof(TimeSpan), "00:00:00.100", "01:00:00", ErrorMessage = "must be between 00:00:00.100 and 01:00:00.")]
    public TimeSpan DegradedLag { get; set; } = TimeSpan.FromSeconds(5);

    public bool Enabled => !string.IsNullOrWhiteSpace(Connection);

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (Connection is { } connection && connection.Length > 0 && string.IsNullOrWhiteSpace(connection))
        {
            yield return new ValidationResult("is blank; leave it unset to disable Redis.", [nameof(Connection)]);
        }

        if (RetryMaxDelay < RetryBaseDelay)
        {
            yield return new ValidationResult($"must not be below RetryBaseDelay ({RetryBaseDelay}).", [nameof(RetryMaxDelay)]);
        }
    }
}
