using System.Net.Sockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using TradeStore.Server.Configuration;

namespace TradeStore.Server.Security;

/// <summary>
/// Starts the server and checks the addresses it actually listens on. By design after start, from
/// <see cref="IServerAddressesFeature"/>: Kestrel can take its endpoints from its own configuration
/// (<c>Kestrel:Endpoints:*</c>) over <c>Server:Urls</c>, so checking the configured URLs alone let
/// <c>0.0.0.0</c> through with authentication off.
/// </summary>
public static class BoundAddresses
{
    /// <summary>
    /// Starts <paramref name="app"/>. A listener that cannot bind, or (with no API keys configured) an address that
    /// is not loopback, stops it again and throws, so the process exits 2 with the address and the cause (1 when another
    /// process holds the address).
    /// </summary>
    /// <exception cref="ConfigurationException">An address could not be bound, or is exposed without keys.</exception>
    /// <exception cref="ListenAddressInUseException">Another process listens on the address.</exception>
    public static async Task StartAsync(WebApplication app, CancellationToken cancellationToken = default)
    {
        try
        {
            await app.StartAsync(cancellationToken);
        }
        catch (Exception ex) when (BindFailure(ex) is { } cause)
        {
            // Kestrel's own message names the address; a bare SocketException ("Invalid argument") does not.
            var addresses = Of(app) is { Count: > 0 } bound ? string.Join(", ", bound) : app.Configuration["Server:Urls"];
            if (InUse(ex))
            {
                // By design not a configuration error: the address is right, another process has it (often a previous
                // instance still stopping), so a supervisor should retry rather than give up.
                throw new ListenAddressInUseException(InUseMessage(addresses, cause), ex);
            }

            throw new ConfigurationException($"Server:Urls: cannot listen on {addresses}: {cause}", ex);
        }

        var keys = app.Services.GetRequiredService<ApiKeyStore>();
        if (!keys.AuthenticationOff)
        {
            return;
        }

        var exposed = Of(app).Where(address => !Loopback.IsListenAddress(address)).ToList();
        if (exposed.Count > 0)
        {
            await app.StopAsync(CancellationToken.None);
            throw new ConfigurationException(
                $"the server listens on {string.Join(", ", exposed)}, which is not a loopback address (check Server:Urls and any Kestrel:Endpoints), " +
                "and no API keys are configured (Security:ApiKeys), so anyone who reaches it could read and write every trade. " +
                "Create a key with `tradestore keys new --role admin` and configure it, or listen on http://127.0.0.1.");
        }
    }

    /// <summary>
    /// Before the host is built: a <c>Server:Urls</c> address another process listens on (<see cref="ListenProbe"/>) is
    /// reported before the data directory is created or opened, so a second instance on a taken port changes nothing.
    /// </summary>
    /// <exception cref="ListenAddressInUseException">Another process listens on the address.</exception>
    public static void ThrowIfInUse(IConfiguration configuration)
    {
        // Kestrel:Endpoints, when configured, replace Server:Urls: only then are these the addresses Kestrel will bind.
        if (!configuration.GetSection("Kestrel:Endpoints").Exists() && ListenProbe.FirstInUse(configuration["Server:Urls"] ?? "") is { } held)
        {
            throw new ListenAddressInUseException(InUseMessage(held.Url, held.Cause.Message), held.Cause);
        }
    }

    private static string InUseMessage(string? addresses, string cause) =>
        $"Server:Urls: cannot listen on {addresses}: another process is listening there ({cause}). Stop it or pick another address.";

    /// <summary>The addresses the server listens on; empty before start or on a server without addresses (a test server).</summary>
    public static IReadOnlyList<string> Of(WebApplication app) =>
        app.Services.GetService<IServer>()?.Features.Get<IServerAddressesFeature>()?.Addresses.ToList() ?? [];

    /// <summary>The address and cause when <paramref name="exception"/> is Kestrel failing to bind; otherwise <see langword="null"/>.</summary>
    private static bool InUse(Exception exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            if (e is AddressInUseException || e is SocketException { SocketErrorCode: SocketError.AddressAlreadyInUse })
            {
                return true;
            }
        }

        return false;
    }

    private static string? BindFailure(Exception exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            if (e is AddressInUseException or SocketException
                || (e is IOException && e.Message.Contains("bind", StringComparison.OrdinalIgnoreCase)))
            {
                // Kestrel's IOException names the address ("Failed to bind to address http://127.0.0.1:5080: address already in use.").
                return exception is IOException || ReferenceEquals(e, exception) ? exception.Message : $"{exception.Message} ({e.Message})";
            }
        }

        return null;
    }
}

/// <summary>The configured listen address is held by another process: a condition of the moment, not of the configuration.</summary>
public sealed class ListenAddressInUseException(string message, Exception inner) : Exception(message, inner);
