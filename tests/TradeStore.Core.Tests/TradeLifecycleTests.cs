using TradeStore.Core.Trades;

namespace TradeStore.Core.Tests;

public sealed class TradeLifecycleTests
{
    private static readonly DateTimeOffset Now = new(2026, 1, 2, 3, 4, 5, TimeSpan.Zero);

    /// <summary>Status × command: null means allowed, otherwise the refusal kind.</summary>
    public static TheoryData<TradeStatus, string, CommandErrorKind?> Transitions() => new()
    {
        { TradeStatus.New, "create", CommandErrorKind.AlreadyExists },
        { TradeStatus.New, "amend", null },
        { TradeStatus.New, "fill", null },
        { TradeStatus.New, "cancel", null },
        { TradeStatus.New, "delete", null },
        { TradeStatus.PartiallyFilled, "create", CommandErrorKind.AlreadyExists },
        { TradeStatus.PartiallyFilled, "amend", null },
        { TradeStatus.PartiallyFilled, "fill", null },
        { TradeStatus.PartiallyFilled, "cancel", null },
        { TradeStatus.PartiallyFilled, "delete", null },
        { TradeStatus.Filled, "create", CommandErrorKind.AlreadyExists },
        { TradeStatus.Filled, "amend", CommandErrorKind.InvalidTransition },
        { TradeStatus.Filled, "fill", CommandErrorKind.InvalidTransition },
        { TradeStatus.Filled, "cancel", CommandErrorKind.InvalidTransition },
        { TradeStatus.Filled, "delete", null },
        { TradeStatus.Cancelled, "create", CommandErrorKind.AlreadyExists },
        { TradeStatus.Cancelled, "amend", CommandErrorKind.InvalidTransition },
        { TradeStatus.Cancelled, "fill", CommandErrorKind.InvalidTransition },
        { TradeStatus.Cancelled, "cancel", CommandErrorKind.InvalidTransition },
        { TradeStatus.Cancelled, "delete", null },
        { TradeStatus.Deleted, "create", CommandErrorKind.AlreadyExists },
        { TradeStatus.Deleted, "amend", CommandErrorKind.NotFound },
        { TradeStatus.Deleted, "fill", CommandErrorKind.NotFound },
        { TradeStatus.Deleted, "cancel", CommandErrorKind.NotFound },
        { TradeStatus.Deleted, "delete", CommandErrorKind.NotFound },
    };

    [Theory]
    [MemberData(nameof(Transitions))]
    public void TryDecide_StatusAndCommand_AllowedOrRefusedAsInTable(TradeStatus status, string verb, CommandErrorKind? expected)
    {
        var current = InStatus(status);
        TradeCommand command = verb switch
        {
            "create" => new CreateTrade("T1", "ACC", "SYM", Side.Buy, 10, 5),
            "amend" => new AmendTrade("T1", current.Version, Price: 6),
            "fill" => new FillTrade("T1", 1, 5),
            "cancel" => new CancelTrade("T1", current.Version),
            _ => new DeleteTrade("T1", current.Version),
        };

        var decided = TradeLifecycle.TryDecide(command, current, 100, Now, out var transition, out var error);

        Assert.Equal(expected is null, decided);
        Assert.Equal(expected, error?.Kind);
        if (decided)
        {
            Assert.Equal(current.Version + 1, transition.State.Version);
            Assert.Equal(100, transition.State.LastSeq);
        }
    }

    [Theory]
    [InlineData(TradeStatus.Filled, "amend")]
    [InlineData(TradeStatus.Filled, "fill")]
    [InlineData(TradeStatus.Cancelled, "fill")]
    [InlineData(TradeStatus.Cancelled, "cancel")]
    public void TryDecide_FinishedTrade_RefusalNamesStatusTheStatusesNeededAndThatOnlyDeleteRemains(TradeStatus status, string verb)
    {
        var current = InStatus(status);
        TradeCommand command = verb switch
        {
            "amend" => new AmendTrade("T1", current.Version, Price: 6),
            "fill" => new FillTrade("T1", 1, 5),
            _ => new CancelTrade("T1", current.Version),
        };

        Assert.False(TradeLifecycle.TryDecide(command, current, 100, Now, out _, out var error));

        Assert.Equal((CommandErrorKind.InvalidTransition, "status", current.Version), (error!.Kind, error.Field, error.CurrentVersion));
        Assert.Equal($"Cannot {verb} trade T1: it is {status.ToCode()}; {verb} needs status new or partially_filled. A {status.ToCode()} trade can only be deleted.", error.Message);
    }

