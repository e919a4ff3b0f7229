namespace TradeStore.Core.Trades;

/// <summary>How a <see cref="TradeField"/>'s value is stored: each store maps these four to its own types.</summary>
public enum TradeFieldType
{
    /// <summary>A required string (codes such as <c>side</c> and <c>status</c> included).</summary>
    Text,

    /// <summary>A string that may be absent.</summary>
    OptionalText,

    /// <summary>An exact decimal (<c>DECIMAL(18,8)</c>); never a float anywhere.</summary>
    Decimal,

    /// <summary>A UTC instant with microseconds.</summary>
    Timestamp,
}

/// <summary>One state field of the trade row: its column name (DuckDB, ClickHouse), its field name (Redis, JSON) and how it is stored.</summary>
/// <param name="Column">snake_case column name, as in the migrations (ClickHouse stores a timestamp as <c>{Column}_us</c>).</param>
/// <param name="Name">camelCase name of the Redis hash field and the change-stream field.</param>
/// <param name="Value">The field's value in a trade: a <see cref="string"/>, <see cref="decimal"/> or <see cref="DateTimeOffset"/> by <paramref name="Type"/>.</param>
public sealed record TradeField(string Column, string Name, TradeFieldType Type, Func<Trade, object?> Value)
{
    /// <summary>Set by the create and never changed after it (an update of a stored row leaves it alone).</summary>
    public bool Fixed { get; init; }
}

/// <summary>Where <see cref="TradeFields.Create"/> reads a trade's state fields from (a DuckDB row, a ClickHouse row, a Redis hash).</summary>
public interface ITradeFieldSource
{
    /// <summary>A <see cref="TradeFieldType.Text"/> or <see cref="TradeFieldType.OptionalText"/> value (<see langword="null"/> when absent).</summary>
    string? Text(TradeField field);

    decimal Decimal(TradeField field);

    DateTimeOffset Timestamp(TradeField field);
}

/// <summary>
/// The one description of the trade row's state fields: the columns <c>trade_events</c> and <c>trade_state</c> share
/// in DuckDB and ClickHouse, and the fields of a Redis trade hash and change-stream entry. Writers loop over
/// <see cref="State"/>; readers build the <see cref="Trade"/> with <see cref="Create"/>. Adding a state field means
/// the migrations, the <see cref="Trade"/> record and this file. The identity and bookkeeping fields (trade id,
/// version, last seq, updated at) differ per store (a journal row's <c>seq</c> is the trade's last seq, its
/// <c>recorded_at</c> the trade's updated at), so each store passes them to <see cref="Create"/> itself.
/// </summary>
public static class TradeFields
{
    public static readonly TradeField Account = new("account", "account", TradeFieldType.Text, t => t.Account) { Fixed = true };
    public static readonly TradeField Symbol = new("symbol", "symbol", TradeFieldType.Text, t => t.Symbol) { Fixed = true };
    public static readonly TradeField Side = new("side", "side", TradeFieldType.Text, t => t.Side.ToCode()) { Fixed = true };
    public static readonly TradeField Quantity = new("quantity", "quantity", TradeFieldType.Decimal, t => t.Quantity);
    public static readonly TradeField Price = new("price", "price", TradeFieldType.Decimal, t => t.Price);
    public static readonly TradeField FilledQuantity = new("filled_quantity", "filledQuantity", TradeFieldType.Decimal, t => t.FilledQuantity);
    public static readonly TradeField FilledNotional = new("filled_notional", "filledNotional", TradeFieldType.Decimal, t => t.FilledNotional);
    public static readonly TradeField Status = new("status", "status", TradeFieldType.Text, t => t.Status.ToCode());
    public static readonly TradeField Venue = new("venue", "venue", TradeFieldType.OptionalText, t => t.Venue);
    public static readonly TradeField Trader = new("trader", "trader", TradeFieldType.OptionalText, t => t.Trader);
    public static readonly TradeField ExecutedAt = new("executed_at", "executedAt", TradeFieldType.Timestamp, t => t.ExecutedAt);
    public static readonly TradeField CreatedAt = new("created_at", "createdAt", TradeFieldType.Timestamp, t => t.CreatedAt) { Fixed = true };

    /// <summary>The state fields, in the order of the <c>trade_state</c> columns after <c>trade_id, version, last_seq</c>.</summary>
    public static IReadOnlyList<TradeField> State { get; } =
        [Account, Symbol, Side, Quantity, Price, FilledQuantity, FilledNotional, Status, Venue, Trader, ExecutedAt, CreatedAt];

    /// <summary>The state columns as a SQL column list (<c>account, symbol, …, created_at</c>).</summary>
    public static string StateColumnList { get; } = string.Join(", ", State.Select(field => field.Column));

    /// <summary>Builds a trade from its identity and the state fields read from <paramref name="source"/>.</summary>
    /// <exception cref="FormatException">A code (side, status) is not one TradeStore writes.</exception>
    public static Trade Create(string tradeId, long version, long lastSeq, DateTimeOffset updatedAt, ITradeFieldSource source) => new(
        TradeId: tradeId,
        Account: TradeNames.Share(Required(source, Account)),
        Symbol: TradeNames.Share(Required(source, Symbol)),
        Side: TradeCodes.ParseSide(Required(source, Side)),
        Quantity: source.Decimal(Quantity),
        Price: source.Decimal(Price),
        FilledQuantity: source.Decimal(FilledQuantity),
        FilledNotional: source.Decimal(FilledNotional),
        Status: TradeCodes.ParseStatus(Required(source, Status)),
        Venue: TradeNames.ShareOptional(source.Text(Venue)),
        Trader: TradeNames.ShareOptional(source.Text(Trader)),
        ExecutedAt: source.Timestamp(ExecutedAt),
        Version: version,
        LastSeq: lastSeq,
        CreatedAt: source.Timestamp(CreatedAt),
        UpdatedAt: updatedAt);

    private static string Required(ITradeFieldSource source, TradeField field) =>
        source.Text(field) ?? throw new FormatException($"{field.Column} is missing");
}
