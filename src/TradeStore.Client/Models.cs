using System.Text.Json.Serialization;

namespace TradeStore.Client;

/// <summary>Buy or sell, spelled <c>buy</c>/<c>sell</c> on the wire.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<TradeSide>))]
public enum TradeSide
{
    [JsonStringEnumMemberName("buy")]
    Buy,

    [JsonStringEnumMemberName("sell")]
    Sell,
}

/// <summary>A trade's current state; <see cref="Version"/> grows by one per event. <c>Status</c> is <c>new</c>, <c>partially_filled</c>, <c>filled</c>, <c>cancelled</c> (or <c>deleted</c>).</summary>
public sealed record Trade(
    string TradeId,
    string Account,
    string Symbol,
    TradeSide Side,
    decimal Quantity,
    decimal Price,
    decimal FilledQuantity,
    decimal? AverageFillPrice,
    string Status,
    string? Venue,
    string? Trader,
    DateTimeOffset ExecutedAt,
    long Version,
    long LastSeq,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt);

/// <summary>A trade to create. <see cref="ExecutedAt"/> defaults to the server's clock.</summary>
public sealed record NewTrade(
    string TradeId,
    string Account,
    string Symbol,
    TradeSide Side,
    decimal Quantity,
    decimal Price,
    string? Venue = null,
    string? Trader = null,
    DateTimeOffset? ExecutedAt = null);

/// <summary>Changes to a trade; at least one of the optional fields must be set. <see cref="ExpectedVersion"/> is the version read.</summary>
public sealed record Amendment(
    long ExpectedVersion,
    decimal? Quantity = null,
    decimal? Price = null,
    string? Venue = null,
    string? Trader = null,
    DateTimeOffset? ExecutedAt = null);

/// <summary>One journal event of a trade's history, with the trade's state after it.</summary>
public sealed record TradeEvent(
    long Seq,
    string Type,
    long Version,
    DateTimeOffset RecordedAt,
    decimal? LastQuantity,
    decimal? LastPrice,
    string? IdempotencyKey,
    Trade Trade);

/// <summary>A trade's whole history, oldest event first, every page of it read.</summary>
public sealed record TradeHistory(string TradeId, IReadOnlyList<TradeEvent> Items);

/// <summary>A position: net quantity and average price per account and symbol, with the sums they derive from.</summary>
public sealed record Position(
    string Account,
    string Symbol,
    decimal NetQuantity,
    decimal AveragePrice,
    decimal BoughtQuantity,
    decimal BoughtNotional,
    decimal SoldQuantity,
    decimal SoldNotional);

/// <summary>Filters of <see cref="TradeStoreClient.TradesAsync(TradeFilter?, CancellationToken)"/>; <see cref="From"/> is inclusive, <see cref="To"/> exclusive (on <c>executedAt</c>).</summary>
public sealed record TradeFilter(
    string? Account = null,
    string? Symbol = null,
    string? Status = null,
    DateTimeOffset? From = null,
    DateTimeOffset? To = null);

/// <summary>
/// One command of a batch. Build it with <see cref="Create"/>, <see cref="Amend"/>, <see cref="Fill"/>,
/// <see cref="Cancel"/> or <see cref="Delete"/>; each gets a generated idempotency key unless one is given.
/// </summary>
public sealed record BatchCommand
{
    private BatchCommand(string type, string tradeId, string? idempotencyKey)
    {
        Type = type;
        TradeId = tradeId;
        IdempotencyKey = idempotencyKey ?? IdempotencyKeys.New();
    }

    public string Type { get; }

    public string TradeId { get; }

    public string IdempotencyKey { get; }

    public string? Account { get; private init; }

    public string? Symbol { get; private init; }

    public TradeSide? Side { get; private init; }

    public decimal? Quantity { get; private init; }

    public decimal? Price { get; private init; }

    public string? Venue { get; private init; }

    public string? Trader { get; private init; }

    public DateTimeOffset? ExecutedAt { get; private init; }

    public long? ExpectedVersion { get; private init; }

    public static BatchCommand Create(NewTrade trade, string? idempotencyKey = null) => new("create", trade.TradeId, idempotencyKey)
    {
        Account = trade.Account,
        Symbol = trade.Symbol,
        Side = trade.Side,
        Quantity = trade.Quantity,
        Price = trade.Price,
        Venue = trade.Venue,
        Trader = trade.Trader,
        ExecutedAt = trade.ExecutedAt,
    };

    public static BatchCommand Amend(string tradeId, Amendment amendment, string? idempotencyKey = null) => new("amend", tradeId, idempotencyKey)
    {
        ExpectedVersion = amendment.ExpectedVersion,
        Quantity = amendment.Quantity,
        Price = amendment.Price,
        Venue = amendment.Venue,
        Trader = amendment.Trader,
        ExecutedAt = amendment.ExecutedAt,
    };