    [Fact]
    public void TryDecide_CreateWithADeletedTradesId_AlreadyExistsSayingItWasDeleted()
    {
        var deleted = InStatus(TradeStatus.Deleted);

        Assert.False(TradeLifecycle.TryDecide(new CreateTrade("T1", "ACC", "SYM", Side.Buy, 10, 5), deleted, 9, Now, out _, out var error));

        Assert.Equal(CommandErrorKind.AlreadyExists, error!.Kind);
        Assert.Contains("was deleted", error.Message);
        Assert.Equal("tradeId", error.Field);
    }

    [Fact]
    public void TryDecide_Unknown_NotFoundForEverythingButCreate()
    {
        Assert.True(TradeLifecycle.TryDecide(new CreateTrade("T1", "ACC", "SYM", Side.Sell, 10, 5), null, 1, Now, out var created, out _));
        Assert.Equal(TradeStatus.New, created.State.Status);
        Assert.Equal(Now, created.State.ExecutedAt);
        Assert.False(TradeLifecycle.TryDecide(new FillTrade("T1", 1, 1), null, 1, Now, out _, out var error));
        Assert.Equal(CommandErrorKind.NotFound, error!.Kind);
    }

    [Fact]
    public void TryDecide_StaleExpectedVersion_VersionConflictWithCurrentVersion()
    {
        var current = InStatus(TradeStatus.PartiallyFilled);

        Assert.False(TradeLifecycle.TryDecide(new AmendTrade("T1", current.Version - 1, Price: 1), current, 9, Now, out _, out var error));

        Assert.Equal(CommandErrorKind.VersionConflict, error!.Kind);
        Assert.Equal("expectedVersion", error.Field);
        Assert.Equal(current.Version, error.CurrentVersion);
    }

    [Fact]
    public void TryDecide_FillBeyondRemaining_RefusedNamingQuantity()
    {
        var current = InStatus(TradeStatus.PartiallyFilled);

        Assert.False(TradeLifecycle.TryDecide(new FillTrade("T1", current.RemainingQuantity + 1, 5), current, 9, Now, out _, out var error));

        Assert.Equal(CommandErrorKind.Validation, error!.Kind);
        Assert.Equal("quantity", error.Field);
    }

    [Fact]
    public void TryDecide_FillOfRemaining_Filled()
    {
        var current = InStatus(TradeStatus.PartiallyFilled);

        Assert.True(TradeLifecycle.TryDecide(new FillTrade("T1", current.RemainingQuantity, 7), current, 9, Now, out var transition, out _));

        Assert.Equal(TradeStatus.Filled, transition.State.Status);
        Assert.Equal(current.FilledNotional + (current.RemainingQuantity * 7), transition.State.FilledNotional);
        Assert.Equal(current.RemainingQuantity, transition.LastQuantity);
    }

    [Fact]
    public void TryDecide_AmendBelowFilled_RefusedNamingQuantity()
    {
        var current = InStatus(TradeStatus.PartiallyFilled);

        Assert.False(TradeLifecycle.TryDecide(new AmendTrade("T1", null, Quantity: current.FilledQuantity - 1), current, 9, Now, out _, out var error));

        Assert.Equal("quantity", error!.Field);
    }

    [Theory]
    [InlineData(0, 1, "quantity")]
    [InlineData(-5, 1, "quantity")]
    [InlineData(1, -1, "price")]
    [InlineData(0.000000001, 1, "quantity")]
    public void TryDecide_BadCreateFields_ValidationNamesField(double quantity, double price, string field)
    {
        var command = new CreateTrade("T1", "ACC", "SYM", Side.Buy, (decimal)quantity, (decimal)price);

        Assert.False(TradeLifecycle.TryDecide(command, null, 1, Now, out _, out var error));

        Assert.Equal(CommandErrorKind.Validation, error!.Kind);
        Assert.Equal(field, error.Field);
    }

    private static Trade InStatus(TradeStatus status)
    {
        var filled = status switch
        {
            TradeStatus.PartiallyFilled => 4m,
            TradeStatus.Filled => 10m,
            _ => 0m,
        };
        return new Trade("T1", "ACC", "SYM", Side.Buy, 10, 5, filled, filled * 5, status, null, null, Now, 3, 3, Now, Now);
    }
}
