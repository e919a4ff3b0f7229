using System.Text.Json;
using Microsoft.AspNetCore.Http;
using TradeStore.Core.Trades;

namespace TradeStore.Server.Api;

/// <summary>
/// Every refusal of the API as an RFC 7807 problem. The <c>type</c> URIs are stable identifiers
/// (<c>urn:tradestore:problem:…</c>) that clients may switch on; the README lists them.
/// </summary>
public static class Problems
{
    public const string ContentType = "application/problem+json";
    private const string TypePrefix = "urn:tradestore:problem:";
    private const int QueryStarvedRetryAfterSeconds = 5;

    /// <summary>By design a refused field is 400 (not 422) whether the rule is syntactic or depends on the trade's state: one status for "fix the request".</summary>
    public static ApiProblem Validation(string? field, string detail) => Make("validation", "Invalid request", StatusCodes.Status400BadRequest, detail, field);

    public static ApiProblem MalformedJson(string? field, string detail) => Make("malformed-json", "Malformed JSON", StatusCodes.Status400BadRequest, detail, field);

    /// <summary>A body that starts with the UTF-8 byte order mark, which a JSON text must not carry (RFC 8259 §8.1).</summary>
    public static ApiProblem ByteOrderMark() => MalformedJson("body",
        "The body starts with a UTF-8 byte order mark (bytes EF BB BF), which JSON text must not carry (RFC 8259, section 8.1): send it without one (save the file as UTF-8 without BOM).");

    public static ApiProblem UnknownProperty(string field) =>
        Make("unknown-property", "Unknown property", StatusCodes.Status400BadRequest, $"The property '{Echo(field)}' is not accepted here; JSON property names are camelCase and case-sensitive.", field);

    public static ApiProblem UnsupportedMediaType(string? contentType, string expected) =>
        Make("unsupported-media-type", "Unsupported media type", StatusCodes.Status415UnsupportedMediaType,
            $"Content-Type '{contentType ?? "(none)"}' is not accepted; send {expected}.", "Content-Type");

    public static ApiProblem UnsupportedContentEncoding(string encoding) =>
        Make("unsupported-media-type", "Unsupported media type", StatusCodes.Status415UnsupportedMediaType,
            $"Content-Encoding '{Echo(encoding)}' is not accepted: send the body uncompressed.", "Content-Encoding");

    public static ApiProblem PayloadTooLarge(long limit) =>
        Make("payload-too-large", "Request body too large", StatusCodes.Status413PayloadTooLarge,
            $"The request body exceeds the limit of {limit} bytes (Api:MaxRequestBodyBytes).", "body");

    public static ApiProblem BatchTooLarge(int count, int limit) =>
        Make("batch-too-large", "Too many commands in one batch", StatusCodes.Status413PayloadTooLarge,
            $"The batch holds {(count > limit ? count.ToString(System.Globalization.CultureInfo.InvariantCulture) : "more than " + limit)} commands; the limit is {limit} (Api:MaxBatchSize). Split it.", "body");

    public static ApiProblem UnreadableRequest(int status, string detail) => Make("unreadable-request", "Unreadable request", status, detail, "body");

    public static ApiProblem NotFound(string tradeId) => From(CommandError.NotFound(tradeId));

    /// <summary>
    /// No endpoint at this path: a distinct type, so a client never takes a mistyped path for a missing trade. An empty
    /// path is the asterisk form of <c>OPTIONS *</c>, which Kestrel hands on without one.
    /// </summary>
    public static ApiProblem UnknownEndpoint(string method, string path) =>
        Make("unknown-endpoint", "No such endpoint", StatusCodes.Status404NotFound,
            $"No endpoint answers {method} {(path.Length == 0 ? "*" : path)}; every endpoint is listed in /openapi/v1.json and at /docs/api/.", null);

    public static ApiProblem MethodNotAllowed(string method, string path, string? allowed) =>
        Make("method-not-allowed", "Method not allowed", StatusCodes.Status405MethodNotAllowed,
            $"{path} does not take {method}{(string.IsNullOrEmpty(allowed) ? "" : $"; it takes {allowed}")}.", null);

    public static ApiProblem Internal(string detail) =>
        Make("internal", "Internal error", StatusCodes.Status500InternalServerError, detail, null);

    public static ApiProblem Unauthorized(string detail) => Make("unauthorized", "Authentication required", StatusCodes.Status401Unauthorized, detail, "Authorization");

    public static ApiProblem Forbidden(string detail) => Make("forbidden", "Not allowed", StatusCodes.Status403Forbidden, detail, null);

    /// <summary>A scoped key tried to change a trade of, or create one in, an account outside its scope.</summary>
    public static ApiProblem AccountForbidden(string account) =>
        Make("forbidden", "Not allowed", StatusCodes.Status403Forbidden, $"This key may not write trades of account {account}.", "account");

