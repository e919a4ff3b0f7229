namespace TradeStore.Core.Lifetime;

/// <summary>
/// One piece of work the shutdown coordinator runs at its <see cref="ShutdownStage"/>. Each adapter registers its
/// own steps (see the <c>AddTradeStore…</c> registration methods), so the coordinator knows the order and nothing else.
/// Steps of one stage run one after the other in registration order. A step must be safe to run more than once.
/// </summary>
/// <param name="Stage">When it runs.</param>
/// <param name="Name">What it is, for the log (for example <c>redis projection</c>).</param>
/// <param name="RunAsync">The work; the token is cancelled when the host's shutdown timeout passes.</param>
public sealed record ShutdownStep(ShutdownStage Stage, string Name, Func<CancellationToken, Task> RunAsync);
