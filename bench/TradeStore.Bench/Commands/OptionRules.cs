using System.CommandLine;

namespace TradeStore.Bench.Commands;

/// <summary>The one way a benchmark option refuses a number below its least value: "--name must be N or greater."</summary>
internal static class OptionRules
{
    public static void AtLeast(int least, params Option<int>[] options)
    {
        foreach (var option in options)
        {
            option.Validators.Add(result =>
            {
                if (result.GetValueOrDefault<int>() < least)
                {
                    result.AddError($"{result.Option.Name} must be {least} or greater.");
                }
            });
        }
    }
}
