using Microsoft.Extensions.Configuration;

namespace TradeStore.Server.Configuration;

/// <summary>
/// Refuses a <c>Security:ApiKeys</c> entry whose fields two configuration layers give differently. The layers merge key
/// by key, and each layer numbers its keys from 0 (<c>[[Security.ApiKeys]]</c> in secrets.toml, a JSON array in
/// <c>--config</c>), so a key added in one layer would otherwise overwrite the field values of another layer's key with
/// the same index and keep the rest: one key silently gone, and the other with a mixture, such as the accounts of both
/// (<c>["X", "ACC2", "ACC3"]</c> for a key made for <c>X</c>). An entry may still be split over layers (name, role and
/// accounts in <c>--config</c>, its hash in secrets.toml), and a layer may repeat a value unchanged.
/// </summary>
internal static class ApiKeyEntrySources
{
    private const string Section = "Security:ApiKeys";

    private static readonly string[] ScalarFields = ["Name", "Hash", "Role"];

    /// <param name="root">The built configuration.</param>
    /// <param name="layers">A name for each of <paramref name="root"/>'s providers, in the same order.</param>
    /// <exception cref="ConfigurationException">Two layers give one entry's field different values; the message names the entry, the field and both layers.</exception>
    public static void RequireOneValuePerField(IConfigurationRoot root, IReadOnlyList<string> layers)
    {
        var providers = root.Providers.ToList();
        var indices = providers
            .SelectMany(provider => provider.GetChildKeys([], Section))
            .Distinct(StringComparer.OrdinalIgnoreCase)
            .Order(StringComparer.Ordinal);
        var conflicts = new List<string>();
        foreach (var index in indices)
        {
            var entry = $"{Section}:{index}";
            foreach (var field in ScalarFields)
            {
                Check(conflicts, entry, field, providers.Select((provider, i) =>
                    (layers[i], provider.TryGet($"{entry}:{field}", out var value) ? value : null)));
            }

            Check(conflicts, entry, "Accounts", providers.Select((provider, i) => (layers[i], Accounts(provider, $"{entry}:Accounts"))));
        }

        if (conflicts.Count > 0)
        {
            throw new ConfigurationException(string.Join(Environment.NewLine, conflicts) + Environment.NewLine +
                "Each layer numbers its API keys from 0 and the layers merge index by index, so these are two keys in one entry. " +
                "Keep every key in one place (secrets.toml, say), or give the entries of the environment or .env the next free indices.");
        }
    }

    /// <summary>A list's elements as one value: a layer that gives some of them gives the list.</summary>
    private static string? Accounts(IConfigurationProvider provider, string path)
    {
        var elements = provider.GetChildKeys([], path)
            .Distinct(StringComparer.OrdinalIgnoreCase)
            .OrderBy(index => int.TryParse(index, out var number) ? number : int.MaxValue)
            .Select(index => provider.TryGet($"{path}:{index}", out var value) ? $"{index}={value}" : index)
            .ToList();
        return elements.Count == 0 ? null : string.Join(", ", elements);
    }

    private static void Check(List<string> conflicts, string entry, string field, IEnumerable<(string Layer, string? Value)> values)
    {
        var given = values.Where(v => v.Value is not null).ToList();
        if (given.Select(v => v.Value).Distinct(StringComparer.Ordinal).Count() > 1)
        {
            // Never the values: a hash is a secret, and the layers say enough to find them.
            conflicts.Add($"{entry}:{field}: given differently by {string.Join(" and ", given.Select(v => v.Layer).Distinct())}.");
        }
    }
}