    /// <summary>
    /// A scoped key asked for the trades, positions or changes of an account outside its scope. It named that account itself, and
    /// the answer is the same whether or not the account has trades, so nothing is revealed; its own accounts are named.
    /// </summary>
    public static ApiProblem AccountReadForbidden(string account, IReadOnlyList<string> readable) =>
        Make("forbidden", "Not allowed", StatusCodes.Status403Forbidden,
            $"This key may not read account {account}; it reads only {string.Join(", ", readable)}.", "account");

    public static ApiProblem TooManyRequests(int retryAfterSeconds) =>
        Make("too-many-requests", "Too many requests", StatusCodes.Status429TooManyRequests,
            $"Too many requests for this key or address (Security:RequestsPerSecond, Security:RequestBurst, Security:ConcurrentRequests); retry after {retryAfterSeconds} s.", null)
        with { RetryAfterSeconds = retryAfterSeconds };

    /// <summary>429 for a query over the server's <c>Security:Query:MaxConcurrent</c>, which every caller shares.</summary>
    public static ApiProblem TooManyQueries(int maxConcurrent, int retryAfterSeconds) =>
        Make("too-many-requests", "Too many requests", StatusCodes.Status429TooManyRequests,
            $"{maxConcurrent} queries are running on this server already (Security:Query:MaxConcurrent, shared by every caller); retry after {retryAfterSeconds} s.", null)
        with { RetryAfterSeconds = retryAfterSeconds };

    public static ApiProblem QueryRejected(string detail) => Make("query-rejected", "Query refused", StatusCodes.Status400BadRequest, detail, "sql");

    /// <summary>
    /// <c>POST /v1/query</c> while DuckDB failed for good (a FATAL error invalidated the database): a server fault, so
    /// <c>storage-failure</c> (500) as for a write the storage could not take, never the caller's <c>query-rejected</c>.
    /// </summary>
    public static ApiProblem QueryStorageFailure(string detail) =>
        Make("storage-failure", "Storage failure", StatusCodes.Status500InternalServerError, detail, null);

    public static ApiProblem QueryTimeout(TimeSpan timeout) =>
        Make("query-timeout", "Query timed out", StatusCodes.Status422UnprocessableEntity,
            $"The query ran longer than {timeout} (Security:Query:Timeout) and was interrupted; narrow it or aggregate.", "sql");

    /// <summary>By design 503 with <c>Retry-After</c>, not the query's 422: the query may be fine, the machine was busy.</summary>
    public static ApiProblem QueryStarved(TimeSpan timeout, TimeSpan ran, TimeSpan waited) =>
        Make("query-starved", "Too busy to run the query", StatusCodes.Status503ServiceUnavailable,
            $"The query reached its timeout of {timeout} (Security:Query:Timeout) and was interrupted, but it ran only {Milliseconds(ran)} of it and waited " +
            $"{Milliseconds(waited)} for a CPU: queries run at the lowest CPU priority, and writes or other processes kept every core of this node busy. " +
            $"Retry after {QueryStarvedRetryAfterSeconds} s, or on a quieter node.", null)
        with { RetryAfterSeconds = QueryStarvedRetryAfterSeconds };

    public static ApiProblem QueryDuckDbMemory(string duckDbMessage) =>
        Make("query-memory", "Query used too much memory", StatusCodes.Status422UnprocessableEntity,
            $"The query needed more than DuckDB's memory limit (Storage:DuckDbMemoryLimit) and was stopped; narrow it or aggregate. DuckDB said: {duckDbMessage}", "sql");

    public static ApiProblem QueryMemory(long maxMemory) =>
        Make("query-memory", "Query used too much memory", StatusCodes.Status422UnprocessableEntity,
            $"The query grew the server by more than {maxMemory} bytes (Security:Query:MaxMemory) and was interrupted; narrow it or aggregate.", "sql");

