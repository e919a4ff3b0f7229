using Microsoft.AspNetCore.Http;

namespace TradeStore.Server.Api;

/// <summary>
/// Content negotiation of <c>POST /v1/query</c>: <c>Accept: application/vnd.apache.arrow.stream</c> answers an Arrow IPC
/// stream, <c>application/vnd.apache.parquet</c> a Parquet file, <c>text/csv</c> CSV, anything else JSON. Every format is a
/// <see cref="QueryResultWriter"/> run by the same <see cref="QueryRunner"/>, under the same limits.
/// </summary>
public static class QueryResultFormats
{
    /// <summary>A new writer (it holds one answer's state) for the format the caller asked for.</summary>
    public static QueryResultWriter WriterFor(HttpRequest request)
    {
        foreach (var accept in request.Headers.Accept)
        {
            if (accept is null)
            {
                continue;
            }

            if (accept.Contains(ArrowQueryResultWriter.MediaType, StringComparison.OrdinalIgnoreCase))
            {
                return new ArrowQueryResultWriter();
            }

            if (accept.Contains(ParquetQueryResultWriter.MediaType, StringComparison.OrdinalIgnoreCase))
            {
                return new ParquetQueryResultWriter();
            }

            if (accept.Contains("text/csv", StringComparison.OrdinalIgnoreCase))
            {
                return new CsvQueryResultWriter();
            }
        }

        return new JsonQueryResultWriter();
    }
}
