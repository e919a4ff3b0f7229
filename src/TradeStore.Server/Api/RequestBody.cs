using System.Buffers;
using System.IO.Pipelines;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;

namespace TradeStore.Server.Api;

/// <summary>What kind of body a request carries.</summary>
public enum BodyFormat
{
    /// <summary>No body at all (allowed only where the endpoint says so).</summary>
    Empty,

    /// <summary><c>application/json</c> (or a <c>+json</c> type).</summary>
    Json,

    /// <summary><c>application/x-ndjson</c>: one JSON value per line.</summary>
    NdJson,
}

/// <summary>
/// Reads a request body into memory under <c>Api:MaxRequestBodyBytes</c>, after checking its media type.
/// By design the limit is enforced while reading, not only from <c>Content-Length</c>, so a chunked upload
/// cannot grow past it either.
/// </summary>
public static class RequestBody
{
    private static ReadOnlySpan<byte> ByteOrderMark => [0xEF, 0xBB, 0xBF];

    /// <summary>The body and its format, or the problem that refuses the request (415 or 413).</summary>
    public static async Task<(byte[] Body, BodyFormat Format, ApiProblem? Problem)> ReadAsync(HttpContext context, int limit, bool allowNdJson)
    {
        var request = context.Request;
        if (request.ContentLength > limit)
        {
            return ([], BodyFormat.Empty, Problems.PayloadTooLarge(limit));
        }

        var format = FormatOf(request.ContentType, allowNdJson);
        if (!MayHaveBody(context))
        {
            return ([], BodyFormat.Empty, null);
        }

        if (format is null)
        {
            return ([], BodyFormat.Empty, Problems.UnsupportedMediaType(request.ContentType, allowNdJson ? "application/json or application/x-ndjson" : "application/json"));
        }

        if (Encoded(request.Headers.ContentEncoding) is { } encoding)
        {
            return ([], BodyFormat.Empty, Problems.UnsupportedContentEncoding(encoding));
        }

        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } sizeFeature)
        {
            // Our own limit applies below; lift the server's default (30 MB) so it never answers first with a bare 413.
            // A chunked body gets no server limit at all: Kestrel counts its framing (each chunk's size line and CRLFs),
            // so limit + 1 refused bodies below the limit (2,048 bytes in 64-byte chunks at a 2,048 limit). The read
            // below stops at limit + 1 bytes of the body itself, and Kestrel drains what is left for at most 5 s.
            sizeFeature.MaxRequestBodySize = request.ContentLength is null ? null : limit + 1L;
        }

        try
        {
            var body = await ReadLimitedAsync(request.BodyReader, limit, context.RequestAborted);
            if (body is null)
            {
                return ([], BodyFormat.Empty, Problems.PayloadTooLarge(limit));
            }

            // By design refused with its name, not as "'0xEF' is an invalid start of a value": editors on Windows write one.
            return body.AsSpan().StartsWith(ByteOrderMark)
                ? ([], BodyFormat.Empty, Problems.ByteOrderMark())
                : (body, body.Length == 0 ? BodyFormat.Empty : format.Value, null);
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return ([], BodyFormat.Empty, Problems.PayloadTooLarge(limit));
        }
    }

    /// <summary>False when the request declares no body (<c>Content-Length: 0</c>, or neither a length nor chunked encoding).</summary>
    private static bool MayHaveBody(HttpContext context) => context.Request.ContentLength switch
    {
        0 => false,
        > 0 => true,
        _ => context.Features.Get<IHttpRequestBodyDetectionFeature>()?.CanHaveBody ?? true,
    };

    /// <summary>
    /// The <c>Content-Encoding</c> that the body was sent in, or <see langword="null"/> when none (or <c>identity</c>):
    /// bodies are read as they arrive, so a compressed one would otherwise be refused as malformed JSON.
    /// </summary>
    private static string? Encoded(StringValues contentEncoding)
    {
        foreach (var value in contentEncoding)
        {
            foreach (var coding in (value ?? "").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            {
                if (!coding.Equals("identity", StringComparison.OrdinalIgnoreCase))
                {
                    return coding;
                }
            }
        }

        return null;
    }

    private static BodyFormat? FormatOf(string? contentType, bool allowNdJson)
    {
        if (!MediaTypeHeaderValue.TryParse(contentType, out var media))
        {
            return null;
        }

        if (media.Charset.HasValue && !media.Charset.Equals("utf-8", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        if (media.MediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase) || media.Suffix.Equals("json", StringComparison.OrdinalIgnoreCase))
        {
            return BodyFormat.Json;
        }

        return allowNdJson && media.MediaType.Equals("application/x-ndjson", StringComparison.OrdinalIgnoreCase) ? BodyFormat.NdJson : null;
    }

    /// <summary>The whole body, or <see langword="null"/> as soon as it passes <paramref name="limit"/> bytes.</summary>
    private static async Task<byte[]?> ReadLimitedAsync(PipeReader reader, int limit, CancellationToken cancellationToken)
    {
        while (true)
        {
            var result = await reader.ReadAsync(cancellationToken);
            var buffer = result.Buffer;
            if (buffer.Length > limit)
            {
                reader.AdvanceTo(buffer.Start, buffer.End);
                return null;
            }

            if (result.IsCompleted)
            {
                var body = buffer.ToArray();
                reader.AdvanceTo(buffer.End);
                return body;
            }

            // Keep everything buffered until the end: examined but not consumed.
            reader.AdvanceTo(buffer.Start, buffer.End);
        }
    }
}
