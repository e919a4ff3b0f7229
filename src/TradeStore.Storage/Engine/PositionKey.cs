namespace TradeStore.Storage.Engine;

/// <summary>Where a position sits in the order of <c>GET /v1/positions</c>: by account, then symbol (ordinal).</summary>
internal readonly record struct PositionKey(string Account, string Symbol);
