using System.Reflection;
using System.Text.Json;
using System.Text.RegularExpressions;
using TradeStore.Core.Options;

namespace TradeStore.Server.Configuration;

/// <summary>Renders the effective settings as JSON with every <see cref="SecretAttribute"/> value replaced by <c>***</c>.</summary>
public static partial class ConfigurationPrinter
{
    public const string Redacted = "***";

    public static string ToJson(TradeStoreSettings settings)
    {
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            writer.WriteStartObject();
            WriteSection(writer, StorageOptions.SectionName, settings.Storage);
            WriteSection(writer, ServerOptions.SectionName, settings.Server);
            WriteSection(writer, RedisOptions.SectionName, settings.Redis);
            WriteSection(writer, ClickHouseOptions.SectionName, settings.ClickHouse);
            WriteSection(writer, EngineOptions.SectionName, settings.Engine);
            WriteSection(writer, ApiOptions.SectionName, settings.Api);
            WriteSection(writer, SecurityOptions.SectionName, settings.Security);
            WriteSection(writer, TradeStore.Cluster.ClusterOptions.SectionName, settings.Cluster);
            WriteSection(writer, Changes.ChangeFeedOptions.SectionName, settings.Changes);
            writer.WriteEndObject();
        }

        return System.Text.Encoding.UTF8.GetString(stream.ToArray());
    }

    /// <summary>Removes a password embedded in a connection string (<c>host:6379,password=x</c>) or in a URL (<c>http://u:pw@host</c>).</summary>
    public static string RedactConnectionString(string value) => Core.Security.UrlRedaction.Redact(PasswordPair().Replace(value, "$1" + Redacted));

    private static void WriteSection(Utf8JsonWriter writer, string name, object options)
    {
        writer.WritePropertyName(name);
        WriteObject(writer, options);
    }

    /// <summary>Nested option objects (<c>Security:Query</c>) and lists (<c>Security:ApiKeys</c>) are written with the same redaction.</summary>
    private static void WriteObject(Utf8JsonWriter writer, object options)
    {
        writer.WriteStartObject();
        foreach (var property in options.GetType().GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            if (!property.CanWrite)
            {
                continue; // derived values (Enabled, DatabasePath) are not settings
            }

            var value = property.GetValue(options);
            if (value is null)
            {
                writer.WriteNull(property.Name);
            }
            else if (property.GetCustomAttribute<SecretAttribute>() is not null)
            {
                writer.WriteString(property.Name, Redacted);
            }
            else if (value is System.Collections.IList list)
            {
                writer.WriteStartArray(property.Name);
                foreach (var item in list)
                {
                    if (item is string text)
                    {
                        writer.WriteStringValue(text);
                    }
                    else if (item is not null)
                    {
                        WriteObject(writer, item);
                    }
                }

                writer.WriteEndArray();
            }
            else if (value.GetType().Namespace == typeof(ApiOptions).Namespace && value.GetType().IsClass)
            {
                writer.WritePropertyName(property.Name);
                WriteObject(writer, value);
            }
            else if (value is bool flag)
            {
                writer.WriteBoolean(property.Name, flag);
            }
            else if (value is int or long or double or decimal)
            {
                writer.WritePropertyName(property.Name);
                writer.WriteRawValue(Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture)!);
            }
            else
            {
                var text = Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture) ?? string.Empty;
                writer.WriteString(property.Name, RedactConnectionString(text));
            }
        }

        writer.WriteEndObject();
    }

    [GeneratedRegex("((?:password|pwd)\\s*=\\s*)[^,;]*", RegexOptions.IgnoreCase)]
    private static partial Regex PasswordPair();
}
