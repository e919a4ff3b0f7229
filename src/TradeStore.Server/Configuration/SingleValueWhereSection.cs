using System.Collections;
using Microsoft.Extensions.Configuration;

namespace TradeStore.Server.Configuration;

/// <summary>
/// Refuses a single value given where a setting is a list or a section (<c>Accounts = "ACC1"</c> in secrets.toml,
/// <c>TRADESTORE__SECURITY__APIKEYS=x</c>), and a list or section given where it is a single value
/// (<c>"Urls": ["…"]</c>), before the binder sees them: the binder's own words for the first named no key
/// ("unknown setting 'ErrorOnUnknownConfiguration' was set and binding has failed") or a .NET type
/// (<c>List`1[ApiKeyOptions]</c>). The value itself is never repeated: it may be a secret.
/// </summary>
internal static class SingleValueWhereSection
{
    /// <exception cref="ConfigurationException">A list or section of <typeparamref name="T"/> holds a single value, or a value of it a list or section; the message names the key.</exception>
    public static void Require<T>(IConfiguration configuration, string section) => Check(configuration, section, typeof(T), depth: 0);

    private static void Check(IConfiguration configuration, string path, Type type, int depth)
    {
        if (depth > 4)
        {
            return;
        }

        if (IsValue(type))
        {
            // The converse: a list or section where one value goes (Server:Urls as a JSON array, Redis:Password as a TOML
            // array) was bound as if unset (the listener stayed on the default address) or failed in the binder's words
            // ("Cannot create instance of type 'System.String'…"), naming no key.
            if (depth > 0 && configuration.GetSection(path).GetChildren().Any())
            {
                throw new ConfigurationException(
                    $"{path}: is a single value, got a list or section ({string.Join(", ", configuration.GetSection(path).GetChildren().Select(child => child.Path).Take(3))}); give it one value.");
            }

            return;
        }

        if (depth > 0 && configuration[path] is { Length: > 0 })
        {
            throw new ConfigurationException(Element(type) is { } element
                ? $"{path}: is a list, got a single value; give each item its own index ({path}:0, {path}:1, … in JSON or the environment, an array{(IsValue(element) ? string.Empty : " of tables")} in TOML)."
                : $"{path}: is a section of settings ({path}:…), got a single value.");
        }

        if (Element(type) is { } item)
        {
            foreach (var child in configuration.GetSection(path).GetChildren())
            {
                Check(configuration, child.Path, item, depth + 1);
            }

            return;
        }

        foreach (var property in type.GetProperties().Where(p => p.CanWrite))
        {
            Check(configuration, $"{path}:{property.Name}", property.PropertyType, depth + 1);
        }
    }

    private static bool IsValue(Type type)
    {
        var underlying = Nullable.GetUnderlyingType(type) ?? type;
        return underlying.IsPrimitive || underlying.IsEnum || underlying == typeof(string) || underlying == typeof(decimal) ||
               underlying == typeof(TimeSpan) || underlying == typeof(DateTimeOffset) || underlying == typeof(Uri);
    }

    /// <summary>The item type of a list setting; null for anything else.</summary>
    private static Type? Element(Type type) =>
        type != typeof(string) && typeof(IEnumerable).IsAssignableFrom(type) && type.IsGenericType ? type.GetGenericArguments()[0] : null;
}