    /// <summary>The problem for a refused command, with the status its <see cref="CommandErrorKind"/> maps to.</summary>
    public static ApiProblem From(CommandError error) => error.Kind switch
    {
        CommandErrorKind.Validation => Validation(error.Field, error.Message),
        CommandErrorKind.NotFound => Make("not-found", "Trade not found", StatusCodes.Status404NotFound, error.Message, error.Field),
        CommandErrorKind.AlreadyExists => Make("already-exists", "Trade already exists", StatusCodes.Status409Conflict, error.Message, error.Field, error.CurrentVersion),
        CommandErrorKind.VersionConflict => Make("version-conflict", "Version conflict", StatusCodes.Status409Conflict, error.Message, error.Field ?? "expectedVersion", error.CurrentVersion),
        CommandErrorKind.InvalidTransition => Make("invalid-transition", "Not allowed in the trade's status", StatusCodes.Status409Conflict, error.Message, error.Field, error.CurrentVersion),
        CommandErrorKind.Busy => Make("busy", "Server busy", StatusCodes.Status503ServiceUnavailable, error.Message, error.Field) with { RetryAfterSeconds = BusyRetryAfterSeconds },
        CommandErrorKind.Unavailable => Make("unavailable", "Service unavailable", StatusCodes.Status503ServiceUnavailable, error.Message, error.Field),
        CommandErrorKind.IdempotencyKeyReused => Make("idempotency-key-reused", "Idempotency key reused", StatusCodes.Status422UnprocessableEntity, error.Message, error.Field),
        CommandErrorKind.ReplicationUnavailable => Make("replication-unavailable", "Replication unavailable", StatusCodes.Status503ServiceUnavailable, error.Message, error.Field)
            with { RetryAfterSeconds = Cluster.ClusterProblems.RetryAfterSeconds },
        CommandErrorKind.StorageFailure => Make("storage-failure", "Storage failure", StatusCodes.Status500InternalServerError, error.Message, error.Field),
        CommandErrorKind.InDoubt => Internal(error.Message),
        _ => Internal(error.Message),
    };

    /// <summary>Seconds a client should wait after <see cref="CommandErrorKind.Busy"/> (the <c>Retry-After</c> header).</summary>
    public const int BusyRetryAfterSeconds = 1;

    /// <summary>
    /// Translates a serializer failure into a problem naming the property (from the JSON path) and the position: in the
    /// body (<see cref="JsonPosition.InBody"/>), in the one line of NDJSON the text came from (<see cref="JsonPosition.InLine"/>),
    /// or none for an item of a JSON array, whose position the serializer counts from the item and not from the body.
    /// </summary>
    public static ApiProblem FromJson(JsonException ex, JsonPosition at = JsonPosition.InBody)
    {
        var field = FieldOf(ex.Path);
        var message = ex.Message;
        // The serializer appends where it stopped (" Path: … | LineNumber: … | BytePositionInLine: …", or the reader's
        // " LineNumber: …" alone); the problem says it once, in its own words, from the exception's properties.
        foreach (var tail in (ReadOnlySpan<string>)[" Path: ", " LineNumber: "])
        {
            var cut = message.IndexOf(tail, StringComparison.Ordinal);
            if (cut >= 0)
            {
                message = message[..cut];
            }
        }

        if (message.Contains("could not be mapped to any .NET member", StringComparison.Ordinal) && field is not null)
        {
            return UnknownProperty(field);
        }

        var position = (at, ex.LineNumber) switch
        {
            (JsonPosition.InBody, { } line) => $" (line {line + 1}, byte {ex.BytePositionInLine + 1})",
            (JsonPosition.InLine, not null) => $" (byte {ex.BytePositionInLine + 1})",
            _ => "",
        };
        if (message.StartsWith("Duplicate property", StringComparison.Ordinal) && field is not null)
        {
            return MalformedJson(field, $"The property '{Echo(field)}' appears more than once{position}.");
        }

        if (ex.InnerException is null && field is not null && !message.StartsWith("The JSON value", StringComparison.Ordinal))
        {
            // Our converters' words: "has more than 8 decimal places…".
            return Validation(field, $"{field} {message}");
        }

        if (NotUnicode(ex.InnerException) is { } why)
        {
            // Not the wrong type: wrong text, which System.Text.Json will not read into a string and the journal's UTF-8 cannot hold.
            return MalformedJson(field ?? "body", $"{field ?? "The body"} is not valid Unicode{position}: {why}");
        }

        if (field is not null && message.StartsWith("The JSON value could not be converted", StringComparison.Ordinal))
        {
            return MalformedJson(field, $"{field} has the wrong JSON type{position}: expected {Expected(field)}.");
        }

        if (field is null && message.StartsWith("The JSON value could not be converted", StringComparison.Ordinal))
        {
            return Validation("body", "The body must be a JSON object.");
        }

        if (message.StartsWith("The input does not contain any JSON tokens", StringComparison.Ordinal))
        {
            // Only whitespace: System.Text.Json's own words end in "when isFinalBlock is true", which means nothing to a client.
            return MalformedJson(field ?? "body", $"The body holds no JSON value{position}: send a JSON object{(at == JsonPosition.InBody ? ", or no body where none is needed" : "")}.");
        }

        // A field always: the property where reading stopped, else the body as a whole (trailing garbage, an unclosed object).
        return MalformedJson(field ?? "body", $"The body is not valid JSON{position}: {message}");
    }

