using System.ComponentModel.DataAnnotations;

namespace TradeStore.Core.Options;

/// <summary>
/// Limits of the HTTP API (section <c>Api</c>). Each one is answered with a precise 4xx when exceeded,
/// so a misbehaving client meets a clear refusal instead of exhausting memory or the writer queue.
/// </summary>
public sealed class ApiOptions : IValidatableObject
{
    public const string SectionName = "Api";

    /// <summary>Largest request body accepted, in bytes; a larger one gets 413.</summary>
    /// <value>Default 4 MiB: a full batch of 1,000 commands is about 200 KiB.</value>
    [Range(1024, 268_435_456, ErrorMessage = "must be between 1024 and 268435456 bytes.")]
    public int MaxRequestBodyBytes { get; set; } = 4 * 1024 * 1024;

    /// <summary>Most commands in one <c>POST /v1/trades/batch</c>; more gets 413.</summary>
    /// <value>Default 1,000.</value>
    [Range(1, 100_000, ErrorMessage = "must be between 1 and 100000.")]
    public int MaxBatchSize { get; set; } = 1000;

    /// <summary>Largest <c>limit</c> of <c>GET /v1/trades</c> and of a trade's history; a larger one gets 400.</summary>
    /// <value>Default 1,000.</value>
    [Range(1, 100_000, ErrorMessage = "must be between 1 and 100000.")]
    public int MaxPageSize { get; set; } = 1000;

    /// <summary>Page size of <c>GET /v1/trades</c> and of a trade's history when the request gives no <c>limit</c>.</summary>
    /// <value>Default 100.</value>
    [Range(1, 100_000, ErrorMessage = "must be between 1 and 100000.")]
    public int DefaultPageSize { get; set; } = 100;

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (DefaultPageSize > MaxPageSize)
        {
            yield return new ValidationResult($"must not exceed MaxPageSize ({MaxPageSize}), got {DefaultPageSize}.", [nameof(DefaultPageSize)]);
        }
    }
}
