namespace TradeStore.Client;

/// <summary>Generated idempotency keys: random, 128 bits, printable; one per command, reused by every retry of it.</summary>
public static class IdempotencyKeys
{
    public static string New() => "tsc-" + Guid.NewGuid().ToString("N");
}
