using CsCheck;
using TradeStore.Core.Trades;
using TradeStore.Storage.Engine;

namespace TradeStore.Storage.Tests;

/// <summary>
/// The held form of a stored idempotency key (<see cref="HeldKey"/>), read in place, against the string form it
/// replaces in the index (<see cref="IdempotencyKeys.Split"/>): the digest of the same lookup, the same fingerprint.
/// </summary>
public sealed class HeldKeyTests
{
    private static readonly Gen<string> Namespaces = Gen.OneOf(Gen.Const(IdempotencyKeys.Anonymous), Gen.String[Gen.Char["0123456789abcdef_"], 1, 24]);

    /// <summary>Client keys as a caller may send them (printable, up to 128) and longer ones (engine-direct, past the stack buffer).</summary>
    private static readonly Gen<string> ClientKeys = Gen.OneOf(Gen.String[Gen.Char[' ', '~'], 1, 128], Gen.String[Gen.Char['a', 'z'], 200, 400]);

    [Fact]
    public void Of_KeyInTheStoredForm_DigestOfItsLookupAndItsFingerprint() =>
        Gen.Select(Namespaces, ClientKeys, Gen.Int[0, 1000]).Sample((caller, key, amount) =>
        {
            var stored = IdempotencyKeys.Scope(caller, new FillTrade("T1", amount, 10m, IdempotencyKey: key))!;
            var (lookup, fingerprint) = IdempotencyKeys.Split(stored);

            var held = HeldKey.Of(stored);

            Assert.Equal(KeyDigest.Of(lookup), held.Lookup);
            Assert.Equal(fingerprint, held.Fingerprint.Text);
            Assert.False(held.IsPlain);
        });

    [Theory]
    [InlineData("plain-key")]
    [InlineData("anonymous:key-1")]
    [InlineData("a:not-a-fingerprint:key")]
    [InlineData("0a1b:0123456789ABCDEF0123456789ABCDEF:key")]
    public void Of_KeyNotInTheStoredForm_ItsOwnLookupWithoutFingerprint(string stored)
    {
        var held = HeldKey.Of(stored);

        Assert.Equal(KeyDigest.Of(stored), held.Lookup);
        Assert.True(held.IsPlain);
        Assert.Null(held.Fingerprint.Text);
    }

    [Fact]
    public void Of_SameClientKeyOfTwoCallers_TwoLookups()
    {
        var command = new CancelTrade("T1", IdempotencyKey: "order-1");

        Assert.NotEqual(HeldKey.Of(IdempotencyKeys.Scope("0a1b2c3d", command)!).Lookup, HeldKey.Of(IdempotencyKeys.Scope("4e5f6a7b", command)!).Lookup);
        Assert.NotEqual(HeldKey.Of(IdempotencyKeys.Scope("0a1b2c3d", command)!).Lookup, KeyDigest.Of("order-1"));
    }

    [Fact]
    public void Of_PlainKeyWithTheNamespacedLookupText_SameLookup() =>
        // As when the table was keyed by text: a plain key spelled like a caller's lookup is that lookup (IdempotencyKeys' remarks).
        Assert.Equal(HeldKey.Of("anonymous:order-1").Lookup, HeldKey.Of(IdempotencyKeys.Scope(IdempotencyKeys.Anonymous, new CancelTrade("T1", IdempotencyKey: "order-1"))!).Lookup);
}
