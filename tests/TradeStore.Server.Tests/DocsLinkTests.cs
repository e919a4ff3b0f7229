using System.Text.RegularExpressions;
using TradeStore.TestSupport;

namespace TradeStore.Server.Tests;

/// <summary>
/// README.md and docs/*.md as a reader who has only the repository follows them: every relative link names a file
/// that exists, every <c>#anchor</c> names a heading of its target (as GitHub makes anchors), and nothing points to
/// <c>../shared</c>, which is not in the repository.
/// </summary>
public sealed partial class DocsLinkTests
{
    private static readonly string Root = TradeStoreProcess.RepositoryRoot;

    private static IEnumerable<string> Documents() =>
        new[] { Path.Combine(Root, "README.md") }.Concat(Directory.GetFiles(Path.Combine(Root, "docs"), "*.md"));

    [Fact]
    public void Docs_EveryRelativeLinkAndAnchor_Resolves()
    {
        var broken = new List<string>();
        foreach (var document in Documents())
        {
            var text = File.ReadAllText(document);
            foreach (Match link in Link().Matches(text))
            {
                var target = link.Groups["target"].Value;
                if (target.StartsWith("http://", StringComparison.Ordinal) || target.StartsWith("https://", StringComparison.Ordinal)
                    || target.StartsWith("mailto:", StringComparison.Ordinal))
                {
                    continue;
                }

                var hash = target.IndexOf('#', StringComparison.Ordinal);
                var path = hash < 0 ? target : target[..hash];
                var anchor = hash < 0 ? null : target[(hash + 1)..];
                var file = path.Length == 0 ? document : Path.GetFullPath(Path.Combine(Path.GetDirectoryName(document)!, path));
                var name = Path.GetRelativePath(Root, document);
                if (!File.Exists(file) && !Directory.Exists(file))
                {
                    broken.Add($"{name}: {target}: no such file");
                }
                else if (anchor is not null && file.EndsWith(".md", StringComparison.Ordinal) && !Anchors(file).Contains(anchor))
                {
                    broken.Add($"{name}: {target}: no such heading in {Path.GetRelativePath(Root, file)}");
                }
            }
        }

        Assert.True(broken.Count == 0, string.Join("\n", broken));
    }

    [Fact]
    public void Docs_NeverReferToShared()
    {
        var referring = Documents().Where(document => File.ReadAllText(document).Contains("../shared", StringComparison.Ordinal))
            .Select(document => Path.GetRelativePath(Root, document)).ToList();

        Assert.Empty(referring);
    }

    /// <summary>The anchors GitHub gives a document's headings: lower case, punctuation dropped, blanks as <c>-</c>, repeats numbered.</summary>
    private static HashSet<string> Anchors(string file)
    {
        var text = CodeBlock().Replace(File.ReadAllText(file), "");
        var anchors = new HashSet<string>(StringComparer.Ordinal);
        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (Match heading in Heading().Matches(text))
        {
            var title = Link().Replace(heading.Groups["title"].Value, "${text}");
            var slug = NotInAnchor().Replace(title.Trim().ToLowerInvariant(), "").Replace(' ', '-');
            var count = seen.GetValueOrDefault(slug);
            seen[slug] = count + 1;
            anchors.Add(count == 0 ? slug : $"{slug}-{count}");
        }

        return anchors;
    }

    [GeneratedRegex(@"\[(?<text>[^\]]*)\]\((?<target>[^)\s]+)\)")]
    private static partial Regex Link();

    [GeneratedRegex(@"^#{1,6}[ \t]+(?<title>.+?)[ \t]*$", RegexOptions.Multiline)]
    private static partial Regex Heading();

    [GeneratedRegex(@"^```.*?^```", RegexOptions.Multiline | RegexOptions.Singleline)]
    private static partial Regex CodeBlock();

    [GeneratedRegex(@"[^\p{L}\p{Nd}\p{Mn}\p{Pc} -]")]
    private static partial Regex NotInAnchor();
}
