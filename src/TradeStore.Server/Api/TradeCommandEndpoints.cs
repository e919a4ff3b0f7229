using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using TradeStore.Core.Options;
using TradeStore.Core.Trades;
using TradeStore.Server.Security;

namespace TradeStore.Server.Api;

/// <summary>The write endpoints: create, amend, fill, cancel, delete, and the batch of any of them.</summary>
public static class TradeCommandEndpoints
{
    public static async Task<IResult> CreateAsync(HttpContext context, [FromServices] ITradeCommands commands, [FromServices] IOptions<ApiOptions> options)
    {
        var (request, problem) = await ReadAsync(context, options.Value, ApiJson.Context.CreateTradeRequest, allowEmpty: false);
        return await SubmitAsync(context, commands, problem, key => CommandMapping.Create(request!, key));
    }

    public static async Task<IResult> AmendAsync(HttpContext context, string tradeId, [FromServices] ITradeCommands commands, [FromServices] IOptions<ApiOptions> options)
    {
        var (request, problem) = await ReadAsync(context, options.Value, ApiJson.Context.AmendTradeRequest, allowEmpty: false);
        return await SubmitAsync(context, commands, problem, key => CommandMapping.Amend(tradeId, request!, key));
    }

    public static async Task<IResult> FillAsync(HttpContext context, string tradeId, [FromServices] ITradeCommands commands, [FromServices] IOptions<ApiOptions> options)
    {
        var (request, problem) = await ReadAsync(context, options.Value, ApiJson.Context.FillTradeRequest, allowEmpty: false);
        return await SubmitAsync(context, commands, problem, key => CommandMapping.Fill(tradeId, request!, key));
    }

    public static async Task<IResult> CancelAsync(HttpContext context, string tradeId, [FromServices] ITradeCommands commands, [FromServices] IOptions<ApiOptions> options)
    {
        var (request, problem) = await ReadAsync(context, options.Value, ApiJson.Context.CancelTradeRequest, allowEmpty: true);
        return await SubmitAsync(context, commands, problem, key => CommandMapping.Cancel(tradeId, request?.ExpectedVersion, key));
    }

    public static async Task<IResult> DeleteAsync(HttpContext context, string tradeId, [FromServices] ITradeCommands commands)
    {
        var query = context.Request.Query;
        long? expectedVersion = null;
        var problem = QueryParameters.Check(query, "expectedVersion");
        if (problem is null && context.Features.Get<IHttpRequestBodyDetectionFeature>() is { CanHaveBody: true })
        {
            // By design refused, not ignored: {"expectedVersion": N} in a body would otherwise delete unconditionally.
            problem = Problems.Validation("body", "DELETE takes no body: send expectedVersion in the query string (?expectedVersion=N).");
        }

        if (problem is null && query.TryGetValue("expectedVersion", out var raw))
        {
            if (long.TryParse(raw, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var version))
            {
                expectedVersion = version;
            }
            else
            {
                problem = Problems.Validation("expectedVersion", $"expectedVersion must be a positive integer; got '{raw}'.");
            }
        }

        return await SubmitAsync(context, commands, problem, key => CommandMapping.Delete(tradeId, expectedVersion, key));
    }

    /// <summary>
    /// Every item is handed to the writer before any is awaited, in request order, so the whole batch
    /// shares group commits and later items see earlier ones (create then fill the same trade works).
    /// </summary>
    public static async Task<IResult> BatchAsync(HttpContext context, [FromServices] ITradeCommands commands, [FromServices] ITradeQueries queries, [FromServices] IOptions<ApiOptions> options)
    {
        var limits = options.Value;
        if (QueryParameters.Check(context.Request.Query) is { } parameter)
        {
            return ApiResults.Problem(context, parameter);
        }

        if (context.Request.Headers.ContainsKey(ApiResults.IdempotencyKeyHeader))
        {
            // By design refused, not ignored: a client retrying the batch would believe the header made it safe.
            return ApiResults.Problem(context, Problems.Validation(ApiResults.IdempotencyKeyHeader,
                "A batch takes no Idempotency-Key header: give each item its own \"idempotencyKey\"."));
        }

        var (body, format, problem) = await RequestBody.ReadAsync(context, limits.MaxRequestBodyBytes, allowNdJson: true);
        if (problem is not null)
        {
            return ApiResults.Problem(context, problem);
        }

        var (items, batchProblem) = format switch
        {
            BodyFormat.Json => BatchParser.ParseArray(body, limits.MaxBatchSize),
            BodyFormat.NdJson => BatchParser.ParseLines(body, limits.MaxBatchSize),
            _ => (null, Problems.Validation("body", "The batch is empty: send a JSON array or NDJSON lines of commands.")),
        };
        if (batchProblem is not null)
        {
            return ApiResults.Problem(context, batchProblem);
        }

        var commandsOrProblems = items!.Select(item => item.Problem is null ? CommandMapping.FromBatchItem(item.Request!) : (null, item.Problem)).ToArray();
        var pending = new ValueTask<CommandResult>[commandsOrProblems.Length];
        int? busyAt = null;
        for (var i = 0; i < commandsOrProblems.Length; i++)
        {
            if (busyAt is { } first && commandsOrProblems[i].Command is not null)
            {
                // By design not submitted: the queue may have room again an instant later, and this item would then be
                // written without the earlier one it may follow (a cancel without the fill before it), and resending the
                // refused items would apply them out of order.
                commandsOrProblems[i] = (null, Problems.From(new CommandError(CommandErrorKind.Busy,
                    $"Not written: item {first} of this batch found the write queue full, and items are written in order; resend the items from index {first} on.")));
                continue;
            }

            if (commandsOrProblems[i].Command is { } command)
            {
                // Each item is checked against the key's accounts on its own; a refused item is not submitted.
                var refused = AccountAccess.CheckWrite(context, queries, command);
                if (refused?.Status == StatusCodes.Status404NotFound)
                {
                    // A scoped key may create a trade and change it in one batch: let the earlier items commit, then look again.
                    await WhenAllAsync(pending, i);
                    refused = AccountAccess.CheckWrite(context, queries, command);
                }

                if (refused is not null)
                {
                    commandsOrProblems[i] = (null, refused);
                    continue;
                }

                pending[i] = commands.SubmitAsync(IdempotencyNamespace.Apply(context, command), context.RequestAborted);
                if (pending[i].IsCompletedSuccessfully)
                {
                    // Answered at once (refused before it was queued): kept as a completed result, which the loop below awaits.
                    var atOnce = pending[i].Result;
                    pending[i] = new ValueTask<CommandResult>(atOnce);
                    busyAt = atOnce.Error?.Kind == CommandErrorKind.Busy ? i : null;
                }
            }
        }

        var results = new BatchItemResponse[commandsOrProblems.Length];
        var succeeded = 0;
        for (var i = 0; i < commandsOrProblems.Length; i++)
        {
            var (command, itemProblem) = commandsOrProblems[i];
            if (command is null)
            {
                results[i] = new BatchItemResponse(i, itemProblem!.Status, null, null, itemProblem);
                continue;
            }

            var result = AccountAccess.Screen(context, queries, command, await pending[i]);
            if (result.Error is { } error)
            {
                var refused = Problems.From(error);
                results[i] = new BatchItemResponse(i, refused.Status, null, null, refused);
            }
            else
            {
                succeeded++;
                results[i] = new BatchItemResponse(i, ApiResults.SuccessStatus(command), result.Replayed ? true : null, TradeResponse.From(result.Trade!), null);
            }
        }

        return ApiResults.Json(new BatchResponse(succeeded, results.Length - succeeded, results), ApiJson.Context.BatchResponse);
    }

