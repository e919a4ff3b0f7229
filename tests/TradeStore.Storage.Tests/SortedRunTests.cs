using TradeStore.Storage.Engine;

namespace TradeStore.Storage.Tests;

/// <summary>
/// The sorted run behind the position book: names added in any order are walked in ordinal order, each once, before
/// and after the overflow is merged into the array, and a run once taken never changes which names it walks.
/// </summary>
public sealed class SortedRunTests
{
    [Fact]
    public void NamesAddedInAnyOrder_WalkInOrder_AcrossMerges()
    {
        var random = new Random(38);
        var names = Enumerable.Range(0, 6_000).Select(i => $"N{i:D5}").OrderBy(_ => random.Next()).ToList();
        var run = SortedRun<Named, ByName>.Empty;
        var held = new SortedSet<string>(StringComparer.Ordinal);
        int merges = 0, mostOverflow = 0;
        for (var i = 0; i < names.Count; i++)
        {
            var before = run;
            run = run.With(new Named(names[i]));
            held.Add(names[i]);
            merges += run.OverflowCount == 0 && before.OverflowCount > 0 ? 1 : 0;
            mostOverflow = Math.Max(mostOverflow, run.OverflowCount);

            // The run taken before the name was added still walks what it held.
            Assert.Equal(held.Count - 1, Walk(before).Count);
            if (i % 97 == 0 || run.OverflowCount is 0 or 1)
            {
                Assert.Equal(held, Walk(run));
                Assert.Equal(held.Count, run.Count);
            }
        }

        Assert.Equal(held, Walk(run));
        Assert.All(names, name => Assert.Equal(name, run.Find(name)?.Name));
        Assert.Null(run.Find("N"));
        Assert.Null(run.Find("N99999"));

        // The overflow filled and was merged many times, up to 1/64 of the array.
        Assert.True(merges >= 20, $"{merges} merges");
        Assert.InRange(mostOverflow, 40, 6_000 / SortedRun<Named, ByName>.OverflowShare);
    }

    [Fact]
    public void OverflowItems_AtEitherEnd_AndBetweenTheSameTwoNames_WalkInOrder()
    {
        var run = SortedRun<Named, ByName>.Create(Enumerable.Range(0, 640).Select(i => new Named($"M{i * 10:D5}")));
        foreach (var name in new[] { "Z", "M00005", "A", "M00003", "M06395", "M00007", "M06391" })
        {
            run = run.With(new Named(name));
        }

        Assert.Equal(7, run.OverflowCount);
        var walked = Walk(run);
        Assert.Equal(647, walked.Count);
        Assert.Equal(walked.Order(StringComparer.Ordinal), walked);
        Assert.Equal(["A", "M00000", "M00003", "M00005", "M00007", "M00010"], walked.Take(6));
        Assert.Equal(["M06390", "M06391", "M06395", "Z"], walked.TakeLast(4));
    }

    [Fact]
    public void ANameHeld_IsRefused()
    {
        var run = SortedRun<Named, ByName>.Create([new Named("B"), new Named("A")]).With(new Named("C"));
        Assert.Throws<ArgumentException>(() => run.With(new Named("A")));
        Assert.Throws<ArgumentException>(() => run.With(new Named("C")));
        Assert.Throws<ArgumentException>(() => SortedRun<Named, ByName>.Create([new Named("B"), new Named("B")]));
        Assert.Equal(["A", "B", "C"], Walk(run));
    }

    /// <summary>
    /// The keyset seek of a page of positions: from any name (held or not, before the first or past the last) the run walks
    /// the names at or after it, in order, whichever of them wait in the overflow.
    /// </summary>
    [Fact]
    public void From_AnyName_WalksTheNamesAtOrAfterIt_InOrder()
    {
        var run = SortedRun<Named, ByName>.Create(Enumerable.Range(0, 640).Select(i => new Named($"M{i * 10:D5}")));
        foreach (var name in new[] { "Z", "M00005", "A", "M00003", "M06395", "M00007", "M06391" })
        {
            run = run.With(new Named(name));
        }

        Assert.Equal(7, run.OverflowCount);
        var held = Walk(run);
        foreach (var from in new[] { "", "A", "B", "M00000", "M00001", "M00003", "M00004", "M00005", "M00010", "M03000", "M06390", "M06391", "M06392", "M06395", "Y", "Z", "ZZ" })
        {
            var walked = new List<string>();
            foreach (var item in run.From(from))
            {
                walked.Add(item.Name);
            }

            Assert.Equal(held.Where(n => string.CompareOrdinal(n, from) >= 0), walked);
        }

        var none = SortedRun<Named, ByName>.Empty.From("A");
        Assert.False(none.MoveNext());
    }

    private static List<string> Walk(SortedRun<Named, ByName> run)
    {
        var names = new List<string>();
        foreach (var item in run)
        {
            names.Add(item.Name);
        }

        return names;
    }

    internal sealed record Named(string Name);

    internal readonly struct ByName : IRunName<Named>
    {
        public static string Of(Named item) => item.Name;
    }
}
