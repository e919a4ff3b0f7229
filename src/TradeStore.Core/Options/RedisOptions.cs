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

    public bool Enabled => !string.IsNullOrWhiteSpace(Connection);

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (Connection is { } connection && connection.Length > 0 && string.IsNullOrWhiteSpace(connection))
        {
            yield return new ValidationResult("is blank; leave it unset to disable Redis.", [nameof(Connection)]);
        }
    }
}
