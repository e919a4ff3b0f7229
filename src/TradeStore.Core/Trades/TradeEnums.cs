namespace TradeStore.Core.Trades;

/// <summary>Direction of a trade.</summary>
public enum Side
{
    Buy,
    Sell,
}

/// <summary>Lifecycle status: <c>New → PartiallyFilled → Filled</c>; <c>New|PartiallyFilled → Cancelled</c>; any live status → <c>Deleted</c>.</summary>
public enum TradeStatus
{
    New,
    PartiallyFilled,
    Filled,
    Cancelled,
    Deleted,
}

/// <summary>What one journal row records.</summary>
public enum TradeEventType
{
    Create,
    Amend,
    Fill,
    Cancel,
    Delete,
}

/// <summary>
/// The one spelling of each enum value on every wire and in every store (JSON, DuckDB, Redis, ClickHouse):
/// lower snake case, so a value reads the same wherever an operator meets it.
/// </summary>
public static class TradeCodes
{
    public static string ToCode(this Side side) => side == Side.Buy ? "buy" : "sell";

    public static string ToCode(this TradeStatus status) => status switch
    {
        TradeStatus.New => "new",
        TradeStatus.PartiallyFilled => "partially_filled",
        TradeStatus.Filled => "filled",
        TradeStatus.Cancelled => "cancelled",
        TradeStatus.Deleted => "deleted",
        _ => throw new ArgumentOutOfRangeException(nameof(status), status, null),
    };

    public static string ToCode(this TradeEventType type) => type switch
    {
        TradeEventType.Create => "create",
        TradeEventType.Amend => "amend",
        TradeEventType.Fill => "fill",
        TradeEventType.Cancel => "cancel",
        TradeEventType.Delete => "delete",
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, null),
    };

    public static bool TryParseSide(string? code, out Side side)
    {
        switch (code)
        {
            case "buy":
                side = Side.Buy;
                return true;
            case "sell":
                side = Side.Sell;
                return true;
            default:
                side = default;
                return false;
        }
    }

    public static TradeStatus ParseStatus(string code) => TryParseStatus(code, out var status)
        ? status
        : throw new FormatException($"Unknown trade status '{code}'.");

    public static bool TryParseStatus(string? code, out TradeStatus status)
    {
        status = code switch
        {
            "new" => TradeStatus.New,
            "partially_filled" => TradeStatus.PartiallyFilled,
            "filled" => TradeStatus.Filled,
            "cancelled" => TradeStatus.Cancelled,
            "deleted" => TradeStatus.Deleted,
            _ => (TradeStatus)(-1),
        };
        return status >= 0;
    }

    public static Side ParseSide(string code) => TryParseSide(code, out var side)
        ? side
        : throw new FormatException($"Unknown side '{code}'.");

    public static TradeEventType ParseEventType(string code) => code switch
    {
        "create" => TradeEventType.Create,
        "amend" => TradeEventType.Amend,
        "fill" => TradeEventType.Fill,
        "cancel" => TradeEventType.Cancel,
        "delete" => TradeEventType.Delete,
        _ => throw new FormatException($"Unknown event type '{code}'."),
    };

    /// <summary>Filled and cancelled trades take no more amends, fills or cancels; deleted trades take nothing.</summary>
    public static bool IsTerminal(this TradeStatus status) => status is TradeStatus.Filled or TradeStatus.Cancelled or TradeStatus.Deleted;
}
