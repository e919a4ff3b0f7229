namespace TradeStore.Core.Options;

/// <summary>
/// Marks an option whose value is a credential. Anything that prints configuration
/// (<c>tradestore config show</c>, logs, problem details) must redact it.
/// </summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class SecretAttribute : Attribute;
