namespace TradeStore.Client;

/// <summary>Generated idempotency keys: random, 128 bits, printable; one per command, reused by every retry of it.</summary>
public static class IdempotencyKeys
{
    /// <summary>The server's longest key.</summary>
    public const int MaxLength = 128;

    public static string New() => "tsc-" + Guid.NewGuid().ToString("N");

    /// <summary>
    /// A key given for the <c>Idempotency-Key</c> header, or <see cref="ArgumentException"/> naming
    /// <c>idempotencyKey</c>: 1–128 printable ASCII characters (space to <c>~</c>), not starting or ending with a space.
    /// Checked before anything is sent, because .NET cannot send a non-ASCII header (a transport error that would be
    /// retried as a broken connection and end "in doubt" though nothing left the process), a newline makes the server
    /// answer a bare 400, and HTTP drops outer spaces, so the server would record another key than the one given.
    /// </summary>
    internal static string Checked(string key)
    {
        if (key.Length is 0 or > MaxLength)
        {
            throw new ArgumentException($"idempotencyKey: must be 1-{MaxLength} characters, got {key.Length}.", "idempotencyKey");
        }

        var bad = key.AsSpan().IndexOfAnyExceptInRange(' ', '~');
        if (bad >= 0)
        {
            throw new ArgumentException(
                $"idempotencyKey: must be printable ASCII (space to '~'; it is sent as the Idempotency-Key header), got U+{(int)key[bad]:X4} at index {bad}.",
                "idempotencyKey");
        }

        if (key[0] == ' ' || key[^1] == ' ')
        {
            throw new ArgumentException("idempotencyKey: must not start or end with a space (HTTP drops them from a header value).", "idempotencyKey");
        }

        return key;
    }
}
