using System.Security.Claims;

namespace TradeStore.Server.Security;

/// <summary>The accounts a caller may read and write: every account, or a fixed set.</summary>
public sealed class AccountScope
{
    public const string ClaimType = "tradestore:account";
    public const string AllAccounts = "*";

    public static readonly AccountScope Everything = new(null);

    private readonly HashSet<string>? _accounts;

    private AccountScope(HashSet<string>? accounts) => _accounts = accounts;

    /// <summary><see langword="true"/> when the caller may touch every account.</summary>
    public bool IsAll => _accounts is null;

    /// <summary>The accounts of a scoped caller, sorted; empty for <see cref="IsAll"/>.</summary>
    public IReadOnlyList<string> Accounts => _accounts is null ? [] : _accounts.Order(StringComparer.Ordinal).ToList();

    public static AccountScope Of(IReadOnlyCollection<string> accounts) =>
        accounts.Count == 0 ? Everything : new AccountScope(new HashSet<string>(accounts, StringComparer.Ordinal));

    /// <summary>The scope carried by an authenticated principal; a principal without scope claims may touch nothing.</summary>
    public static AccountScope Of(ClaimsPrincipal user)
    {
        var claims = user.FindAll(ClaimType).Select(c => c.Value).ToList();
        return claims.Contains(AllAccounts) ? Everything : new AccountScope(new HashSet<string>(claims, StringComparer.Ordinal));
    }

    public bool Allows(string account) => _accounts is null || _accounts.Contains(account);

    public IEnumerable<Claim> ToClaims() => _accounts is null ? [new Claim(ClaimType, AllAccounts)] : _accounts.Select(a => new Claim(ClaimType, a));
}
