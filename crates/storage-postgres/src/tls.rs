//! TLS to PostgreSQL, through rustls (no OpenSSL).
//!
//! The connection string's `sslmode` decides, as with libpq, with two
//! differences that err on the safe side:
//! - **no `sslmode` in the URL means `disable`** (libpq: `prefer`). A
//!   server with TLS switched on usually has a self-signed certificate
//!   (Debian's default), which a verifying client refuses; an upgrade of
//!   threadsync must not start refusing a database it reached before.
//! - **`prefer` and `require` always verify** the server's certificate and
//!   host name (libpq verifies only with `verify-ca`/`verify-full`):
//!   encryption to an unauthenticated peer protects against little. The
//!   trusted roots are the system's (`/etc/ssl/certs`, or `SSL_CERT_FILE` /
//!   `SSL_CERT_DIR`) plus the PEM file of `PgOptions::ca_file` (a private
//!   CA, or the server's own self-signed certificate).
//!
//! `prefer` falls back to plain text when the server offers no TLS;
//! `require` fails then.

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use rustls::{ClientConfig, RootCertStore};
use std::path::Path;
use std::sync::Arc;
use threadsync_storage::{StorageError, StorageResult};
use tokio_postgres::config::SslMode;
use tokio_postgres_rustls::MakeRustlsConnect;

/// Whether `url` names an `sslmode` (URL or key-value form).
pub(crate) fn names_sslmode(url: &str) -> bool {
    url.to_ascii_lowercase().contains("sslmode")
}

/// The connector for every connection of a store: the pool's, the
/// listener's and the first one.
pub(crate) fn connector(ca_file: Option<&Path>) -> StorageResult<MakeRustlsConnect> {
    let mut roots = RootCertStore::empty();
    // Unreadable entries of the system store are skipped: one bad file must
    // not keep the server from trusting the others.
    let native = rustls_native_certs::load_native_certs();
    roots.add_parsable_certificates(native.certs);
    if let Some(path) = ca_file {
        let certs = CertificateDer::pem_file_iter(path)
            .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
            .map_err(|e| StorageError::Backend(format!("cannot read the CA file {}: {e}", path.display())))?;
        if certs.is_empty() {
            return Err(StorageError::Backend(format!("no certificate in the CA file {}", path.display())));
        }
        for cert in certs {
            roots.add(cert).map_err(|e| {
                StorageError::Backend(format!("invalid certificate in the CA file {}: {e}", path.display()))
            })?;
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| StorageError::Backend(format!("TLS set-up: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(MakeRustlsConnect::new(config))
}

/// Applies the rule above to a parsed configuration.
pub(crate) fn default_to_disable(config: &mut tokio_postgres::Config, url: &str) {
    if !names_sslmode(url) {
        config.ssl_mode(SslMode::Disable);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_sslmode_means_plain_text() {
        let url = "postgres://u@localhost/db";
        let mut config: tokio_postgres::Config = url.parse().expect("url");
        default_to_disable(&mut config, url);
        assert_eq!(config.get_ssl_mode(), SslMode::Disable);
        let url = "postgres://u@localhost/db?sslmode=require";
        let mut config: tokio_postgres::Config = url.parse().expect("url");
        default_to_disable(&mut config, url);
        assert_eq!(config.get_ssl_mode(), SslMode::Require);
    }

    #[test]
    fn a_bad_ca_file_is_a_clear_error() {
        let missing = connector(Some(Path::new("/nonexistent/ca.pem"))).map(|_| ());
        assert!(
            matches!(&missing, Err(StorageError::Backend(m)) if m.contains("/nonexistent/ca.pem")),
            "{missing:?}"
        );
        assert!(connector(None).is_ok());
    }
}