    /// <summary>
    /// Why a JSON string could not be read as text, or <see langword="null"/> when <paramref name="error"/> is about something
    /// else. System.Text.Json says so only in the words of an <see cref="InvalidOperationException"/>: an escape that is half
    /// of a surrogate pair (<c>"\ud800"</c>: "Cannot read invalid UTF-16 JSON text…", "Cannot read incomplete UTF-16 JSON
    /// text…"), which JSON's grammar lets through, or bytes that are not UTF-8 ("Cannot transcode invalid UTF-8 JSON text…").
    /// </summary>
    public static string? NotUnicode(Exception? error) => error switch
    {
        InvalidOperationException { Message: var inner } when inner.Contains("UTF-16 JSON text", StringComparison.Ordinal) =>
            "it holds a lone UTF-16 surrogate (an escape \\uD800-\\uDFFF without its pair). Send the character itself, or both halves of its surrogate pair.",
        InvalidOperationException { Message: var inner } when inner.Contains("invalid UTF-8", StringComparison.Ordinal) =>
            "it holds bytes that are not UTF-8. Send the body as UTF-8 text.",
        _ => null,
    };

    /// <summary>
    /// The last property name of a JSON path: <c>$.quantity</c> → <c>quantity</c>, <c>$['a b']</c> → <c>a b</c>,
    /// <c>$['a[']</c> → <c>a[</c>; <see langword="null"/> when the path ends in an array index or cannot be read.
    /// A name holding metacharacters is bracketed by System.Text.Json (<c>$['x']']</c> for <c>x']</c>), so the path
    /// is read from the start, never by searching backwards.
    /// </summary>
    public static string? FieldOf(string? path)
    {
        if (string.IsNullOrEmpty(path) || path[0] != '$')
        {
            return null;
        }

        string? last = null;
        var i = 1;
        while (i < path.Length)
        {
            if (path[i] == '.')
            {
                var end = path.IndexOfAny(['.', '['], i + 1);
                end = end < 0 ? path.Length : end;
                last = path[(i + 1)..end];
                i = end;
            }
            else if (path[i] == '[' && i + 1 < path.Length && path[i + 1] == '\'')
            {
                var j = i + 2;
                // The name ends at a "']" followed by the end or the next segment: older runtimes leave a "'" in it unescaped.
                while (j < path.Length && !(path[j] == '\'' && j + 1 < path.Length && path[j + 1] == ']' && (j + 2 == path.Length || path[j + 2] is '.' or '[')))
                {
                    j++;
                }

                if (j >= path.Length)
                {
                    return null;
                }

                last = path[(i + 2)..j];
                i = j + 2;
            }
            else if (path[i] == '[')
            {
                var end = path.IndexOf(']', i);
                if (end < 0)
                {
                    return null;
                }

                last = null;
                i = end + 1;
            }
            else
            {
                return null;
            }
        }

        return last;
    }

    private static string Expected(string field) => field switch
    {
        "quantity" or "price" => "a decimal number (JSON number or string)",
        "expectedVersion" => "a whole number from 1 to 9223372036854775807 (the trade's current version)",
        "executedAt" => "an ISO 8601 time string with a zone",
        _ => "a string",
    };

    private static string Milliseconds(TimeSpan time) => $"{time.TotalMilliseconds.ToString("0", System.Globalization.CultureInfo.InvariantCulture)} ms";

    private static ApiProblem Make(string slug, string title, int status, string detail, string? field, long? currentVersion = null) =>
        new(TypePrefix + slug, title, status, detail, field is null ? null : Echo(field), currentVersion);

    /// <summary>Longest name of the caller's (a property, a query parameter) an answer repeats; a longer one is cut, with "…".</summary>
    public const int MaxEcho = 100;

    /// <summary>
    /// <paramref name="name"/> as an answer repeats it: whole up to <see cref="MaxEcho"/> characters, else cut there (never
    /// inside a surrogate pair) with "…". A megabyte-long property name is the caller's typo, not something to send back twice.
    /// </summary>
    public static string Echo(string name)
    {
        if (name.Length <= MaxEcho)
        {
            return name;
        }

        var cut = char.IsHighSurrogate(name[MaxEcho - 1]) ? MaxEcho - 1 : MaxEcho;
        return string.Concat(name.AsSpan(0, cut), "…");
    }
}

/// <summary>Where the position a <see cref="JsonException"/> gives is counted from (<see cref="Problems.FromJson"/>).</summary>
public enum JsonPosition
{
    /// <summary>The request body: "line L, byte B".</summary>
    InBody,

    /// <summary>One line of NDJSON, which the problem names itself: "byte B".</summary>
    InLine,

    /// <summary>An element inside the body, whose position in it the serializer does not know: none is given.</summary>
    None,
}
