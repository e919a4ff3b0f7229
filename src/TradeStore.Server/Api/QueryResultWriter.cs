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
/// Writes a query's rows in one format. The row and byte limits are applied here, once for every format (JSON, CSV,
/// Arrow, Parquet), while the rows stream from DuckDB. Rows are written in chunks: a row format (JSON, CSV) makes each
/// row its own chunk, a columnar format (Arrow, Parquet) gathers rows into a record batch or row group of bounded size.
/// A chunk is kept only if the body stays within <see cref="QueryLimits.MaxResultBytes"/>; so a columnar answer stops at
/// the batch that would pass the limit, not at the exact row. The body is built in memory, bounded by the limit, so a
/// failure on a late row is still answered as a problem.
/// </summary>
public abstract class QueryResultWriter
{
    /// <summary>The <c>Content-Type</c> of the body.</summary>
    public abstract string ContentType { get; }

    /// <summary>
    /// Whether a chunk found too large can be left out after it was encoded. A format whose encoder remembers every
    /// chunk it wrote (Parquet's footer lists each row group) answers <see langword="false"/>: such a chunk is kept and
    /// the answer ends with it, so the format must close its chunks early enough (<see cref="IsChunkFull"/>).
    /// </summary>
    protected virtual bool CanDropChunk => true;

    /// <summary>Writes the header, as many rows as the limits allow, and the footer.</summary>
    public QueryOutput Write(QueryRows rows, QueryLimits limits)
    {
        var body = new ArrayBufferWriter<byte>();
        var chunk = new ArrayBufferWriter<byte>();
        WriteHeader(body, rows.Columns);
        var count = 0;
        var pending = 0;
        var truncation = QueryTruncation.None;
        while (rows.Read())
        {
            if (count + pending == limits.MaxRows)
            {
                truncation = QueryTruncation.Rows;
                break;
            }

            AddRow(chunk, rows, count + pending);
            pending++;
            if (IsChunkFull(pending, limits.MaxResultBytes - body.WrittenCount) && !Commit())
            {
                break;
            }
        }

        if (pending > 0)
        {
            Commit();
        }

        WriteFooter(body, count, truncation);
        return new QueryOutput(body.WrittenMemory, ContentType, count, truncation);

        // Ends the chunk and keeps it if the body stays within the byte limit; false when the answer must stop here.
        bool Commit()
        {
            EndChunk(chunk, pending);
            var fits = body.WrittenCount + chunk.WrittenCount <= limits.MaxResultBytes;
            if (!fits)
            {
                truncation = QueryTruncation.Bytes;
            }

            if (fits || !CanDropChunk)
            {
                body.Write(chunk.WrittenSpan);
                count += pending;
            }

            pending = 0;
            chunk.ResetWrittenCount();
            return fits;
        }
    }

    /// <summary>What comes before the rows (column names and types).</summary>
    protected abstract void WriteHeader(IBufferWriter<byte> output, IReadOnlyList<QueryColumn> columns);

    /// <summary>
    /// Adds the current row to the chunk: a row format writes it to <paramref name="chunk"/>, with whatever separates it
    /// from the row before (<paramref name="index"/> &gt; 0); a columnar format keeps it until <see cref="EndChunk"/>.
    /// </summary>
    protected abstract void AddRow(IBufferWriter<byte> chunk, QueryRows rows, int index);

    /// <summary>Whether the chunk of <paramref name="rows"/> rows is complete; <paramref name="bytesLeft"/> is what the byte limit still allows. One row by default.</summary>
    protected virtual bool IsChunkFull(int rows, long bytesLeft) => true;

    /// <summary>Writes what <see cref="AddRow"/> kept (a columnar format's batch) to <paramref name="chunk"/>, and forgets it.</summary>
    protected virtual void EndChunk(IBufferWriter<byte> chunk, int rows)
    {
    }

    /// <summary>What comes after the rows.</summary>
    protected abstract void WriteFooter(IBufferWriter<byte> output, int rowCount, QueryTruncation truncation);
}
