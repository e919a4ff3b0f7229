using System.Globalization;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using TradeStore.Core.Trades;

namespace TradeStore.Storage.Engine;

/// <summary>
/// A stored idempotency key (<see cref="IdempotencyKeys.Scope"/>) as the index holds it: the digest of what it is looked
/// up by (caller and key, <see cref="IdempotencyKeys.Split"/>'s lookup) and its request's fingerprint. Taken once per
/// command, when it is submitted, and passed on to the writer's decision and the index.
/// </summary>
internal readonly record struct HeldKey(KeyDigest Lookup, HeldFingerprint Fingerprint)
{
    /// <summary>The longest lookup hashed from the stack; longer ones (engine-direct keys only) take an array.</summary>
    private const int StackChars = 256;

    /// <summary>Whether the key was stored plain (no caller, no fingerprint).</summary>
    public bool IsPlain => Fingerprint.IsNone;

    /// <summary>The held form of <paramref name="stored"/>, read in place (no lookup or fingerprint string is made).</summary>
    public static HeldKey Of(string stored)
    {
        var at = IdempotencyKeys.FingerprintAt(stored);
        if (at < 0)
        {
            return new HeldKey(KeyDigest.Of(stored), default);
        }

        // The lookup is the namespace with its ':' (before the fingerprint) and the client key (after the fingerprint's ':').
        var keyAt = at + IdempotencyKeys.FingerprintLength + 1;
        var length = stored.Length - IdempotencyKeys.FingerprintLength - 1;
        Span<char> lookup = length <= StackChars ? stackalloc char[length] : new char[length];
        stored.AsSpan(0, at).CopyTo(lookup);
        stored.AsSpan(keyAt).CopyTo(lookup[at..]);
        return new HeldKey(KeyDigest.Of(lookup), HeldFingerprint.From(stored.AsSpan(at, IdempotencyKeys.FingerprintLength)));
    }
}

/// <summary>
/// The 128-bit SipHash-2-4 of a key's lookup text (its UTF-16 code units) under a key drawn at random when the process
/// starts: what the idempotency table is keyed by instead of the text, 16 bytes inside the entry rather than a string of
/// 64 bytes or more beside it. docs/reads.md ("Idempotency keys in memory") gives the collision argument; in short, two
/// lookups share a digest with a probability of about 2^-128 a pair, and no caller can aim for another's digest: a
/// pseudorandom function's output under a key it never learns, of which it never sees one.
/// </summary>
/// <remarks>
/// By design in memory only, never stored: the journal keeps every key's text, and the table is rebuilt from it at
/// start-up, so the digest is free to differ from one process to the next. Not SHA-256 (measured first): its 1-2 µs a
/// key, mostly the call's own cost, made a start-up that loads 1,000,000 keys seconds slower on this machine. Not a
/// fast unkeyed or merely seeded 128-bit hash (XXH3-128): pairs of inputs chosen without its seed collide far more often
/// than 2^-128, and the table must keep one caller's keys from ever answering for another's.
/// </remarks>
internal readonly record struct KeyDigest(ulong High, ulong Low)
{
    private static readonly (ulong K0, ulong K1) Secret = NewSecret();

    /// <summary>The digest of <paramref name="lookup"/> in this process.</summary>
    public static KeyDigest Of(ReadOnlySpan<char> lookup)
    {
        var (first, second) = SipHash128.Hash(Secret.K0, Secret.K1, MemoryMarshal.AsBytes(lookup));
        return new KeyDigest(first, second);
    }

    /// <summary>Already uniform: its low bits are the bucket's hash.</summary>
    public override int GetHashCode() => (int)Low;

    private static (ulong, ulong) NewSecret()
    {
        Span<byte> secret = stackalloc byte[16];
        RandomNumberGenerator.Fill(secret);
        return (MemoryMarshal.Read<ulong>(secret), MemoryMarshal.Read<ulong>(secret[8..]));
    }
}

/// <summary>
/// A key's fingerprint (<see cref="IdempotencyKeys.Fingerprint(TradeCommand)"/>, 32 hex digits) as the index holds it: its
/// 16 bytes inside the key's record. Until 2026-12-05 the record held the 32-character string, 88 bytes of heap per key
/// beside the record's 8-byte reference: of about 191 bytes a key sent over HTTP cost, measured on a server.
/// </summary>
/// <remarks>
/// By design the default value (all zero) stands for "no fingerprint", a key stored plain: a fingerprint is the first
/// 128 bits of a SHA-256, which are never all zero in practice.
/// </remarks>
internal readonly record struct HeldFingerprint(ulong High, ulong Low)
{
    /// <summary>Whether the key was stored plain, without a fingerprint.</summary>
    public bool IsNone => High == 0 && Low == 0;

    /// <summary>The 32 lowercase hex digits of a fingerprint, or <see langword="null"/> for none (a plain key).</summary>
    public string? Text => IsNone ? null : string.Create(CultureInfo.InvariantCulture, $"{High:x16}{Low:x16}");

    /// <summary>The held form of the 32 lowercase hex digits <paramref name="hex"/> (<see cref="IdempotencyKeys.FingerprintAt"/>).</summary>
    public static HeldFingerprint From(ReadOnlySpan<char> hex) =>
        new(ulong.Parse(hex[..16], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture),
            ulong.Parse(hex[16..], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture));
}
