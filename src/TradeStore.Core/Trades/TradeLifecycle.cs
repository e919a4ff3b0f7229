namespace TradeStore.Core.Trades;

/// <summary>What a command does to a trade: the new state and, for fills, the execution.</summary>
public readonly record struct TradeTransition(TradeEventType Type, Trade State, decimal? LastQuantity, decimal? LastPrice);

/// <summary>
/// The lifecycle rules (docs/api.md, "Trade lifecycle") as one pure function: given the current state, decide the next one
/// or refuse. The WriteEngine, the tests' model and any replay use this same function.
/// </summary>
public static class TradeLifecycle
{
    /// <summary>
    /// Decides <paramref name="command"/> against <paramref name="current"/> (<see langword="null"/> when the
    /// trade is unknown). <paramref name="seq"/> and <paramref name="now"/> stamp the new state.
    /// Field errors come first, then existence, then <c>expectedVersion</c>, then the status rules.
    /// </summary>
    public static bool TryDecide(TradeCommand command, Trade? current, long seq, DateTimeOffset now, out TradeTransition transition, out CommandError? error)
    {
        transition = default;
        error = TradeValidation.Validate(command) ?? Check(command, current);
        if (error is not null)
        {
            return false;
        }

        now = Timestamps.Normalize(now);
        transition = command switch
        {
            CreateTrade c => new TradeTransition(TradeEventType.Create, Create(c, seq, now), null, null),
            AmendTrade a => new TradeTransition(TradeEventType.Amend, Amend(a, current!, seq, now), null, null),
            FillTrade f => new TradeTransition(TradeEventType.Fill, Fill(f, current!, seq, now), f.Quantity, f.Price),
            CancelTrade => new TradeTransition(TradeEventType.Cancel, Next(current!, seq, now) with { Status = TradeStatus.Cancelled }, null, null),
            DeleteTrade => new TradeTransition(TradeEventType.Delete, Next(current!, seq, now) with { Status = TradeStatus.Deleted }, null, null),
            _ => throw new ArgumentOutOfRangeException(nameof(command), command.GetType().Name, null),
        };
        return true;
    }

    private static CommandError? Check(TradeCommand command, Trade? current)
    {
        if (command is CreateTrade)
        {
            return current is null
                ? null
                : new CommandError(CommandErrorKind.AlreadyExists, current.Status == TradeStatus.Deleted
                    ? $"Trade {command.TradeId} was deleted (version {current.Version}); its history keeps the id, so a new trade needs another id."
                    : $"Trade {command.TradeId} already exists (version {current.Version}).", "tradeId", current.Version);
        }

        if (current is null || current.Status == TradeStatus.Deleted)
        {
            return CommandError.NotFound(command.TradeId);
        }

        var expected = command switch
        {
            AmendTrade a => a.ExpectedVersion,
            FillTrade f => f.ExpectedVersion,
            CancelTrade c => c.ExpectedVersion,
            DeleteTrade d => d.ExpectedVersion,
            _ => null,
        };
        if (expected is { } version && version != current.Version)
        {
            return new CommandError(CommandErrorKind.VersionConflict,
                $"Trade {command.TradeId} is at version {current.Version}, not {version}.", "expectedVersion", current.Version);
        }

        return command switch
        {
            AmendTrade a => CheckAmend(a, current),
            FillTrade f => CheckFill(f, current),
            CancelTrade when current.Status.IsTerminal() => Refuse(current, "cancel"),
            _ => null,
        };
    }

    private static CommandError? CheckAmend(AmendTrade amend, Trade current)
    {
        if (current.Status.IsTerminal())
        {
            return Refuse(current, "amend");
        }

        return amend.Quantity is { } quantity && quantity < current.FilledQuantity
            ? CommandError.Invalid("quantity", $"quantity {quantity} is below the {current.FilledQuantity} already filled.")
            : null;
    }

    private static CommandError? CheckFill(FillTrade fill, Trade current)
    {
        if (current.Status.IsTerminal())
        {
            return Refuse(current, "fill");
        }

        return fill.Quantity > current.RemainingQuantity
            ? CommandError.Invalid("quantity", $"A fill of {fill.Quantity} exceeds the remaining quantity {current.RemainingQuantity}.")
            : null;
    }

    /// <summary>
    /// The refusal names the status the trade is in and the ones the command needs, and what is still possible, so the
    /// caller need not look the lifecycle up: amend, fill and cancel need a live trade, and a finished one can only be deleted.
    /// </summary>
    private static CommandError Refuse(Trade current, string verb) =>
        new(CommandErrorKind.InvalidTransition,
            $"Cannot {verb} trade {current.TradeId}: it is {current.Status.ToCode()}; {verb} needs status {TradeStatus.New.ToCode()} or {TradeStatus.PartiallyFilled.ToCode()}. " +
            $"A {current.Status.ToCode()} trade can only be deleted.",
            "status", current.Version);

    private static Trade Create(CreateTrade c, long seq, DateTimeOffset now) => new(
        c.TradeId, TradeNames.Share(c.Account), TradeNames.Share(c.Symbol), c.Side, c.Quantity, c.Price,
        FilledQuantity: 0, FilledNotional: 0, TradeStatus.New, TradeNames.ShareOptional(c.Venue), TradeNames.ShareOptional(c.Trader),
        c.ExecutedAt is { } executedAt ? Timestamps.Normalize(executedAt) : now,
        Version: 1, LastSeq: seq, CreatedAt: now, UpdatedAt: now);

    private static Trade Amend(AmendTrade a, Trade current, long seq, DateTimeOffset now)
    {
        var quantity = a.Quantity ?? current.Quantity;
        var status = current.FilledQuantity > 0
            ? (current.FilledQuantity == quantity ? TradeStatus.Filled : TradeStatus.PartiallyFilled)
            : current.Status;
        return Next(current, seq, now) with
        {
            Quantity = quantity,
            Price = a.Price ?? current.Price,
            Venue = TradeNames.ShareOptional(a.Venue) ?? current.Venue,
            Trader = TradeNames.ShareOptional(a.Trader) ?? current.Trader,
            ExecutedAt = a.ExecutedAt is { } executedAt ? Timestamps.Normalize(executedAt) : current.ExecutedAt,
            Status = status,
        };
    }

    private static Trade Fill(FillTrade f, Trade current, long seq, DateTimeOffset now)
    {
        var filled = current.FilledQuantity + f.Quantity;
        return Next(current, seq, now) with
        {
            FilledQuantity = filled,
            FilledNotional = current.FilledNotional + (f.Quantity * f.Price),
            Status = filled == current.Quantity ? TradeStatus.Filled : TradeStatus.PartiallyFilled,
        };
    }

    private static Trade Next(Trade current, long seq, DateTimeOffset now) =>
        current with { Version = current.Version + 1, LastSeq = seq, UpdatedAt = now };
}
