namespace TradeStore.Server.Configuration;

/// <summary>The configuration cannot be used as given; the message names the key and what is wrong with it.</summary>
public sealed class ConfigurationException(string message, Exception? inner = null) : Exception(message, inner);
