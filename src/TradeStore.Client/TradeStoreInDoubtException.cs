namespace TradeStore.Client;

/// <summary>
/// A command's outcome is unknown: an attempt of it reached (or may have reached) the server and its answer was lost
/// (the connection dropped or reset after the request was sent, or no answer came within
/// <see cref="TradeStoreClientOptions.Timeout"/>), and no later attempt got a definite answer. It may have been applied.
/// Send the same command again with the same <see cref="IdempotencyKey"/>: if it was applied, the service answers its
/// original result and writes nothing. <see cref="Exception.InnerException"/> is the last attempt's failure (a refused
/// connection, say, which alone would mean "not applied", but an earlier attempt may have been).
/// </summary>
/// <remarks>
/// It is a <see cref="TimeoutException"/>, which is what earlier versions threw when every attempt timed out, so a
/// <c>catch (TimeoutException)</c> written for "applied or not, unknown" covers every in-doubt case. A connection
/// refused on every attempt (nothing was ever sent) is not in doubt and stays the <see cref="HttpRequestException"/>.
/// </remarks>
public sealed class TradeStoreInDoubtException : TimeoutException
{
    public TradeStoreInDoubtException()
        : base("The command may have been applied.")
    {
    }

    public TradeStoreInDoubtException(string message)
        : base(message)
    {
    }

    public TradeStoreInDoubtException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public TradeStoreInDoubtException(string message, string? idempotencyKey, Exception innerException)
        : base(message, innerException)
    {
        IdempotencyKey = idempotencyKey;
    }

    /// <summary>The command's key (null for a batch, whose items carry their own): send the command again with it.</summary>
    public string? IdempotencyKey { get; }

    /// <summary>A batch's commands as sent, each with its idempotency key (null for a single command): send them again.</summary>
    public IReadOnlyList<BatchCommand>? BatchCommands { get; internal set; }
}
