using System.Collections.Immutable;

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
/// <remarks>
/// By design each value type has its own accessor (<see cref="TextOf"/>, <see cref="DecimalOf"/>,
/// <see cref="TimestampOf"/>) rather than one returning <see cref="object"/>: the writers call them for every field of
/// every trade they store, and boxing each decimal and timestamp made ~300 MB of garbage in 5 s while the sinks caught
/// up after a seeding.
/// </remarks>
/// <param name="Column">snake_case column name, as in the migrations (ClickHouse stores a timestamp as <c>{Column}_us</c>).</param>
/// <param name="Name">camelCase name of the Redis hash field and the change-stream field.</param>
public sealed record TradeField(string Column, string Name, TradeFieldType Type)
{
    /// <summary>Set by the create and never changed after it (an update of a stored row leaves it alone).</summary>
    public bool Fixed { get; init; }

    private Func<Trade, string?>? TextValue { get; init; }

    private Func<Trade, decimal>? DecimalValue { get; init; }

    private Func<Trade, DateTimeOffset>? TimestampValue { get; init; }

    /// <summary>A required text field (codes such as <c>side</c> included).</summary>
    public static TradeField ForText(string column, string name, Func<Trade, string> value) =>
        new(column, name, TradeFieldType.Text) { TextValue = value };

    /// <summary>A text field that may be absent.</summary>
    public static TradeField ForOptionalText(string column, string name, Func<Trade, string?> value) =>
        new(column, name, TradeFieldType.OptionalText) { TextValue = value };

    public static TradeField ForDecimal(string column, string name, Func<Trade, decimal> value) =>
        new(column, name, TradeFieldType.Decimal) { DecimalValue = value };

    public static TradeField ForTimestamp(string column, string name, Func<Trade, DateTimeOffset> value) =>
        new(column, name, TradeFieldType.Timestamp) { TimestampValue = value };

    /// <summary>The value of a <see cref="TradeFieldType.Text"/> or <see cref="TradeFieldType.OptionalText"/> field.</summary>
    /// <exception cref="InvalidOperationException">The field is of another type.</exception>
    public string? TextOf(Trade trade) => (TextValue ?? throw WrongType(nameof(TextOf)))(trade);

    /// <summary>The value of a <see cref="TradeFieldType.Decimal"/> field.</summary>
    /// <exception cref="InvalidOperationException">The field is of another type.</exception>
    public decimal DecimalOf(Trade trade) => (DecimalValue ?? throw WrongType(nameof(DecimalOf)))(trade);

    /// <summary>The value of a <see cref="TradeFieldType.Timestamp"/> field.</summary>
    /// <exception cref="InvalidOperationException">The field is of another type.</exception>
    public DateTimeOffset TimestampOf(Trade trade) => (TimestampValue ?? throw WrongType(nameof(TimestampOf)))(trade);

    private InvalidOperationException WrongType(string accessor) => new($"{accessor} does not apply to {Column}, a {Type} field.");
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
    public static readonly TradeField Account = TradeField.ForText("account", "account", t => t.Account) with { Fixed = true };
    public static readonly TradeField Symbol = TradeField.ForText("symbol", "symbol", t => t.Symbol) with { Fixed = true };
    public static readonly TradeField Side = TradeField.ForText("side", "side", t => t.Side.ToCode()) with { Fixed = true };
    public static readonly TradeField Quantity = TradeField.ForDecimal("quantity", "quantity", t => t.Quantity);
    public static readonly TradeField Price = TradeField.ForDecimal("price", "price", t => t.Price);
    public static readonly TradeField FilledQuantity = TradeField.ForDecimal("filled_quantity", "filledQuantity", t => t.FilledQuantity);
    public static readonly TradeField FilledNotional = TradeField.ForDecimal("filled_notional", "filledNotional", t => t.FilledNotional);
    public static readonly TradeField Status = TradeField.ForText("status", "status", t => t.Status.ToCode());
    public static readonly TradeField Venue = TradeField.ForOptionalText("venue", "venue", t => t.Venue);
    public static readonly TradeField Trader = TradeField.ForOptionalText("trader", "trader", t => t.Trader);
    public static readonly TradeField ExecutedAt = TradeField.ForTimestamp("executed_at", "executedAt", t => t.ExecutedAt);
    public static readonly TradeField CreatedAt = TradeField.ForTimestamp("created_at", "createdAt", t => t.CreatedAt) with { Fixed = true };

    /// <summary>
    /// The state fields, in the order of the <c>trade_state</c> columns after <c>trade_id, version, last_seq</c>. An
    /// immutable array, whose <c>foreach</c> allocates no enumerator (it runs for every trade a store writes).
    /// </summary>
    public static ImmutableArray<TradeField> State { get; } =
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
