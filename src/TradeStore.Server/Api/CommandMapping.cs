using TradeStore.Core.Trades;

namespace TradeStore.Server.Api;

/// <summary>
/// Turns request bodies into <see cref="TradeCommand"/>s. Checks what only the API knows (required fields,
/// the side spelling, fields that do not belong to a batch item's type) and then the command's own field rules
/// (<see cref="TradeValidation"/>), so a malformed request never takes a slot in the writer's queue.
/// </summary>
public static class CommandMapping
{
    public static (TradeCommand? Command, ApiProblem? Problem) Create(CreateTradeRequest r, string? idempotencyKey)
    {
        if (Required(("tradeId", r.TradeId is null), ("account", r.Account is null), ("symbol", r.Symbol is null), ("side", r.Side is null),
            ("quantity", r.Quantity is null), ("price", r.Price is null)) is { } missing)
        {
            return (null, missing);
        }

        if (!TradeCodes.TryParseSide(r.Side, out var side))
        {
            return (null, Problems.Validation("side", "side must be \"buy\" or \"sell\"."));
        }

        return Checked(new CreateTrade(r.TradeId ?? "", r.Account ?? "", r.Symbol ?? "", side, r.Quantity!.Value, r.Price!.Value,
            r.Venue, r.Trader, r.ExecutedAt, idempotencyKey));
    }

    public static (TradeCommand? Command, ApiProblem? Problem) Amend(string tradeId, AmendTradeRequest r, string? idempotencyKey)
    {
        // By design expectedVersion is mandatory here: an amend rewrites terms the client must have seen.
        return r.ExpectedVersion is null
            ? (null, Problems.Validation("expectedVersion", "expectedVersion is required on an amend: read the trade and send its version."))
            : Checked(new AmendTrade(tradeId, r.ExpectedVersion, r.Quantity, r.Price, r.Venue, r.Trader, r.ExecutedAt, idempotencyKey));
    }

    public static (TradeCommand? Command, ApiProblem? Problem) Fill(string tradeId, FillTradeRequest r, string? idempotencyKey) =>
        Required(("quantity", r.Quantity is null), ("price", r.Price is null)) is { } missing
            ? (null, missing)
            : Checked(new FillTrade(tradeId, r.Quantity!.Value, r.Price!.Value, r.ExpectedVersion, idempotencyKey));

    public static (TradeCommand? Command, ApiProblem? Problem) Cancel(string tradeId, long? expectedVersion, string? idempotencyKey) =>
        Checked(new CancelTrade(tradeId, expectedVersion, idempotencyKey));

    public static (TradeCommand? Command, ApiProblem? Problem) Delete(string tradeId, long? expectedVersion, string? idempotencyKey) =>
        Checked(new DeleteTrade(tradeId, expectedVersion, idempotencyKey));

    /// <summary>A batch item: its <c>type</c> (default <c>create</c>) picks the command; fields of other types are refused by name.</summary>
    public static (TradeCommand? Command, ApiProblem? Problem) FromBatchItem(BatchItemRequest r)
    {
        var type = r.Type ?? "create";
        var stray = type switch
        {
            "create" => Stray(("expectedVersion", r.ExpectedVersion is not null)),
            "amend" => Stray(("account", r.Account is not null), ("symbol", r.Symbol is not null), ("side", r.Side is not null)),
            "fill" => Stray(("account", r.Account is not null), ("symbol", r.Symbol is not null), ("side", r.Side is not null),
                ("venue", r.Venue is not null), ("trader", r.Trader is not null), ("executedAt", r.ExecutedAt is not null)),
            "cancel" or "delete" => Stray(("account", r.Account is not null), ("symbol", r.Symbol is not null), ("side", r.Side is not null),
                ("quantity", r.Quantity is not null), ("price", r.Price is not null), ("venue", r.Venue is not null),
                ("trader", r.Trader is not null), ("executedAt", r.ExecutedAt is not null)),
            _ => null,
        };
        if (stray is not null)
        {
            return (null, Problems.Validation(stray, $"{stray} does not apply to {(type == "amend" ? "an" : "a")} {type} command."));
        }

        var tradeId = r.TradeId ?? "";
        return type switch
        {
            "create" => Create(new CreateTradeRequest
            {
                TradeId = r.TradeId, Account = r.Account, Symbol = r.Symbol, Side = r.Side, Quantity = r.Quantity, Price = r.Price,
                Venue = r.Venue, Trader = r.Trader, ExecutedAt = r.ExecutedAt,
            }, r.IdempotencyKey),
            "amend" => Amend(tradeId, new AmendTradeRequest
            {
                ExpectedVersion = r.ExpectedVersion, Quantity = r.Quantity, Price = r.Price, Venue = r.Venue, Trader = r.Trader, ExecutedAt = r.ExecutedAt,
            }, r.IdempotencyKey),
            "fill" => Fill(tradeId, new FillTradeRequest { Quantity = r.Quantity, Price = r.Price, ExpectedVersion = r.ExpectedVersion }, r.IdempotencyKey),
            "cancel" => Cancel(tradeId, r.ExpectedVersion, r.IdempotencyKey),
            "delete" => Delete(tradeId, r.ExpectedVersion, r.IdempotencyKey),
            _ => (null, Problems.Validation("type", $"type must be one of \"create\", \"amend\", \"fill\", \"cancel\", \"delete\"; got \"{Problems.Echo(type)}\".")),
        };
    }

    private static (TradeCommand? Command, ApiProblem? Problem) Checked(TradeCommand command) =>
        TradeValidation.Validate(command) is { } error ? (null, Problems.From(error)) : (command, null);

    /// <summary>
    /// The problem naming every missing field (the first as <c>field</c>), so a client fixes them in one round trip
    /// rather than one per request; <see langword="null"/> when none is missing.
    /// </summary>
    private static ApiProblem? Required(params ReadOnlySpan<(string Field, bool Missing)> fields)
    {
        List<string>? missingFields = null;
        foreach (var (field, missing) in fields)
        {
            if (missing)
            {
                (missingFields ??= []).Add(field);
            }
        }

        return missingFields switch
        {
            null => null,
            [var only] => Problems.Validation(only, $"{only} is required."),
            _ => Problems.Validation(missingFields[0], $"{string.Join(", ", missingFields[..^1])} and {missingFields[^1]} are required."),
        };
    }

    private static string? Stray(params ReadOnlySpan<(string Field, bool Present)> fields)
    {
        foreach (var (field, present) in fields)
        {
            if (present)
            {
                return field;
            }
        }

        return null;
    }
}
