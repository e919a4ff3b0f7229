using System.CommandLine;
using System.CommandLine.Parsing;

namespace TradeStore.Bench.Commands;

/// <summary>
/// The one way a benchmark option checks its value ("--name must be N or greater.", "--name must be between A and B.").
/// A check runs only on a value that parsed: System.CommandLine runs validators on a token it could not convert too
/// (<c>--duration abc</c>), and reading that value threw an unhandled exception (exit 134) instead of leaving the parser's
/// own one-line "Cannot parse argument" error.
/// </summary>
internal static class OptionRules
{
    public static void AtLeast(int least, params Option<int>[] options)
    {
        foreach (var option in options)
        {
            Check(option, value => value < least ? $"{option.Name} must be {least} or greater." : null);
        }
    }

    /// <summary>For an option without a default: when given, at least <paramref name="least"/>.</summary>
    public static void AtLeast(int least, params Option<int?>[] options)
    {
        foreach (var option in options)
        {
            Check(option, value => value < least ? $"{option.Name} must be {least} or greater." : null);
        }
    }

    public static void Between(int least, int most, params Option<int>[] options)
    {
        foreach (var option in options)
        {
            Check(option, value => value < least || value > most ? $"{option.Name} must be between {least} and {most}." : null);
        }
    }

    /// <summary>
    /// A file the benchmark writes when it ends (<c>--json</c>): a directory, or a path in a directory that does not exist,
    /// stopped the command there with an unhandled exception (exit 134), after the whole run.
    /// </summary>
    public static void WritableFile(params Option<string?>[] options)
    {
        foreach (var option in options)
        {
            Check(option, value => value is null ? null
                : Directory.Exists(value) ? $"{option.Name}: {Path.GetFullPath(value)} is a directory, not a file."
                : Path.GetDirectoryName(Path.GetFullPath(value)) is { } directory && !Directory.Exists(directory) ? $"{option.Name}: the directory {directory} does not exist."
                : null);
        }
    }

    /// <summary>
    /// A directory the benchmark writes into when it ends (<c>--output</c>, created when missing): not a file, nor below one.
    /// A path below a file (<c>--output notes.md/out</c>) failed in Directory.CreateDirectory after the whole run: an
    /// unhandled IOException (exit 134), the run's figures lost.
    /// </summary>
    public static void WritableDirectory(Option<string> option) =>
        Check(option, value =>
        {
            var path = Path.GetFullPath(value);
            var existing = path;
            while (!Path.Exists(existing) && Path.GetDirectoryName(existing) is { } parent)
            {
                existing = parent;
            }

            return !File.Exists(existing) ? null
                : existing == path ? $"{option.Name}: {path} is a file, not a directory."
                : $"{option.Name}: {existing} is a file, so {path} cannot be a directory.";
        });

    /// <summary>Adds a check of the option's parsed value; <paramref name="error"/> returns the message, or null when the value is fine.</summary>
    public static void Check<T>(Option<T> option, Func<T, string?> error) => option.Validators.Add(result =>
    {
        if (TryGetValue(result, out T value) && error(value) is { } message)
        {
            result.AddError(message);
        }
    });

    /// <summary>The option's value in a command-level check, or false when it did not parse (the parser reports that).</summary>
    public static bool TryGetValue<T>(CommandResult command, Option<T> option, out T value)
    {
        if (command.GetResult(option) is { } result)
        {
            return TryGetValue(result, out value);
        }

        value = command.GetValue(option)!;
        return true;
    }

    private static bool TryGetValue<T>(OptionResult result, out T value)
    {
        try
        {
            value = result.GetValueOrDefault<T>();
            return true;
        }
        catch (InvalidOperationException)
        {
            // Not a value of this type: the parser's own error says so.
            value = default!;
            return false;
        }
    }
}