    public static BatchCommand Fill(string tradeId, decimal quantity, decimal price, long? expectedVersion = null, string? idempotencyKey = null) =>
        new("fill", tradeId, idempotencyKey) { Quantity = quantity, Price = price, ExpectedVersion = expectedVersion };

    public static BatchCommand Cancel(string tradeId, long? expectedVersion = null, string? idempotencyKey = null) =>
        new("cancel", tradeId, idempotencyKey) { ExpectedVersion = expectedVersion };

    public static BatchCommand Delete(string tradeId, long? expectedVersion = null, string? idempotencyKey = null) =>
        new("delete", tradeId, idempotencyKey) { ExpectedVersion = expectedVersion };
}

/// <summary>The outcome of one batch item: its HTTP status and the trade, or the problem that refused it alone.</summary>
public sealed record BatchItemResult(int Index, int Status, bool? Replayed, Trade? Trade, Problem? Problem);

/// <summary>The answer to a batch: one result per command, in order.</summary>
public sealed record BatchResult(int Succeeded, int Failed, IReadOnlyList<BatchItemResult> Results);

/// <summary>RFC 7807 problem details as TradeStore sends them.</summary>
public sealed record Problem(string Type, string Title, int Status, string? Detail, string? Field = null, long? CurrentVersion = null)
{
    /// <summary>
    /// Whether the refused write may have been applied all the same, so its outcome is unknown until it is sent again
    /// with the same idempotency key: <c>503 leadership-lost</c> (completed after the leader's lease ran out),
    /// <c>503 replication-unavailable</c> (in the leader's log, too few followers acknowledged it), <c>500 internal</c>
    /// (failed unexpectedly, perhaps after applying), and a <c>502</c>/<c>504</c> that is not TradeStore's own answer (a
    /// gateway in front of it lost the connection or gave up waiting after forwarding the request). Every other
    /// problem (4xx, <c>503 no-leader</c>, <c>busy</c>, <c>unavailable</c>, <c>seq-not-reached</c>, 429) changed nothing.
    /// </summary>
    [JsonIgnore]
    public bool IsInDoubt => Type switch
    {
        "urn:tradestore:problem:leadership-lost" or "urn:tradestore:problem:replication-unavailable" or "urn:tradestore:problem:internal" => true,
        "about:blank" => Status is 502 or 504,
        _ => false,
    };
}

/// <summary>A result column of a SQL query: its name and DuckDB type (e.g. <c>DECIMAL(18,8)</c>, <c>TIMESTAMP</c>).</summary>
public sealed record QueryColumn(string Name, string Type);

/// <summary>
/// The rows of a SQL query. Values are typed by their column: DuckDB decimals as <see cref="decimal"/> (also in a column
/// wider than 28 digits, which the server sends as strings; a value with more significant digits than
/// <see cref="decimal"/> holds stays the <see cref="string"/> of its exact digits), integers as <see cref="long"/>,
/// floating point as <see cref="double"/>, times as UTC <see cref="DateTimeOffset"/>, dates as <see cref="DateOnly"/>,
/// booleans, and text (and any other type) as <see cref="string"/>: lists, structs and maps (a list of decimals too) as
/// their JSON text, and a time or date without a calendar form (<c>infinity</c>) as DuckDB's text. SQL NULL is
/// <see langword="null"/>. <see cref="Truncated"/> says the server cut the answer at its row or byte limit.
/// </summary>
public sealed record QueryResult(IReadOnlyList<QueryColumn> Columns, IReadOnlyList<object?[]> Rows, bool Truncated)
{
    /// <summary>
    /// The answer's <c>TradeStore-Applied-Seq</c>: the journal seq DuckDB held when the query started, so every write up
    /// to it (compare a write's <see cref="Trade.LastSeq"/>) is in the rows. <see langword="null"/> when the server did
    /// not send it (a server older than the header).
    /// </summary>
    public long? AppliedSeq { get; init; }
}

/// <summary>The formats <see cref="TradeStoreClient.QueryStreamAsync(string, QueryFormat, CancellationToken)"/> can ask for.</summary>
public enum QueryFormat
{
    /// <summary><c>application/vnd.apache.arrow.stream</c>: an Arrow IPC stream.</summary>
    Arrow,

    /// <summary><c>application/vnd.apache.parquet</c>: a Parquet file.</summary>
    Parquet,

    /// <summary><c>text/csv</c>: RFC 4180 text with a header row.</summary>
    Csv,

    /// <summary><c>application/json</c>: <c>{columns, rows, rowCount, truncated}</c>.</summary>
    Json,
}
