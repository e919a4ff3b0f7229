using System.Reflection;
using System.Text.RegularExpressions;

namespace TradeStore.Core.Migrations;

/// <summary>
/// The migrations a binary knows, in version order, loaded from scripts named <c>NNNN_name.up.sql</c> and
/// <c>NNNN_name.down.sql</c>. Versions start at 1 and have no gaps, and every up script has its down script.
/// </summary>
public sealed partial class MigrationSet
{
    private MigrationSet(IReadOnlyList<Migration> migrations)
    {
        Migrations = migrations;
    }

    public IReadOnlyList<Migration> Migrations { get; }

    /// <summary>The newest version this binary knows; 0 for an empty set.</summary>
    public int LatestVersion => Migrations.Count == 0 ? 0 : Migrations[^1].Version;

    public Migration? Find(int version) => Migrations.FirstOrDefault(m => m.Version == version);

    /// <summary>Builds a set from migrations; they must number 1..N without gaps.</summary>
    public static MigrationSet From(IEnumerable<Migration> migrations)
    {
        var ordered = migrations.OrderBy(m => m.Version).ToList();
        for (var i = 0; i < ordered.Count; i++)
        {
            if (ordered[i].Version != i + 1)
            {
                throw new InvalidOperationException(
                    $"Migration versions must run 1, 2, 3… without gaps or duplicates; found {string.Join(", ", ordered.Select(m => m.Id))}.");
            }
        }

        return new MigrationSet(ordered);
    }

    /// <summary>Builds a set from script files: (file name, text), names like <c>0001_initial.up.sql</c>.</summary>
    public static MigrationSet FromScripts(IEnumerable<KeyValuePair<string, string>> scripts)
    {
        var ups = new Dictionary<(int, string), string>();
        var downs = new Dictionary<(int, string), string>();
        foreach (var (fileName, text) in scripts)
        {
            var match = ScriptName().Match(fileName);
            if (!match.Success)
            {
                throw new InvalidOperationException($"Migration script '{fileName}' is not named NNNN_name.up.sql or NNNN_name.down.sql (name: lower-case letters, digits, '_').");
            }

            var key = (int.Parse(match.Groups["version"].Value, System.Globalization.CultureInfo.InvariantCulture), match.Groups["name"].Value);
            var scriptsOfKind = match.Groups["direction"].Value == "up" ? ups : downs;
            if (!scriptsOfKind.TryAdd(key, text))
            {
                throw new InvalidOperationException($"Migration script '{fileName}' appears twice.");
            }
        }

        foreach (var key in downs.Keys.Where(k => !ups.ContainsKey(k)))
        {
            throw new InvalidOperationException($"Migration {Migration.FormatId(key.Item1, key.Item2)} has a down script but no up script.");
        }

        var migrations = new List<Migration>();
        foreach (var ((version, name), up) in ups)
        {
            if (!downs.TryGetValue((version, name), out var down))
            {
                throw new InvalidOperationException($"Migration {Migration.FormatId(version, name)} has no down script ({Migration.FormatId(version, name)}.down.sql).");
            }

            migrations.Add(new Migration(version, name, up, down));
        }

        return From(migrations);
    }

    /// <summary>Loads the scripts embedded in <paramref name="assembly"/> whose resource names start with <paramref name="resourcePrefix"/>.</summary>
    public static MigrationSet FromEmbeddedResources(Assembly assembly, string resourcePrefix)
    {
        var scripts = new List<KeyValuePair<string, string>>();
        foreach (var resource in assembly.GetManifestResourceNames().Where(r => r.StartsWith(resourcePrefix, StringComparison.Ordinal) && r.EndsWith(".sql", StringComparison.Ordinal)))
        {
            using var stream = assembly.GetManifestResourceStream(resource)!;
            using var reader = new StreamReader(stream);
            scripts.Add(new(resource[resourcePrefix.Length..], reader.ReadToEnd()));
        }

        return scripts.Count > 0
            ? FromScripts(scripts)
            : throw new InvalidOperationException($"No migration scripts named {resourcePrefix}*.sql are embedded in {assembly.GetName().Name}.");
    }

    [GeneratedRegex(@"^(?<version>\d{4})_(?<name>[a-z0-9_]+)\.(?<direction>up|down)\.sql$")]
    private static partial Regex ScriptName();
}
