using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Apache.Arrow;
using Apache.Arrow.Ipc;
using TradeStore.Server.Api;

namespace TradeStore.Server.Tests;

/// <summary>
/// <c>POST /v1/query</c> answers larger than <see cref="StreamingQueryBody.StreamAfterBytes"/> are sent while DuckDB
/// produces them; the row limit still holds and says so in the answer, and a failure after the first byte ends the answer
/// with the format's error mark and leaves it an invalid document, never a complete-looking partial answer.
/// </summary>
public sealed class StreamedQueryTests : ApiTestBase
{
    private const int MaxRows = 500_000;

    // ~40 bytes of JSON per row: 500,000 rows are ~20 MB, far past the 1 MiB held before streaming.
    private const string Rows = "SELECT range AS n, 'streamed-row-padding' AS pad FROM range(600000)";

    // Fails at row 480,000 (within the row limit). Before it come more segments (JSON: ~19 of 1 MiB; Arrow: 7 batches of
    // 65,536 rows) than StreamingQueryBody.QueueSegments, so the query must wait for the answer to be sent: the failure
    // comes after the first byte, whatever the machine's speed.
    private const string FailsLate = "SELECT CASE WHEN range = 480000 THEN error('late failure') ELSE range END AS n, 'streamed-row-padding' AS pad FROM range(600000)";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    protected override Dictionary<string, string> Environment => new()
    {
        ["TRADESTORE__SECURITY__QUERY__MAXROWS"] = MaxRows.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["TRADESTORE__SECURITY__QUERY__MAXRESULTBYTES"] = (256L << 20).ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["TRADESTORE__SECURITY__QUERY__TIMEOUT"] = "00:02:00",
    };

    [Fact]
    public async Task Query_JsonPastStreamThreshold_StreamedWithEveryRowUpToMaxRowsAndTruncatedFooter()
    {
        var (response, length, body) = await PostAsync(Rows, "application/json");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Null(length); // sent as it was produced, not held whole
        Assert.False(response.Headers.Contains("X-Truncated")); // decided after the headers: the footer says it
        using var document = JsonDocument.Parse(body);
        var root = document.RootElement;
        Assert.Equal(MaxRows, root.GetProperty("rowCount").GetInt32());
        Assert.True(root.GetProperty("truncated").GetBoolean());
        Assert.Equal("rows", root.GetProperty("truncatedBy").GetString());
        var rows = root.GetProperty("rows");
        Assert.Equal(MaxRows, rows.GetArrayLength());
        Assert.Equal(MaxRows - 1, rows[MaxRows - 1][0].GetInt64());
    }

    /// <summary>A streamed answer's headers leave with its first segment: <c>TradeStore-Applied-Seq</c> is among them.</summary>
    [Fact]
    public async Task Query_StreamedAfterWrites_CarriesAppliedSeqHeader()
    {
        await Api.CreateAsync("SQ-1");
        var written = await Api.CreateAsync("SQ-2");

        var (response, length, _) = await PostAsync(Rows, "application/json");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Null(length); // streamed
        Assert.Equal(written.Headers.GetValues("TradeStore-Seq").Single(), response.Headers.GetValues("TradeStore-Applied-Seq").Single());
    }

    [Fact]
    public async Task Query_ArrowPastStreamThreshold_EveryRowUpToMaxRowsThenTruncatedMark()
    {
        var (response, length, body) = await PostAsync(Rows, ArrowQueryResultWriter.MediaType);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Null(length);
        var (numbers, lastBatchLength) = await ReadArrowAsync(body);
        Assert.Equal(Enumerable.Range(0, MaxRows).Select(i => (long)i), numbers);
        Assert.Equal(0, lastBatchLength); // the mark: an empty batch ...
        Assert.True(Contains(body, "tradestore.truncated") && Contains(body, "rows")); // ... whose message says why
    }

    [Fact]
    public async Task Query_AnswerWithinStreamThreshold_HeldWholeWithContentLengthAndTruncatedHeader()
    {
        var (response, length, body) = await PostAsync("SELECT range AS n FROM range(10)", ArrowQueryResultWriter.MediaType);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(body.Length, length);
        Assert.Equal("false", response.Headers.GetValues("X-Truncated").Single());
        Assert.Equal(Enumerable.Range(0, 10).Select(i => (long)i), (await ReadArrowAsync(body)).Numbers);
    }

    [Fact]
    public async Task Query_JsonFailsAfterStreamStarted_EndsWithErrorMarkAndIsNotValidJson()
    {
        var (response, _, body) = await PostAsync(FailsLate, "application/json");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode); // sent before the failure
        Assert.ThrowsAny<JsonException>(() => JsonDocument.Parse(body));
        var text = Encoding.UTF8.GetString(body);
        var mark = text.LastIndexOf("],\"error\":", StringComparison.Ordinal);
        Assert.True(mark > StreamingQueryBody.StreamAfterBytes, text[^Math.Min(300, text.Length)..]);
        using var problem = JsonDocument.Parse(text[(mark + "],\"error\":".Length)..]);
        Assert.Equal("urn:tradestore:problem:query-rejected", problem.RootElement.GetProperty("type").GetString());
        Assert.Contains("late failure", problem.RootElement.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal("sql", problem.RootElement.GetProperty("field").GetString());
    }

    [Fact]
    public async Task Query_ArrowFailsAfterStreamStarted_ErrorMarkAndArrowReaderFails()
    {
        var (response, _, body) = await PostAsync(FailsLate, ArrowQueryResultWriter.MediaType);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.True(Contains(body, "tradestore.error") && Contains(body, "late failure"));
        await Assert.ThrowsAnyAsync<Exception>(() => ReadArrowAsync(body));
    }

