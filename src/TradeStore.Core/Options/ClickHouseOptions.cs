using System.ComponentModel.DataAnnotations;

namespace TradeStore.Core.Options;

/// <summary>The ClickHouse analytics sink (section <c>ClickHouse</c>). Off unless <see cref="Url"/> is set.</summary>
public sealed class ClickHouseOptions : IValidatableObject
{
    public const string SectionName = "ClickHouse";

    /// <summary>Base address of the ClickHouse HTTP interface, for example <c>http://127.0.0.1:8123</c>.</summary>
    /// <value>Default unset: ClickHouse is disabled.</value>
    public string? Url { get; set; }

    /// <summary>Database that holds the TradeStore tables.</summary>
    /// <value>Default <c>tradestore</c>.</value>
    [RegularExpression("^[A-Za-z_][A-Za-z0-9_]*$", ErrorMessage = "must be a plain identifier (letters, digits, underscore).")]
    public string Database { get; set; } = "tradestore";

    /// <summary>User name for HTTP basic authentication.</summary>
    /// <value>Default <c>default</c>.</value>
    [Secret]
    public string? User { get; set; }

    /// <summary>Password for HTTP basic authentication; may come from <c>secrets.toml</c>.</summary>
    [Secret]
    public string? Password { get; set; }

    /// <summary>Timeout of one HTTP request to ClickHouse.</summary>
    /// <value>Default 10 seconds.</value>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:10:00", ErrorMessage = "must be between 00:00:00.100 and 00:10:00.")]
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How long a readiness probe waits for <c>SELECT 1</c>.</summary>
    /// <value>Default 1 second.</value>
    [Range(typeof(TimeSpan), "00:00:00.050", "00:01:00", ErrorMessage = "must be between 00:00:00.050 and 00:01:00.")]
    public TimeSpan HealthTimeout { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>The sync daemon that streams the journal into ClickHouse (keys <c>ClickHouse:Sync:*</c>); validated in <see cref="Validate"/>.</summary>
#pragma warning disable SYSLIB1212 // validated by Validate below, which names the full key (ClickHouse:Sync:BatchMin)
    public SyncOptions Sync { get; set; } = new();
#pragma warning restore SYSLIB1212

    public bool Enabled => !string.IsNullOrWhiteSpace(Url);

    public Uri BaseUri => new(Url ?? throw new InvalidOperationException("ClickHouse is not configured."), UriKind.Absolute);

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        // By design validated here rather than with [ValidateObjectMembers]: the generated nested validator
        // reports "ClickHouse:BatchMin" and drops the custom messages; an operator needs the full key.
        var sync = new List<ValidationResult>();
        Validator.TryValidateObject(Sync, new ValidationContext(Sync), sync, validateAllProperties: true);
        if (sync.Count == 0)
        {
            sync.AddRange(Sync.Validate(new ValidationContext(Sync)));
        }

        foreach (var result in sync)
        {
            yield return new ValidationResult(result.ErrorMessage, [.. result.MemberNames.Select(name => $"{nameof(Sync)}:{name}")]);
        }

        // By design an empty value is "unset", as for Redis:Connection: a compose file's `TRADESTORE__CLICKHOUSE__URL: ${CH_URL:-}`
        // turns the sink off. Only blanks are refused: they are a mistake, not a choice.
        if (string.IsNullOrEmpty(Url))
        {
            yield break;
        }

        if (string.IsNullOrWhiteSpace(Url))
        {
            yield return new ValidationResult("is blank; leave it unset (or empty) to disable ClickHouse.", [nameof(Url)]);
            yield break;
        }

        if (!Uri.TryCreate(Url, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
        {
            yield return new ValidationResult($"must be an absolute http:// or https:// address, got '{Url}'.", [nameof(Url)]);
        }
    }
}
