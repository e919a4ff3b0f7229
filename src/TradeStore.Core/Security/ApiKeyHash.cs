using System.Buffers.Text;
using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;
using System.Text;

namespace TradeStore.Core.Security;

/// <summary>
/// API keys and their stored hashes. A key is <c>ts_&lt;id&gt;_&lt;secret&gt;</c>: the public id selects the
/// configured entry, the 256-bit random secret is checked against <c>sha256$&lt;id&gt;$&lt;salt&gt;$&lt;hash&gt;</c>
/// where hash = SHA-256(salt ‖ secret), compared in constant time.
/// </summary>
/// <remarks>
/// By design a fast hash, not PBKDF2: a slow hash protects low-entropy passwords, but these secrets are
/// 32 random bytes (no dictionary, 2^256 guesses), and a per-request PBKDF2 at 100,000 iterations would cost
/// tens of milliseconds of CPU on every trade request.
/// </remarks>
public static class ApiKeyHash
{
    public const string KeyPrefix = "ts_";
    public const string Algorithm = "sha256";
    private const int IdBytes = 8;
    private const int SecretBytes = 32;
    private const int SaltBytes = 16;

    /// <summary>A fresh random key and the hash to configure for it.</summary>
    public static (string Key, string Hash) Generate()
    {
        var id = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(IdBytes));
        var secret = Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(SecretBytes));
        var salt = RandomNumberGenerator.GetBytes(SaltBytes);
        var hash = Digest(salt, secret);
        return ($"{KeyPrefix}{id}_{secret}", $"{Algorithm}${id}${Convert.ToBase64String(salt)}${Convert.ToBase64String(hash)}");
    }

    /// <summary>Splits a presented key into its id and secret; <see langword="false"/> when it is not of the form <c>ts_&lt;id&gt;_&lt;secret&gt;</c>.</summary>
    public static bool TryParseKey(string key, [NotNullWhen(true)] out string? id, [NotNullWhen(true)] out string? secret)
    {
        id = secret = null;
        if (!key.StartsWith(KeyPrefix, StringComparison.Ordinal))
        {
            return false;
        }

        var rest = key.AsSpan(KeyPrefix.Length);
        var cut = rest.IndexOf('_');
        if (cut <= 0 || cut == rest.Length - 1)
        {
            return false;
        }

        id = rest[..cut].ToString();
        secret = rest[(cut + 1)..].ToString();
        return true;
    }

    /// <summary>Parses a configured hash; <paramref name="error"/> says what is wrong (never echoing the value).</summary>
    public static bool TryParseHash(string? hash, [NotNullWhen(true)] out StoredKeyHash? stored, [NotNullWhen(false)] out string? error)
    {
        stored = null;
        var parts = (hash ?? "").Split('$');
        if (parts.Length != 4 || parts[0] != Algorithm || parts[1].Length == 0)
        {
            error = $"must have the form {Algorithm}$<id>$<salt>$<hash> as printed by `tradestore keys new`.";
            return false;
        }

        try
        {
            var salt = Convert.FromBase64String(parts[2]);
            var digest = Convert.FromBase64String(parts[3]);
            if (salt.Length < 8 || digest.Length != SHA256.HashSizeInBytes)
            {
                error = "has a salt shorter than 8 bytes or a hash that is not 32 bytes.";
                return false;
            }

            stored = new StoredKeyHash(parts[1], salt, digest);
            error = null;
            return true;
        }
        catch (FormatException)
        {
            error = "has a salt or hash that is not base64.";
            return false;
        }
    }

    internal static byte[] Digest(byte[] salt, string secret)
    {
        var secretBytes = Encoding.UTF8.GetBytes(secret);
        var input = new byte[salt.Length + secretBytes.Length];
        salt.CopyTo(input, 0);
        secretBytes.CopyTo(input, salt.Length);
        return SHA256.HashData(input);
    }
}

/// <summary>A parsed <c>sha256$id$salt$hash</c>: checks a presented secret in constant time.</summary>
public sealed class StoredKeyHash(string id, byte[] salt, byte[] digest)
{
    public string Id { get; } = id;

    public bool Matches(string secret) => CryptographicOperations.FixedTimeEquals(ApiKeyHash.Digest(salt, secret), digest);
}