    private static async Task WhenAllAsync(ValueTask<CommandResult>[] pending, int count)
    {
        for (var j = 0; j < count; j++)
        {
            if (pending[j] is { IsCompleted: false } task)
            {
                // Awaiting a ValueTask twice is not allowed: keep the result as a completed one for the later loop.
                pending[j] = new ValueTask<CommandResult>(await task);
            }
        }
    }

    /// <summary>
    /// Refuses with <paramref name="readProblem"/> if reading the request failed; otherwise builds the command
    /// (with the <c>Idempotency-Key</c> header), submits it and answers with its result.
    /// </summary>
    private static async Task<IResult> SubmitAsync(HttpContext context, ITradeCommands commands, ApiProblem? readProblem,
        Func<string?, (TradeCommand? Command, ApiProblem? Problem)> map)
    {
        var (command, problem) = readProblem is not null ? (null, readProblem)
            : Header(context, out var key) is { } headerProblem ? (null, headerProblem)
            : map(key);
        if (problem is not null)
        {
            // The command's key came in a header here, so name the header; a body's own "idempotencyKey" is named as sent.
            var aboutTheHeader = readProblem is null && problem.Field == "idempotencyKey";
            return ApiResults.Problem(context, aboutTheHeader ? problem with { Field = ApiResults.IdempotencyKeyHeader } : problem);
        }

        var queries = context.RequestServices.GetRequiredService<ITradeQueries>();
        if (AccountAccess.CheckWrite(context, queries, command!) is { } forbidden)
        {
            return ApiResults.Problem(context, forbidden);
        }

        var result = await commands.SubmitAndWaitAsync(IdempotencyNamespace.Apply(context, command!), context.RequestAborted);
        return ApiResults.Command(context, command!, AccountAccess.Screen(context, queries, command!, result));
    }

    /// <summary>Reads the optional <c>Idempotency-Key</c> header; a repeated header is refused rather than guessed.</summary>
    private static ApiProblem? Header(HttpContext context, out string? key)
    {
        var values = context.Request.Headers[ApiResults.IdempotencyKeyHeader];
        key = values.Count == 1 ? values[0] : null;
        return values.Count > 1
            ? Problems.Validation(ApiResults.IdempotencyKeyHeader, "Send at most one Idempotency-Key header.")
            : null;
    }

    private static async Task<(T? Request, ApiProblem? Problem)> ReadAsync<T>(HttpContext context, ApiOptions options, JsonTypeInfo<T> typeInfo, bool allowEmpty)
        where T : class, new()
    {
        if (QueryParameters.Check(context.Request.Query) is { } parameter)
        {
            return (null, parameter);
        }

        var (body, format, problem) = await RequestBody.ReadAsync(context, options.MaxRequestBodyBytes, allowNdJson: false);
        if (problem is not null)
        {
            return (null, problem);
        }

        if (format == BodyFormat.Empty)
        {
            return allowEmpty ? (new T(), null) : (null, Problems.Validation("body", "A JSON object body is required."));
        }

        try
        {
            return JsonSerializer.Deserialize(body, typeInfo) is { } request
                ? (request, null)
                : (null, Problems.Validation("body", "The body must be a JSON object, not null."));
        }
        catch (JsonException ex)
        {
            return (null, Problems.FromJson(ex));
        }
    }
}