    [Fact]
    public async Task Query_FailsBeforeStreamThreshold_ProblemJsonAsBefore()
    {
        var (response, _, body) = await PostAsync("SELECT CASE WHEN range = 5000 THEN error('early failure') ELSE range END AS n FROM range(10000)", ArrowQueryResultWriter.MediaType);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("early failure", Encoding.UTF8.GetString(body), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Query_ParquetPastStreamThreshold_EveryRowUpToMaxRowsAndTruncatedInTheFooter()
    {
        var (response, length, body) = await PostAsync(Rows, ParquetQueryResultWriter.MediaType);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Null(length);
        await using var reader = await Parquet.ParquetReader.CreateAsync(new MemoryStream(body), cancellationToken: Ct);
        var rows = 0L;
        for (var group = 0; group < reader.RowGroupCount; group++)
        {
            using var groupReader = reader.OpenRowGroupReader(group);
            rows += groupReader.RowCount;
        }

        Assert.Equal(MaxRows, rows);
        Assert.Equal("rows", reader.CustomMetadata[ParquetQueryResultWriter.TruncatedKey]);
    }

    [Fact]
    public async Task Query_CsvPastStreamThreshold_HeldWholeWithTruncatedHeader()
    {
        var (response, length, body) = await PostAsync(Rows, "text/csv");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(body.Length, length);
        Assert.Equal("true", response.Headers.GetValues("X-Truncated").Single());
        Assert.Equal(MaxRows + 1, Encoding.UTF8.GetString(body).Split("\r\n", StringSplitOptions.RemoveEmptyEntries).Length);
    }

    /// <summary>The answer, its <c>Content-Length</c> as sent (read before the body: after it, .NET fills it in), and its body.</summary>
    private async Task<(HttpResponseMessage Response, long? ContentLength, byte[] Body)> PostAsync(string sql, string accept)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/query") { Content = new StringContent(JsonSerializer.Serialize(new { sql }), Encoding.UTF8, "application/json") };
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(accept));
        var response = await Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, Ct);
        var length = response.Content.Headers.ContentLength;
        var body = await response.Content.ReadAsByteArrayAsync(Ct);
        return (response, length, body);
    }

    private static async Task<(List<long> Numbers, int LastBatchLength)> ReadArrowAsync(byte[] body)
    {
        using var reader = new ArrowStreamReader(new MemoryStream(body));
        var numbers = new List<long>();
        var last = -1;
        while (await reader.ReadNextRecordBatchAsync(Ct) is { } batch)
        {
            using (batch)
            {
                numbers.AddRange(((Int64Array)batch.Column("n")).Values.ToArray());
                last = batch.Length;
            }
        }

        return (numbers, last);
    }

    private static bool Contains(byte[] body, string text) => body.AsSpan().IndexOf(Encoding.UTF8.GetBytes(text)) >= 0;
}

/// <summary>
/// <see cref="StreamingQueryBody"/>'s contract with the endpoint: once an answer has passed the threshold every byte
/// goes through the segments, also when the query finishes before anyone reads them; below it every byte is held.
/// </summary>
public sealed class StreamingQueryBodyTests : IDisposable
{
    private readonly TradeStore.TestSupport.TempDirectory _directory = new("streaming-body");
    private readonly TradeStore.Storage.DuckDbDatabase _database;
    private readonly QueryRunner _runner;

    public StreamingQueryBodyTests()
    {
        _database = TradeStore.Storage.DuckDbDatabase.Open(_directory.DatabasePath);
        _runner = new QueryRunner(new TradeStore.Storage.Query.SqlSandbox(_database), new QueryLimits(1_000_000, 1L << 30, TimeSpan.FromMinutes(2), 1L << 40), 1, TimeProvider.System);
    }

    public void Dispose()
    {
        _runner.Dispose();
        _database.Dispose();
        _directory.Dispose();
    }

    [Fact]
    public async Task RunAsync_FinishedPastThresholdBeforeAnyRead_EveryByteInTheSegmentsInOrder()
    {
        // ~2.4 MB of JSON: past the 1 MiB threshold, within the queue's 4 segments, so the query finishes unread.
        const string sql = "SELECT range AS n, 'streamed-row-padding' AS pad FROM range(60000)";
        var whole = await _runner.RunAsync(sql, new JsonQueryResultWriter(), TestContext.Current.CancellationToken);
        var body = new StreamingQueryBody(mayStream: true);

        var result = await _runner.RunAsync(sql, new JsonQueryResultWriter(), body, TestContext.Current.CancellationToken);

        Assert.True(body.Streaming.IsCompleted);
        Assert.True(body.Held.IsEmpty);
        var sent = new List<byte>();
        await foreach (var segment in body.Segments.ReadAllAsync(TestContext.Current.CancellationToken))
        {
            sent.AddRange(segment.ToArray());
        }

        Assert.Equal(whole.Body.ToArray(), sent);
        Assert.Equal(60_000, result.RowCount);
    }

    [Fact]
    public async Task RunAsync_FormatThatMayNotStream_EveryByteHeld()
    {
        const string sql = "SELECT range AS n, 'streamed-row-padding' AS pad FROM range(60000)";
        var whole = await _runner.RunAsync(sql, new CsvQueryResultWriter(), TestContext.Current.CancellationToken);
        var body = new StreamingQueryBody(mayStream: false);

        await _runner.RunAsync(sql, new CsvQueryResultWriter(), body, TestContext.Current.CancellationToken);

        Assert.False(body.Streaming.IsCompleted);
        Assert.Equal(whole.Body.ToArray(), body.Held.ToArray());
    }
}
