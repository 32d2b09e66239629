//! Maintenance windows of providers (Paris time), the operator's (`[[maintenance]]`)
//! and those a provider publishes itself: calls inside one answer 503 with
//! `meta.retry_in` instead of calling the upstream.

use chrono::{DateTime, Duration, Utc};
use chrono_tz::{Europe::Paris, Tz};
pub use passerelle_bouquet::MaintenanceWindow;
use passerelle_bouquet::{Endpoint, Provider};
use passerelle_core::{ApiError, Subcode};

/// The provider's `XX020` error when a window covers `endpoint` at `now`.
pub fn check(
    windows: &[MaintenanceWindow],
    endpoint: &Endpoint,
    provider: &dyn Provider,
    now: DateTime<Tz>,
) -> Result<(), ApiError> {
    let active = windows
        .iter()
        .chain(provider.maintenance_windows())
        .find_map(|w| w.active_at(endpoint.provider.as_str(), endpoint.resource, now));
    match active {
        None => Ok(()),
        Some(a) => Err(provider
            .info()
            .error(Subcode::Maintenance)
            .with_detail(format!(
                "Le fournisseur de données est en maintenance de {} à {}",
                a.start, a.end
            ))
            .with_meta("retry_in", a.retry_in)),
    }
}

/// When the window closing the whole of provider `name` ends, if one is active.
pub fn whole_provider_until(
    windows: &[MaintenanceWindow],
    name: &str,
    provider: &dyn Provider,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let paris = now.with_timezone(&Paris);
    windows
        .iter()
        .chain(provider.maintenance_windows())
        .filter(|w| w.resources.is_empty())
        .find_map(|w| w.active_at(name, "", paris))
        .map(|active| now + Duration::seconds(active.retry_in))
}

#[cfg(test)]
mod tests {
    use async_trait::async_trait;
    use chrono::TimeZone;
    use passerelle_bouquet::{Cache, Call, Fetched, Mode, ProviderId};
    use passerelle_core::{codes, ProviderInfo};

    use super::*;

    const ID: ProviderId = ProviderId::new("cnetp");
    const ATTESTATION: Endpoint = Endpoint {
        provider: ID,
        resource: "attestations",
        path: "cnetp/unites_legales/{siren}/attestation_cotisations_conges_payes_chomage_intemperies",
        mode: Mode::Subject,
        versions: &[3],
        operation: "cnetp_attestation",
        title: "Attestation",
        civility: None,
        extra_params: &[],
        access_scopes: &[],
        fields: &[],
        masks: &[],
        cache: Cache::Never,
    };

    /// A provider that publishes a daily window, as the CNETP does.
    struct Publishing(Vec<MaintenanceWindow>);

    fn publishing() -> Publishing {
        Publishing(vec![MaintenanceWindow::daily(ID, "06:00", "06:30")])
    }

    #[async_trait]
    impl Provider for Publishing {
        fn info(&self) -> ProviderInfo {
            ProviderInfo {
                name: "CNETP",
                prefix: "08",
            }
        }

        fn maintenance_windows(&self) -> &[MaintenanceWindow] {
            &self.0
        }

        async fn fetch(&self, _call: &Call<'_>) -> Result<Fetched, ApiError> {
            Err(ApiError::gateway(codes::INTERNAL))
        }
    }

    fn at(h: u32, m: u32) -> DateTime<Tz> {
        Paris.with_ymd_and_hms(2026, 7, 15, h, m, 0).unwrap()
    }

    #[test]
    fn a_window_the_provider_publishes_is_observed_like_the_operators() {
        let error = check(&[], &ATTESTATION, &publishing(), at(6, 10)).unwrap_err();
        assert_eq!((error.code.as_str(), error.status()), ("08020", 503));
        assert_eq!(error.meta["retry_in"], 20 * 60);
        assert_eq!(
            error.detail,
            "Le fournisseur de données est en maintenance de 06:00 à 06:30"
        );
        assert!(check(&[], &ATTESTATION, &publishing(), at(6, 30)).is_ok());
        assert!(check(&[], &ATTESTATION, &publishing(), at(5, 59)).is_ok());
        let until = whole_provider_until(&[], "cnetp", &publishing(), at(6, 10).with_timezone(&Utc));
        assert_eq!(until, Some(at(6, 30).with_timezone(&Utc)));
    }
}
