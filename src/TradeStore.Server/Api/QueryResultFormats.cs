using Microsoft.AspNetCore.Http;

namespace TradeStore.Server.Api;

/// <summary>
/// Content negotiation of <c>POST /v1/query</c>: <c>Accept: application/vnd.apache.arrow.stream</c> answers an Arrow IPC
/// stream, <c>application/vnd.apache.parquet</c> a Parquet file, <c>text/csv</c> CSV, <c>application/json</c> or anything
/// else JSON. Every format is a <see cref="QueryResultWriter"/> run by the same <see cref="QueryRunner"/>, under the same limits.
/// </summary>
public static class QueryResultFormats
{
    /// <summary>
    /// A new writer (it holds one answer's state) for the format the caller prefers (RFC 9110 §12.5.1): of the formats
    /// the <c>Accept</c> header names, the one with the highest <c>q</c> (the first listed on a tie), never one with
    /// <c>q=0</c>; JSON when it names none of them, wildcards included.
    /// </summary>
    public static QueryResultWriter WriterFor(HttpRequest request)
    {
        var preferred = request.GetTypedHeaders().Accept
            .Where(accept => accept.Quality is not 0)
            .Select((accept, order) => (Create: Writer(accept.MediaType.Value), Quality: accept.Quality ?? 1, Order: order))
            .Where(candidate => candidate.Create is not null)
            .OrderByDescending(candidate => candidate.Quality)
            .ThenBy(candidate => candidate.Order)
            .Select(candidate => candidate.Create)
            .FirstOrDefault();
        return preferred?.Invoke() ?? new JsonQueryResultWriter();
    }

    private static Func<QueryResultWriter>? Writer(string? mediaType) => mediaType?.ToLowerInvariant() switch
    {
        ArrowQueryResultWriter.MediaType => () => new ArrowQueryResultWriter(),
        ParquetQueryResultWriter.MediaType => () => new ParquetQueryResultWriter(),
        "text/csv" => () => new CsvQueryResultWriter(),
        "application/json" => () => new JsonQueryResultWriter(),
        _ => null,
    };
}
