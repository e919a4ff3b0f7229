using System.Security.Claims;

namespace TradeStore.Server.Security;

/// <summary>
/// The identity <see cref="ApiKeyAuthenticationHandler"/> gives a caller: its claims, and the account scope they
/// describe, made once per caller instead of read back from the claims on every request.
/// </summary>
public sealed class CallerIdentity : ClaimsIdentity
{
    public CallerIdentity(IEnumerable<Claim> claims, string authenticationType, AccountScope scope)
        : base(claims, authenticationType) => Scope = scope;

    private CallerIdentity(CallerIdentity other)
        : base(other) => Scope = other.Scope;

    /// <summary>The accounts the caller may read and write.</summary>
    public AccountScope Scope { get; }

    public override ClaimsIdentity Clone() => new CallerIdentity(this);
}
