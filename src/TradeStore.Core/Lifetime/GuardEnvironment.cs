namespace TradeStore.Core.Lifetime;

/// <summary>What <c>tradestore guard</c> tells the <c>serve</c> it starts, through the child's environment.</summary>
public static class GuardEnvironment
{
    /// <summary>
    /// The guard's pid. serve stops by itself once its parent is no longer that process (a guard killed with SIGKILL
    /// cannot stop its child): <c>TradeStore.Server.Lifetime.GuardWatch</c>.
    /// </summary>
    public const string PidVariable = "TRADESTORE_GUARD_PID";

    /// <summary>
    /// A secret the guard makes up for each run and gives its children. The guard's liveness probe sends it in
    /// <see cref="ProbeHeader"/>; a <c>serve</c> that holds the same secret answers with its pid in <see cref="PidHeader"/>.
    /// So the guard knows that its own child answered, not another process that holds the port (the child then
    /// cannot bind it): once that other process' 200 counted as the child's, and the guard reported a child that never
    /// listened as running. Nobody without the secret learns the pid: <c>/health/live</c> still says only its status.
    /// </summary>
    public const string ProbeTokenVariable = "TRADESTORE_GUARD_PROBE_TOKEN";

    /// <summary>The request header in which the guard's probe carries <see cref="ProbeTokenVariable"/>'s secret.</summary>
    public const string ProbeHeader = "TradeStore-Guard-Probe";

    /// <summary>The response header in which a <c>serve</c> started by the guard answers the probe with its pid.</summary>
    public const string PidHeader = "TradeStore-Pid";
}
