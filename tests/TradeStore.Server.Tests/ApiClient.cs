using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace TradeStore.Server.Tests;

/// <summary>One answer of the API: status, headers and the parsed JSON body (default when there is none).</summary>
internal sealed record ApiAnswer(HttpStatusCode Status, JsonElement Body, HttpResponseHeaders Headers, string? ContentType, string Raw)
{
    public int Code => (int)Status;

    public string? Field => Body.ValueKind == JsonValueKind.Object && Body.TryGetProperty("field", out var f) ? f.GetString() : null;

    public string? ProblemType => Body.ValueKind == JsonValueKind.Object && Body.TryGetProperty("type", out var t) ? t.GetString() : null;

    public long Version => Body.GetProperty("version").GetInt64();

    /// <summary>
    /// A query interrupted at <c>Security:Query:Timeout</c>: 422 <c>query-timeout</c>, or 503 <c>query-starved</c> when
    /// it waited for a CPU for half of it, which a machine busy with other tests can cause (QueryStarvationTests).
    /// </summary>
    public bool InterruptedAtQueryTimeout =>
        (Code == 422 && ProblemType == "urn:tradestore:problem:query-timeout") || (Code == 503 && ProblemType == "urn:tradestore:problem:query-starved");

    /// <summary>The raw JSON text of a property, to compare decimals exactly as sent on the wire.</summary>
    public string RawOf(string property) => Body.GetProperty(property).GetRawText();
}

/// <summary>Sends raw JSON text (so tests control every byte, including malformed input) and parses the answer.</summary>
internal sealed class ApiClient(HttpClient http)
{
    public const string Json = "application/json";

    public Task<ApiAnswer> GetAsync(string path) => SendAsync(HttpMethod.Get, path);

    public Task<ApiAnswer> PostAsync(string path, string? body, string contentType = Json, string? idempotencyKey = null) =>
        SendAsync(HttpMethod.Post, path, body, contentType, idempotencyKey);

    public Task<ApiAnswer> DeleteAsync(string path, string? idempotencyKey = null) => SendAsync(HttpMethod.Delete, path, idempotencyKey: idempotencyKey);

    public static string CreateBody(string tradeId, string quantity = "100", string price = "10.5", string account = "ACC-1", string symbol = "AAPL", string side = "buy", string extra = "") =>
        $$"""{"tradeId":"{{tradeId}}","account":"{{account}}","symbol":"{{symbol}}","side":"{{side}}","quantity":{{quantity}},"price":{{price}}{{extra}}}""";

    public async Task<ApiAnswer> CreateAsync(string tradeId, string quantity = "100", string price = "10.5", string account = "ACC-1", string symbol = "AAPL", string side = "buy", string extra = "")
    {
        var answer = await PostAsync("/v1/trades", CreateBody(tradeId, quantity, price, account, symbol, side, extra));
        Assert.True(answer.Status == HttpStatusCode.Created, answer.Raw);
        return answer;
    }

    /// <summary>The events of the trade's history, every page followed; 0 when it is not found.</summary>
    public async Task<int> HistoryCountAsync(string tradeId)
    {
        var count = 0;
        string? cursor = null;
        do
        {
            var answer = await GetAsync($"/v1/trades/{tradeId}/history" + (cursor is null ? "" : "?cursor=" + Uri.EscapeDataString(cursor)));
            if (answer.Status == HttpStatusCode.NotFound)
            {
                return 0;
            }

            count += answer.Body.GetProperty("items").GetArrayLength();
            cursor = answer.Body.GetProperty("nextCursor").GetString();
        }
        while (cursor is not null);

        return count;
    }

    public async Task<ApiAnswer> SendAsync(HttpMethod method, string path, string? body = null, string contentType = Json, string? idempotencyKey = null)
    {
        using var request = new HttpRequestMessage(method, path);
        if (body is not null)
        {
            request.Content = new ByteArrayContent(Encoding.UTF8.GetBytes(body));
            request.Content.Headers.TryAddWithoutValidation("Content-Type", contentType);
        }

        if (idempotencyKey is not null)
        {
            request.Headers.Add("Idempotency-Key", idempotencyKey);
        }

        return await SendAsync(request);
    }

    /// <summary>Sends a request built by the caller (headers this client does not set itself) and reads the answer.</summary>
    public async Task<ApiAnswer> SendAsync(HttpRequestMessage request)
    {
        using var response = await http.SendAsync(request, TestContext.Current.CancellationToken);
        var raw = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        var json = raw.Length == 0 || response.Content.Headers.ContentType?.MediaType?.Contains("json", StringComparison.Ordinal) != true ? default : JsonDocument.Parse(raw).RootElement.Clone();
        return new ApiAnswer(response.StatusCode, json, response.Headers, response.Content.Headers.ContentType?.MediaType, raw);
    }
}
