using System.Globalization;

namespace TradeStore.Storage.CommitLog;

/// <summary>Consecutive records of one term in a journal log, from <paramref name="FirstSeq"/> to the next run's start (or the log's end).</summary>
public sealed record TermRun(long Term, long FirstSeq)
{
    /// <summary>
    /// The last seq at which two logs hold the same record, from their term runs and last seqs: the highest seq both hold
    /// with the same term (a term's records are written once, by its leader, and copied unchanged, so the logs are
    /// identical up to there). 0 when they share nothing.
    /// </summary>
    public static long MatchPoint(IReadOnlyList<TermRun> mine, long myLastSeq, IReadOnlyList<TermRun> theirs, long theirLastSeq)
    {
        ArgumentNullException.ThrowIfNull(mine);
        ArgumentNullException.ThrowIfNull(theirs);
        var match = 0L;
        for (var i = 0; i < mine.Count; i++)
        {
            var myEnd = i + 1 < mine.Count ? mine[i + 1].FirstSeq - 1 : myLastSeq;
            for (var j = 0; j < theirs.Count; j++)
            {
                if (theirs[j].Term != mine[i].Term)
                {
                    continue;
                }

                var theirEnd = j + 1 < theirs.Count ? theirs[j + 1].FirstSeq - 1 : theirLastSeq;
                var start = Math.Max(mine[i].FirstSeq, theirs[j].FirstSeq);
                var end = Math.Min(myEnd, theirEnd);
                if (start <= end)
                {
                    match = Math.Max(match, end);
                }
            }
        }

        return match;
    }

    /// <summary>Runs as <c>term@firstSeq</c>, <c>,</c>-separated (the <c>TradeStore-Leader-Terms</c> header).</summary>
    public static string Format(IEnumerable<TermRun> runs) =>
        string.Join(',', runs.Select(r => string.Create(CultureInfo.InvariantCulture, $"{r.Term}@{r.FirstSeq}")));

    /// <summary>Parses <see cref="Format"/>; <see langword="null"/> when malformed.</summary>
    public static List<TermRun>? Parse(string? text)
    {
        var runs = new List<TermRun>();
        foreach (var part in (text ?? string.Empty).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var at = part.IndexOf('@', StringComparison.Ordinal);
            if (at <= 0 || !long.TryParse(part.AsSpan(0, at), NumberStyles.None, CultureInfo.InvariantCulture, out var term)
                || !long.TryParse(part.AsSpan(at + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var first))
            {
                return null;
            }

            runs.Add(new TermRun(term, first));
        }

        return runs;
    }
}
