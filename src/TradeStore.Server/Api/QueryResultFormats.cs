using Microsoft.AspNetCore.Http;
using TradeStore.Storage.Query;

namespace TradeStore.Server.Api;

/// <summary>
/// Content negotiation of <c>POST /v1/query</c> for the typed binary formats: <c>Accept: application/vnd.apache.arrow.stream</c>
/// answers an Arrow IPC stream, <c>Accept: application/vnd.apache.parquet</c> a Parquet file; anything else is left to the
/// JSON and CSV writers. The row limit and timeout have applied before this runs; <c>X-Truncated</c> says whether the
/// limit cut the result, as for CSV.
/// </summary>
public static class QueryResultFormats
{
    /// <summary>The binary answer the caller asked for, or <see langword="null"/> when it asked for none.</summary>
    public static IResult? Negotiate(HttpContext context, QueryResult result)
    {
        Func<Stream, QueryResult, CancellationToken, Task>? write = null;
        string? mediaType = null;
        foreach (var accept in context.Request.Headers.Accept)
        {
            if (accept is null)
            {
                continue;
            }

            if (accept.Contains(ArrowQueryResultWriter.MediaType, StringComparison.OrdinalIgnoreCase))
            {
                (write, mediaType) = (ArrowQueryResultWriter.WriteAsync, ArrowQueryResultWriter.MediaType);
                break;
            }

            if (accept.Contains(ParquetQueryResultWriter.MediaType, StringComparison.OrdinalIgnoreCase))
            {
                (write, mediaType) = (ParquetQueryResultWriter.WriteAsync, ParquetQueryResultWriter.MediaType);
                break;
            }
        }

        if (write is null)
        {
            return null;
        }

        context.Response.Headers["X-Truncated"] = result.Truncated ? "true" : "false";
        var aborted = context.RequestAborted;
        return Results.Stream(body => write(body, result, aborted), mediaType);
    }
}
