namespace TradeStore.Core.Security;

/// <summary>The roles an API key can hold. Each role includes the ones before it: reader ⊂ trader ⊂ admin.</summary>
public static class ApiRoles
{
    /// <summary>Reads trades, history and positions.</summary>
    public const string Reader = "reader";

    /// <summary>Reads, and creates or changes trades.</summary>
    public const string Trader = "trader";

    /// <summary>Everything, including the SQL endpoint and operator endpoints.</summary>
    public const string Admin = "admin";

    public static readonly IReadOnlyList<string> All = [Reader, Trader, Admin];

    public static bool IsKnown(string? role) => role is Reader or Trader or Admin;

    /// <summary>The role itself and every role it includes.</summary>
    public static IReadOnlyList<string> Implied(string role) => role switch
    {
        Admin => [Admin, Trader, Reader],
        Trader => [Trader, Reader],
        Reader => [Reader],
        _ => [],
    };
}
