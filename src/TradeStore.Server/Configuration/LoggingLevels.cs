using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;

namespace TradeStore.Server.Configuration;

/// <summary>
/// The levels of the <c>Logging</c> section (.NET's logging configuration): <c>Logging:LogLevel:CATEGORY</c> and a
/// provider's <c>Logging:PROVIDER:LogLevel:CATEGORY</c>. .NET reads them only when the first logger is made, and a level it
/// does not know (<c>Verbose</c>, a typo) then stopped <c>serve</c> with an unhandled exception and its stack trace (exit
/// code 134) instead of a configuration error naming the key.
/// </summary>
public static class LoggingLevels
{
    public const string SectionName = "Logging";

    private const string LevelsKey = "LogLevel";

    /// <summary>The levels .NET does not take, each naming its key; empty when they are fine (or absent).</summary>
    public static IReadOnlyList<string> Validate(IConfiguration configuration)
    {
        var logging = configuration.GetSection(SectionName);
        var levelSections = logging.GetChildren()
            .Where(child => !child.Key.Equals(LevelsKey, StringComparison.OrdinalIgnoreCase))
            .Select(provider => provider.GetSection(LevelsKey))
            .Prepend(logging.GetSection(LevelsKey));
        var names = Enum.GetNames<LogLevel>();
        return levelSections
            .SelectMany(section => section.GetChildren())
            .Where(level => !string.IsNullOrEmpty(level.Value) && !names.Contains(level.Value.Trim(), StringComparer.OrdinalIgnoreCase))
            .Select(level => $"{level.Path}: must be one of {string.Join(", ", names)}; got '{level.Value}'.")
            .ToList();
    }
}
