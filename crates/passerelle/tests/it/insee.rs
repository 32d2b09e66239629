//! Transcogage: the commune code found from the commune name, département and year.

use chrono::NaiveDate;
use passerelle_core::{Civility, CivilityRules, Query};
use passerelle_providers::insee::{Insee, InseeConfig};
use tokio::net::TcpListener;

const RULES: CivilityRules = CivilityRules {
    prenoms_required: false,
    max_prenoms: 3,
    birth_date_required: false,
    sexe_required: false,
    pays_required: true,
    birth_date_until_yesterday: false,
    birthplace_required_in_france: false,
};

fn civility(pairs: &[(&str, &str)]) -> Civility {
    let mut all = vec![("nomNaissance", "DUPONT"), ("codeCogInseePaysNaissance", "99100")];
    all.extend_from_slice(pairs);
    let today = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
    Civility::parse(&Query::from_pairs(&all), &RULES, today).unwrap()
}

#[tokio::test]
async fn commune_codes_come_from_the_insee_upstream() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}/insee", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, passerelle_providers::simulators()).await.unwrap() });
    let insee = Insee::new(&InseeConfig::simulated(&base)).unwrap();

    let triplet = |name: &'static str, dep: &'static str| {
        civility(&[
            ("nomCommuneNaissance", name),
            ("codeCogInseeDepartementNaissance", dep),
            ("anneeDateNaissance", "1990"),
        ])
    };
    assert_eq!(
        insee.commune_code(&triplet("Gennevilliers", "92")).await.as_deref(),
        Some("92036")
    );
    assert_eq!(
        insee.commune_code(&triplet("Saint-Denis", "93")).await.as_deref(),
        Some("93066")
    );
    assert_eq!(
        insee.commune_code(&triplet("Saint-Denis", "974")).await.as_deref(),
        Some("97411")
    );
    assert_eq!(
        insee.commune_code(&triplet("Saint-Denis", "75")).await,
        None,
        "homonyms outside the département"
    );
    assert_eq!(insee.commune_code(&triplet("Nullepart", "92")).await, None);
    assert_eq!(
        insee
            .commune_code(&civility(&[("codeCogInseeCommuneNaissance", "35238")]))
            .await
            .as_deref(),
        Some("35238")
    );
    assert_eq!(
        insee
            .commune_code(&civility(&[("nomCommuneNaissance", "Rennes")]))
            .await,
        None,
        "needs the triplet"
    );

    let dead = Insee::new(&InseeConfig::simulated("http://127.0.0.1:1/insee")).unwrap();
    assert_eq!(
        dead.commune_code(&triplet("Gennevilliers", "92")).await,
        None,
        "a failed lookup is not an error"
    );
}
