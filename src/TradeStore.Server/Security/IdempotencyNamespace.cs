using Microsoft.AspNetCore.Http;
using TradeStore.Core.Trades;

namespace TradeStore.Server.Security;

/// <summary>
/// Puts a command's <c>Idempotency-Key</c> in its caller's namespace (<see cref="IdempotencyKeys"/>): the API key's
/// public id, or <c>anonymous</c> for a caller without a key. By design the key id rather than the key's name: a name
/// may be given to a new key, an id never is.
/// </summary>
public static class IdempotencyNamespace
{
    /// <summary>The claim holding the public id of the API key that authenticated the request.</summary>
    public const string KeyIdClaimType = "tradestore:key-id";

    public static string Of(HttpContext context) => context.User.FindFirst(KeyIdClaimType)?.Value.Replace(':', '_') ?? IdempotencyKeys.Anonymous;

    /// <summary><paramref name="command"/> with its key namespaced and fingerprinted; unchanged without a key.</summary>
    public static TradeCommand Apply(HttpContext context, TradeCommand command) =>
        command.IdempotencyKey is not null && IdempotencyKeys.Scope(Of(context), command) is { } scoped ? command with { IdempotencyKey = scoped } : command;
}
