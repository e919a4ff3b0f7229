using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace TradeStore.IntegrationTests;

/// <summary>A self-signed certificate and its key as PEM files, for a real <c>serve</c> on an <c>https://</c> address.</summary>
internal sealed record ServerCertificate(string CertificatePath, string KeyPath, string Thumbprint)
{
    /// <summary>Writes <c>cert.pem</c> and <c>key.pem</c> into <paramref name="directory"/>, for <paramref name="subject"/> (<c>CN=…</c>), valid for a day.</summary>
    public static ServerCertificate WriteSelfSigned(string directory, string subject)
    {
        using var rsa = RSA.Create(2048);
        var request = new CertificateRequest(subject, rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        var written = new ServerCertificate(Path.Combine(directory, "cert.pem"), Path.Combine(directory, "key.pem"), certificate.Thumbprint);
        File.WriteAllText(written.CertificatePath, certificate.ExportCertificatePem());
        File.WriteAllText(written.KeyPath, rsa.ExportPkcs8PrivateKeyPem());
        return written;
    }

    /// <summary>The environment that makes it serve's <c>Kestrel:Certificates:Default</c>.</summary>
    public Dictionary<string, string> AsKestrelDefault() => new()
    {
        ["TRADESTORE__KESTREL__CERTIFICATES__DEFAULT__PATH"] = CertificatePath,
        ["TRADESTORE__KESTREL__CERTIFICATES__DEFAULT__KEYPATH"] = KeyPath,
    };
}
