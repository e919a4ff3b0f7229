namespace TradeStore.Core.Lifetime;

/// <summary>What <c>tradestore guard</c> tells the <c>serve</c> it starts, through the child's environment.</summary>
public static class GuardEnvironment
{
    /// <summary>
    /// The guard's pid. serve stops by itself once its parent is no longer that process (a guard killed with SIGKILL
    /// cannot stop its child): <c>TradeStore.Server.Lifetime.GuardWatch</c>.
    /// </summary>
    public const string PidVariable = "TRADESTORE_GUARD_PID";
}
