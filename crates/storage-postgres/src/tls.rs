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
/// listener's and the first one. `mode` is the connection string's
/// (after [`default_to_disable`]).
pub(crate) fn connector(mode: SslMode, ca_file: Option<&Path>) -> StorageResult<MakeRustlsConnect> {
    let roots = trusted_roots(mode, ca_file)?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| StorageError::Backend(format!("TLS set-up: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(MakeRustlsConnect::new(config))
}

/// The certificates a TLS connection trusts: the system's and the CA
/// file's. With `sslmode=disable` (the default) no connection uses TLS,
/// so the system's store is not loaded: parsed, its ~150 certificates held
/// about 180 KiB for the life of the process, the largest part of an idle
/// server's heap on PostgreSQL. The CA file is still read, so that a bad
/// one is reported at start whatever the mode.
fn trusted_roots(mode: SslMode, ca_file: Option<&Path>) -> StorageResult<RootCertStore> {
    let mut roots = RootCertStore::empty();
    if mode != SslMode::Disable {
        // Unreadable entries of the system store are skipped: one bad file
        // must not keep the server from trusting the others.
        let native = rustls_native_certs::load_native_certs();
        roots.add_parsable_certificates(native.certs);
    }
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
    Ok(roots)
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
        for mode in [SslMode::Disable, SslMode::Require] {
            let missing = connector(mode, Some(Path::new("/nonexistent/ca.pem"))).map(|_| ());
            assert!(
                matches!(&missing, Err(StorageError::Backend(m)) if m.contains("/nonexistent/ca.pem")),
                "{missing:?}"
            );
            assert!(connector(mode, None).is_ok());
        }
    }

    /// Without TLS nothing of the system's store is held, with TLS it is
    /// trusted; a CA file's certificate is trusted in every mode.
    #[test]
    fn the_system_store_is_loaded_only_when_tls_may_be_used() {
        assert_eq!(trusted_roots(SslMode::Disable, None).expect("roots").len(), 0);
        let native = rustls_native_certs::load_native_certs().certs.len();
        let verified = trusted_roots(SslMode::Require, None).expect("roots").len();
        assert!(verified <= native, "{verified} roots from {native} system certificates");
        assert_eq!(verified > 0, native > 0, "the system's certificates are trusted with sslmode=require");
        // Any one certificate of the system's own store, as a CA file.
        let one = std::fs::read_dir("/etc/ssl/certs").into_iter().flatten().flatten().map(|e| e.path()).find(
            |path| {
                path.extension().is_some_and(|ext| ext == "pem")
                    && trusted_roots(SslMode::Disable, Some(path)).is_ok()
            },
        );
        match one {
            Some(path) => {
                assert_eq!(trusted_roots(SslMode::Disable, Some(&path)).expect("roots").len(), 1);
                assert_eq!(trusted_roots(SslMode::Prefer, Some(&path)).expect("roots").len(), verified + 1);
            }
            None => println!("no PEM certificate in /etc/ssl/certs: the CA file case was not checked"),
        }
    }
}
