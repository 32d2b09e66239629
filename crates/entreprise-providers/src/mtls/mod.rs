//! Mutual TLS to an upstream (Banque de France, PRO BTP): the gateway's client
//! certificate and key, and a CA for the upstream's private PKI, as PEM files named
//! in the provider's settings (`passerelle_providers::http::TlsSettings`, whose keys
//! are `[entreprise.<provider>]`'s own). Without a certificate the client speaks plain
//! HTTPS (or HTTP to the demo's simulators). Here: the test server that demands one.

/// A server demanding a client certificate of the test CA, for the providers' tests.
pub mod testing {
    use std::net::SocketAddr;
    use std::path::PathBuf;
    use std::sync::Arc;

    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    use tokio::net::TcpListener;

    use passerelle_providers::http::TlsSettings;

    /// A test PEM file of this folder: `ca.pem`, `server.pem`, `client.pem` (signed by
    /// the CA), `stranger.pem` (signed by another CA).
    pub fn file(name: &str) -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src/mtls").join(name)
    }

    /// Settings trusting the test CA, presenting `identity` if any.
    pub fn tls(identity: Option<&str>) -> TlsSettings {
        TlsSettings {
            client_cert: identity.map(file),
            client_key: None,
            ca_cert: Some(file("ca.pem")),
        }
    }

    struct MutualTls {
        tcp: TcpListener,
        acceptor: tokio_rustls::TlsAcceptor,
    }

    impl axum::serve::Listener for MutualTls {
        type Io = tokio_rustls::server::TlsStream<tokio::net::TcpStream>;
        type Addr = SocketAddr;

        /// Failed handshakes are dropped, as a TLS server does.
        async fn accept(&mut self) -> (Self::Io, Self::Addr) {
            loop {
                let Ok((tcp, peer)) = self.tcp.accept().await else {
                    continue;
                };
                if let Ok(tls) = self.acceptor.accept(tcp).await {
                    return (tls, peer);
                }
            }
        }

        fn local_addr(&self) -> std::io::Result<SocketAddr> {
            self.tcp.local_addr()
        }
    }

    /// Serves `app` on loopback over TLS requiring a client certificate of the test
    /// CA; returns its `https://` base.
    pub async fn serve(app: axum::Router) -> String {
        let mut roots = rustls::RootCertStore::empty();
        for ca in CertificateDer::pem_file_iter(file("ca.pem")).unwrap() {
            roots.add(ca.unwrap()).unwrap();
        }
        let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
            roots.into(),
            Arc::new(rustls::crypto::ring::default_provider()),
        )
        .build()
        .unwrap();
        let chain: Vec<CertificateDer> = CertificateDer::pem_file_iter(file("server.pem"))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        let key = PrivateKeyDer::from_pem_file(file("server.pem")).unwrap();
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_client_cert_verifier(verifier)
            .with_single_cert(chain, key)
            .unwrap();
        let tcp = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("https://{}", tcp.local_addr().unwrap());
        let listener = MutualTls {
            tcp,
            acceptor: tokio_rustls::TlsAcceptor::from(Arc::new(config)),
        };
        tokio::spawn(async move { axum::serve(listener, app).await });
        base
    }
}
