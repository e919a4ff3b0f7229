namespace TradeStore.Server.Security;

/// <summary>Names of the authorization policies every endpoint is mapped with.</summary>
public static class SecurityPolicies
{
    /// <summary>Reads of trades, history and positions: reader, trader, admin.</summary>
    public const string Read = "tradestore:read";

    /// <summary>Commands: trader, admin.</summary>
    public const string Write = "tradestore:write";

    /// <summary><c>POST /v1/query</c>: admin, and reader/trader with <c>Security:Query:AllowReaders</c>.</summary>
    public const string Query = "tradestore:query";

    /// <summary><c>GET /metrics</c>, as <c>Security:Metrics</c> says.</summary>
    public const string Metrics = "tradestore:metrics";
}
