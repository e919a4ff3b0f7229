using System.Collections.Frozen;
using TradeStore.Core.Options;
using TradeStore.Core.Security;

namespace TradeStore.Server.Security;

/// <summary>One configured key, ready to check: its name, role and account scope.</summary>
public sealed record ApiKeyEntry(string Name, string Role, AccountScope Scope, StoredKeyHash Hash);

/// <summary>The configured API keys by public id. Empty means authentication is off (loopback callers only).</summary>
public sealed class ApiKeyStore
{
    // A stand-in checked when the id is unknown, so an unknown id costs the same hash as a known one.
    private static readonly StoredKeyHash Decoy = ApiKeyHash.TryParseHash(ApiKeyHash.Generate().Hash, out var decoy, out _) ? decoy : null!;
    private readonly FrozenDictionary<string, ApiKeyEntry> _byId;

    public ApiKeyStore(SecurityOptions options)
    {
        var entries = new Dictionary<string, ApiKeyEntry>(StringComparer.Ordinal);
        foreach (var key in options.ApiKeys)
        {
            // Validated at start-up (SecurityOptions.Validate): the hash parses and ids are unique.
            if (ApiKeyHash.TryParseHash(key.Hash, out var stored, out _))
            {
                entries[stored.Id] = new ApiKeyEntry(key.Name, key.Role, AccountScope.Of(key.Accounts), stored);
            }
        }

        _byId = entries.ToFrozenDictionary(StringComparer.Ordinal);
    }

    public bool AuthenticationOff => _byId.Count == 0;

    public int Count => _byId.Count;

    /// <summary>The entry whose hash matches <paramref name="key"/>, or <see langword="null"/>.</summary>
    public ApiKeyEntry? Find(string key)
    {
        if (!ApiKeyHash.TryParseKey(key, out var id, out var secret))
        {
            return null;
        }

        if (_byId.TryGetValue(id, out var entry))
        {
            return entry.Hash.Matches(secret) ? entry : null;
        }

        _ = Decoy.Matches(secret);
        return null;
    }
}
