using System.Buffers;
using TradeStore.Storage.Query;

namespace TradeStore.Server.Api;

/// <summary>The limits every <c>POST /v1/query</c> answer is held to, whatever its format (<c>Security:Query</c>).</summary>
/// <param name="MaxRows">Most rows written.</param>
/// <param name="MaxResultBytes">Most bytes of the body: rows stop before it would pass this.</param>
/// <param name="Timeout">How long the caller waits for the answer; the query is interrupted then.</param>
/// <param name="MaxMemory">How much the process may grow while a query runs before it is interrupted.</param>
public sealed record QueryLimits(int MaxRows, long MaxResultBytes, TimeSpan Timeout, long MaxMemory);

/// <summary>Why an answer holds fewer rows than the query produced.</summary>
public enum QueryTruncation
{
    None,

    /// <summary>It reached <see cref="QueryLimits.MaxRows"/>.</summary>
    Rows,

    /// <summary>The next row would have passed <see cref="QueryLimits.MaxResultBytes"/>.</summary>
    Bytes,
}

/// <summary>A written answer: its body, how many rows it holds, and whether (and why) rows were left out.</summary>
public sealed record QueryOutput(ReadOnlyMemory<byte> Body, string ContentType, int RowCount, QueryTruncation Truncation);

/// <summary>
/// Writes a query's rows in one format. The row and byte limits are applied here, once for every format, while the
/// rows stream from DuckDB: each row is written on its own and kept only if the body stays within
/// <see cref="QueryLimits.MaxResultBytes"/>. A format (JSON, CSV, later Arrow or Parquet) supplies the header, a row and
/// the footer. The body is built in memory, bounded by the limit, so a failure on a late row is still answered as a problem.
/// </summary>
public abstract class QueryResultWriter
{
    /// <summary>The <c>Content-Type</c> of the body.</summary>
    public abstract string ContentType { get; }

    /// <summary>Writes the header, as many rows as the limits allow, and the footer.</summary>
    public QueryOutput Write(QueryRows rows, QueryLimits limits)
    {
        var body = new ArrayBufferWriter<byte>();
        var row = new ArrayBufferWriter<byte>();
        WriteHeader(body, rows.Columns);
        var count = 0;
        var truncation = QueryTruncation.None;
        while (rows.Read())
        {
            if (count == limits.MaxRows)
            {
                truncation = QueryTruncation.Rows;
                break;
            }

            row.ResetWrittenCount();
            WriteRow(row, rows, count);
            if (body.WrittenCount + row.WrittenCount > limits.MaxResultBytes)
            {
                truncation = QueryTruncation.Bytes;
                break;
            }

            body.Write(row.WrittenSpan);
            count++;
        }

        WriteFooter(body, count, truncation);
        return new QueryOutput(body.WrittenMemory, ContentType, count, truncation);
    }

    /// <summary>What comes before the rows (column names and types).</summary>
    protected abstract void WriteHeader(IBufferWriter<byte> output, IReadOnlyList<QueryColumn> columns);

    /// <summary>One row, with whatever separates it from the row before (<paramref name="index"/> &gt; 0).</summary>
    protected abstract void WriteRow(IBufferWriter<byte> output, QueryRows rows, int index);

    /// <summary>What comes after the rows.</summary>
    protected abstract void WriteFooter(IBufferWriter<byte> output, int rowCount, QueryTruncation truncation);
}
