using System.Buffers;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using TradeStore.Core.Trades;

namespace TradeStore.Server.Api;

/// <summary>
/// An answer whose body <see cref="TradeJson"/> writes straight into the response: a trade (reads and commands) or a
/// page of a list. The same status, content type and JSON as <c>Results.Json</c> with the response records.
/// </summary>
public sealed class TradeJsonResult : IResult, IStatusCodeHttpResult, IContentTypeHttpResult
{
    private const string JsonContentType = "application/json; charset=utf-8";

    /// <summary>By design one writer per thread, reset onto each response: writing is synchronous, and the writer was a sixth of a point read's bytes.</summary>
    [ThreadStatic]
    private static Utf8JsonWriter? t_json;

    /// <summary>By design one body buffer per thread, reused: the answer is complete before it is sent (see <see cref="ExecuteAsync"/>).</summary>
    [ThreadStatic]
    private static ArrayBufferWriter<byte>? t_body;

    /// <summary>Where an idle writer points: never written to.</summary>
    private static readonly ArrayBufferWriter<byte> Detached = new(1);

    /// <summary>A body buffer that grew past this (a long page) is dropped after use rather than kept by its thread.</summary>
    private const int KeptBodyBytes = 64 * 1024;

    private readonly Trade? _trade;
    private readonly TradePage? _page;
    private readonly int _status;

    private TradeJsonResult(Trade? trade, TradePage? page, int status) => (_trade, _page, _status) = (trade, page, status);

    public int? StatusCode => _status;

    public string ContentType => JsonContentType;

    /// <summary>A trade, as <see cref="TradeResponse"/>.</summary>
    public static TradeJsonResult Trade(Trade trade, int status = StatusCodes.Status200OK) => new(trade, null, status);

    /// <summary>A page of a list, as <see cref="TradePageResponse"/>.</summary>
    public static TradeJsonResult Page(TradePage page) => new(null, page, StatusCodes.Status200OK);

    /// <remarks>
    /// The JSON is written whole before the answer starts, so the answer carries its <c>Content-Length</c> and leaves in
    /// one send. Written straight into the response, it went out chunked: the body, then the closing chunk in a second
    /// send that the client had to wait for.
    /// </remarks>
    public Task ExecuteAsync(HttpContext httpContext)
    {
        var response = httpContext.Response;
        response.StatusCode = _status;
        response.ContentType = JsonContentType;
        var body = t_body ??= new ArrayBufferWriter<byte>(1024);
        var json = t_json ??= new Utf8JsonWriter(Detached, TradeJson.WriterOptions);
        json.Reset(body);
        try
        {
            if (_page is not null)
            {
                TradeJson.Write(json, _page);
            }
            else
            {
                TradeJson.Write(json, _trade!);
            }

            json.Flush();
            response.ContentLength = body.WrittenCount;
            response.BodyWriter.Write(body.WrittenSpan);
        }
        finally
        {
            // Not left pointing at this response once it is done.
            json.Reset(Detached);
            body.ResetWrittenCount();
            if (body.Capacity > KeptBodyBytes)
            {
                t_body = null;
            }
        }

        return response.BodyWriter.FlushAsync(httpContext.RequestAborted).AsTask();
    }
}
