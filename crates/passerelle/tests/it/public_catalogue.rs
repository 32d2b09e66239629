//! The public catalogue of each bouquet (`/catalogue`): every endpoint listed, the
//! search by text, provider and use case without JavaScript, each endpoint's page (its
//! scopes, parameters, errors and a sandbox case's answer), the Swagger UI reference
//! served by Passerelle itself, and nothing fetched from another origin.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use passerelle_bouquet::Bouquet;
use regex::Regex;
use reqwest::header::{HeaderMap, CONTENT_SECURITY_POLICY, CONTENT_TYPE};
use reqwest::StatusCode;
use serde_json::Value;

use crate::browser::Browser;
use crate::helpers::*;

/// The examples the catalogue embeds, as `tools/derive_catalogue_examples.py` wrote them.
const PARTICULIER_EXAMPLES: &str = include_str!("../../../public-site/data/examples-particulier.json");
const ENTREPRISE_EXAMPLES: &str = include_str!("../../../public-site/data/examples-entreprise.json");

const QF_FRANCE_CONNECT: &str = "api_particulier_v3_cnav_quotient_familial_with_france_connect";
const QF_IDENTITE: &str = "api_particulier_v3_cnav_quotient_familial_with_civility";
const LIASSES: &str = "api_entreprise_v3_dgfip_liasses_fiscales";

struct Page {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

async fn get(app: &TestApp, url: &str) -> Page {
    let response = app.client.get(url).send().await.unwrap();
    Page {
        status: response.status(),
        headers: response.headers().clone(),
        body: response.text().await.unwrap(),
    }
}

impl Page {
    /// The operation ids of the results, in the page's order.
    fn operations(&self) -> Vec<String> {
        let item = Regex::new(r#"<li class="resultat[^"]*" data-operation="([^"]+)""#).unwrap();
        item.captures_iter(&self.body).map(|c| c[1].to_string()).collect()
    }

    fn content_type(&self) -> String {
        self.headers[CONTENT_TYPE].to_str().unwrap().to_string()
    }

    fn has(&self, text: &str) -> bool {
        self.body.contains(text)
    }

    /// Whether the page says `text` once its character references are read back.
    fn says(&self, text: &str) -> bool {
        let mut plain = self.body.clone();
        for (reference, c) in [
            ("&#39;", "'"),
            ("&#34;", "\""),
            ("&quot;", "\""),
            ("&#60;", "<"),
            ("&lt;", "<"),
            ("&#62;", ">"),
            ("&gt;", ">"),
            ("&#38;", "&"),
            ("&amp;", "&"),
        ] {
            plain = plain.replace(reference, c);
        }
        plain.contains(text)
    }
}

fn particulier(app: &TestApp) -> Bouquet {
    passerelle_particulier::bouquet(&app.state.config.providers).unwrap()
}

fn entreprise(app: &TestApp) -> Bouquet {
    passerelle_entreprise::bouquet(passerelle_entreprise_providers::registry(&app.state.config.entreprise).unwrap())
}

/// The page id of each endpoint: its latest version's operation id.
fn page_ids(bouquet: &Bouquet, keep: impl Fn(&passerelle_bouquet::Endpoint) -> bool) -> BTreeSet<String> {
    bouquet
        .endpoints
        .iter()
        .filter(|e| keep(e))
        .map(|e| bouquet.operation_id(e, *e.versions.iter().max().unwrap()))
        .collect()
}

fn as_set(ids: Vec<String>) -> BTreeSet<String> {
    ids.into_iter().collect()
}

/// No element loads anything from another origin: no `src`, `href`, `action` or CSS
/// `url()` with a scheme or a `//` host (text, like a sandbox answer's URLs, may).
fn assert_no_remote_resource(page: &Page, what: &str) {
    let remote = Regex::new(
        r#"(?i)(\b(src|href|action|srcset|data)\s*=\s*["']?\s*(https?:)?//)|(url\(\s*["']?\s*(https?:)?//)"#,
    )
    .unwrap();
    let found: Vec<&str> = remote.find_iter(&page.body).map(|m| m.as_str()).collect();
    assert!(found.is_empty(), "{what} loads from elsewhere: {found:?}");
    if let Some(csp) = page.headers.get(CONTENT_SECURITY_POLICY) {
        let csp = csp.to_str().unwrap();
        assert!(!csp.contains("http") && !csp.contains('*'), "{what}: {csp}");
    }
}

#[tokio::test]
async fn each_bouquet_lists_every_endpoint_it_serves_once_grouped_by_provider() {
    let app = TestApp::builder().public_site(|_| {}).start().await;
    for (base, bouquet, provider) in [
        (&app.base, particulier(&app), "CNAV"),
        (&app.entreprise_base, entreprise(&app), "INSEE"),
    ] {
        let page = get(&app, &format!("{base}/catalogue")).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.content_type().starts_with("text/html"));
        let listed = page.operations();
        assert_eq!(listed.len(), bouquet.endpoints.len(), "{}", bouquet.name);
        assert_eq!(as_set(listed), page_ids(&bouquet, |_| true));
        let count = format!(
            "<h2 id=\"nombre-resultats\">{} points d'accès</h2>",
            bouquet.endpoints.len()
        );
        assert!(page.says(&count), "{count}");
        assert!(page.has(&format!(">{provider} <span")), "a {provider} group");
        assert!(page.has("href=\"/catalogue/reference\""), "the reference is linked");
        assert!(page.has("aria-current=\"page\">Catalogue<"));
        for id in ["recherche\"", "id=\"q\"", "id=\"fournisseur\"", "id=\"cas\""] {
            assert!(page.has(id), "{id}");
        }
        assert_no_remote_resource(&page, "/catalogue");
    }
}

#[tokio::test]
async fn the_search_filters_by_text_provider_and_use_case_and_keeps_the_filters() {
    let app = TestApp::builder().public_site(|_| {}).start().await;
    let bouquet = particulier(&app);
    let search = |query: &str| format!("{}/catalogue?{query}", app.base);

    // Text: accents, case and underscores do not matter.
    let qf = page_ids(&bouquet, |e| e.path.contains("quotient_familial"));
    assert_eq!(qf.len(), 2);
    for query in ["q=Quotient+FAMILIAL", "q=quotient_familial", "q=QUOTIENT+famili%C3%A0l"] {
        let page = get(&app, &search(query)).await;
        assert_eq!(as_set(page.operations()), qf, "{query}");
    }
    let student = page_ids(&bouquet, |e| e.title.to_lowercase().contains("étudiant"));
    assert!(!student.is_empty());
    for query in ["q=%C3%A9tudiant", "q=ETUDIANT", "q=Etudiant"] {
        assert_eq!(as_set(get(&app, &search(query)).await.operations()), student, "{query}");
    }
    let by_provider = get(&app, &search("q=CNAV")).await;
    assert_eq!(
        as_set(by_provider.operations()),
        page_ids(&bouquet, |e| e.provider.as_str() == "dss")
    );

    // Provider: the select keeps its choice.
    let cnous = get(&app, &search("fournisseur=cnous")).await;
    let expected = page_ids(&bouquet, |e| e.provider.as_str() == "cnous");
    assert_eq!(as_set(cnous.operations()), expected);
    assert!(cnous.has("<option value=\"cnous\" selected>"));
    let heading = format!("<h2 id=\"nombre-resultats\">{} points d'accès</h2>", expected.len());
    assert!(cnous.says(&heading), "{heading}");

    // Use case: the endpoints one of whose scopes its habilitation form offers.
    let forms = passerelle_habilitation::Forms::built_in(passerelle_habilitation::known_scopes).unwrap();
    let transports = forms.get("api-particulier-transports").unwrap();
    let opened = page_ids(&bouquet, |e| {
        e.access_scopes.iter().any(|s| transports.scopes.iter().any(|o| o == s))
    });
    let page = get(&app, &search("cas=api-particulier-transports")).await;
    assert_eq!(as_set(page.operations()), opened);
    assert!(opened.len() > 2 && opened.len() < bouquet.endpoints.len());
    assert!(page.has("<option value=\"api-particulier-transports\" selected>"));
    assert!(
        !page.has("value=\"api-particulier-libre\""),
        "only use cases are offered"
    );

    // All three at once, and the text kept in its field.
    let both = get(
        &app,
        &search("q=boursier&fournisseur=cnous&cas=api-particulier-transports"),
    )
    .await;
    let expected: BTreeSet<String> = opened
        .intersection(&page_ids(&bouquet, |e| e.provider.as_str() == "cnous"))
        .cloned()
        .collect();
    assert!(!expected.is_empty());
    assert_eq!(as_set(both.operations()), expected);
    assert!(both.has("id=\"q\" name=\"q\" value=\"boursier\""));
    assert!(both.has("id=\"effacer\""));
    let none = get(&app, &search("q=quotient&cas=api-entreprise-marches-publics")).await;
    assert!(none.operations().is_empty());

    // Nothing found: said plainly, the query shown back (escaped).
    let nothing = get(&app, &search("q=%3Cb%3Ezzz+introuvable")).await;
    assert_eq!(nothing.status, StatusCode::OK);
    assert!(nothing.operations().is_empty());
    assert!(nothing.says("<h2 id=\"nombre-resultats\">Aucun point d'accès</h2>"));
    assert!(nothing.has("id=\"aucun-resultat\""));
    assert!(nothing.says("value=\"<b>zzz introuvable\""));
    assert!(!nothing.has("<b>zzz"));

    // Odd bytes still give a page.
    for query in ["q=%FF%FE%", "fournisseur=%C3&cas=%00", "q&&=&%ZZ"] {
        let odd = get(&app, &search(query)).await;
        assert_eq!(odd.status, StatusCode::OK, "{query}");
        assert!(odd.has("id=\"recherche\""));
    }

    // API Entreprise: its own providers and use cases.
    let entreprise_bouquet = entreprise(&app);
    let sirene = get(
        &app,
        &format!("{}/catalogue?q=sirene&fournisseur=insee", app.entreprise_base),
    )
    .await;
    let expected = page_ids(&entreprise_bouquet, |e| {
        e.path.contains("sirene") && e.provider.as_str() == "insee"
    });
    assert!(!expected.is_empty());
    assert_eq!(as_set(sirene.operations()), expected);
    let public_tenders = get(
        &app,
        &format!("{}/catalogue?cas=api-entreprise-marches-publics", app.entreprise_base),
    )
    .await;
    assert!(public_tenders
        .operations()
        .iter()
        .any(|id| id.contains("attestations_fiscales")));
}

/// The sandbox example of `id`, as the catalogue embeds it.
fn example(file: &str, id: &str) -> Value {
    let all: Value = serde_json::from_str(file).unwrap();
    all["examples"][id].clone()
}

#[tokio::test]
async fn a_france_connect_endpoint_page_gives_scopes_parameters_errors_and_the_sandbox_answer() {
    let app = TestApp::builder().public_site(|_| {}).start().await;
    let page = get(&app, &format!("{}/catalogue/{QF_FRANCE_CONNECT}", app.base)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.says("<h1 id=\"titre\">Quotient familial CAF & MSA</h1>"));
    assert!(page.has("GET /v3/dss/quotient_familial/france_connect"));
    // Scopes: those that open it, and what each field scope opens.
    for scope in [
        "cnaf_quotient_familial",
        "cnaf_allocataires",
        "cnaf_enfants",
        "cnaf_adresse",
    ] {
        assert!(page.has(&format!("<span class=\"fr-tag\">{scope}</span>")), "{scope}");
    }
    assert!(page.has("<tr><td><code>cnaf_adresse</code></td><td><code>adresse</code></td></tr>"));
    // Parameters: the purpose and the FranceConnect bearer, no identity to send.
    assert!(page.has("data-parametre=\"recipient\""));
    assert!(page.has("data-parametre=\"Authorization\""));
    assert!(page.says("jeton d'accès FranceConnect de l'usager"));
    assert!(!page.has("data-parametre=\"nomNaissance\""));
    // Errors: FranceConnect's, the gateway's, CNAV's (prefix 37).
    for code in ["00101", "50001", "50002", "00100", "00210", "00429", "37003", "37002"] {
        assert!(page.has(&format!("data-code=\"{code}\"")), "{code}");
    }
    for code in ["00103", "00105", "00107"] {
        assert!(
            !page.has(&format!("data-code=\"{code}\"")),
            "{code}: no habilitation token here"
        );
    }
    // The example is the sandbox case's own answer.
    let case = example(PARTICULIER_EXAMPLES, QF_FRANCE_CONNECT);
    assert_eq!(
        case["case"],
        "api_particulier_v3_cnav_quotient_familial_with_france_connect/france_connect_200_1_parent_0_enfant_cnaf.yml"
    );
    assert_eq!(
        case["body"]["data"]["adresse"]["numero_libelle_voie"],
        "1 RUE MONTORGUEIL"
    );
    assert!(page.has("france_connect_200_1_parent_0_enfant_cnaf.yml"));
    assert!(page.says("\"numero_libelle_voie\": \"1 RUE MONTORGUEIL\""));
    // The curl: the FranceConnect token, the route, no identity.
    assert!(page.says("curl -sg -H \"Authorization: Bearer $JETON_FRANCECONNECT\""));
    assert!(page.says("\"$URL_DE_BASE/v3/dss/quotient_familial/france_connect?recipient=13002526500013\""));
    assert!(!page.has("nomNaissance=DUBOIS"));
    assert_no_remote_resource(&page, QF_FRANCE_CONNECT);

    // Its civility twin asks for the identity, with its rules, and sends the case's.
    let twin = get(&app, &format!("{}/catalogue/{QF_IDENTITE}", app.base)).await;
    assert!(twin.has("data-parametre=\"nomNaissance\""));
    assert!(twin.has("data-parametre=\"sexeEtatCivil\""));
    assert!(twin.has("au plus 3."));
    assert!(twin.has("data-code=\"00420\"") && twin.has("data-code=\"00101\""));
    let case = example(PARTICULIER_EXAMPLES, QF_IDENTITE);
    let name = case["params"]["nomNaissance"].as_str().unwrap();
    assert!(twin.says(&format!("&nomNaissance={name}&")), "{name}");
}

#[tokio::test]
async fn an_entreprise_endpoint_page_names_its_path_parameters_and_fills_them_from_the_case() {
    let app = TestApp::builder().public_site(|_| {}).start().await;
    let page = get(&app, &format!("{}/catalogue/{LIASSES}", app.entreprise_base)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.has("GET /v3/dgfip/unites_legales/{siren}/liasses_fiscales/{year}"));
    for param in ["siren", "year", "context", "recipient", "object", "Authorization"] {
        assert!(page.has(&format!("data-parametre=\"{param}\"")), "{param}");
    }
    for code in ["00301", "00307", "00315", "00201", "00202", "00203", "00101", "00429"] {
        assert!(page.has(&format!("data-code=\"{code}\"")), "{code}");
    }
    assert!(
        page.has("data-statut=\"451\""),
        "the statuses the OpenAPI document lists"
    );
    let case = example(ENTREPRISE_EXAMPLES, LIASSES);
    assert_eq!(case["case"], "api_entreprise_v3_dgfip_liasses_fiscales/200.yml");
    let first = case["body"]["data"]["obligations_fiscales"][0]["id"].as_str().unwrap();
    assert!(page.has(first), "{first} from the sandbox case");
    // Without fields in the catalogue, those of the example's data.
    assert!(page.has("<td><code>obligations_fiscales</code></td>"));
    let (siren, year) = (case["params"]["siren"].as_str().unwrap(), &case["params"]["year"]);
    let route = format!("$URL_DE_BASE/v3/dgfip/unites_legales/{siren}/liasses_fiscales/{year}?context=Essai&");
    assert!(page.says(&route), "{route}");
    assert_no_remote_resource(&page, LIASSES);

    // An older version's id leads to the endpoint's page.
    let old = app
        .client
        .get(format!(
            "{}/catalogue/api_entreprise_v3_insee_unites_legales",
            app.entreprise_base
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(old.url().path(), "/catalogue/api_entreprise_v4_insee_unites_legales");
    assert_eq!(old.status(), StatusCode::OK);
}

#[tokio::test]
async fn an_unknown_endpoint_is_an_html_404_in_the_sites_design() {
    let app = TestApp::builder().public_site(|_| {}).start().await;
    for path in [
        "api_particulier_v3_nope",
        "%FF%FE",
        "api_entreprise_v3_dgfip_liasses_fiscales",
    ] {
        let page = get(&app, &format!("{}/catalogue/{path}", app.base)).await;
        assert_eq!(page.status, StatusCode::NOT_FOUND, "{path}");
        assert!(page.content_type().starts_with("text/html"), "{path}");
        assert!(page.says("<h1>Point d'accès introuvable</h1>"));
        assert!(page.has("href=\"/dsfr/dsfr.min.css\""));
        assert_no_remote_resource(&page, path);
    }
}

#[tokio::test]
async fn the_reference_runs_swagger_ui_from_passerelle_with_a_policy_of_its_own() {
    let app = TestApp::builder().public_site(|_| {}).start().await;
    let script = Regex::new(r"<script[^>]*>").unwrap();
    for base in [&app.base, &app.entreprise_base] {
        let page = get(&app, &format!("{base}/catalogue/reference")).await;
        assert_eq!(page.status, StatusCode::OK);
        let csp = page.headers[CONTENT_SECURITY_POLICY].to_str().unwrap();
        assert!(
            csp.contains("script-src 'self';") && csp.contains("connect-src 'self'"),
            "{csp}"
        );
        assert_no_remote_resource(&page, "/catalogue/reference");
        let scripts: Vec<&str> = script.find_iter(&page.body).map(|m| m.as_str()).collect();
        assert_eq!(scripts.len(), 2, "{scripts:?}");
        assert!(
            scripts.iter().all(|s| s.contains("src=\"/catalogue/reference/")),
            "no inline script: {scripts:?}"
        );
        assert!(page.has("data-document=\"/api/open-api.yml\""));

        for (path, kind) in [
            ("/catalogue/reference/swagger/swagger-ui-bundle.js", "javascript"),
            ("/catalogue/reference/swagger/swagger-ui.css", "text/css"),
            ("/catalogue/reference/initialisation.js", "javascript"),
            ("/catalogue/catalogue.css", "text/css"),
            ("/api/open-api.yml", "yaml"),
        ] {
            let asset = get(&app, &format!("{base}{path}")).await;
            assert_eq!(asset.status, StatusCode::OK, "{path}");
            assert!(asset.content_type().contains(kind), "{path}: {}", asset.content_type());
        }
        let init = get(&app, &format!("{base}/catalogue/reference/initialisation.js")).await;
        assert!(init.has("SwaggerUIBundle") && init.has("validatorUrl: null"));
        assert!(!init.has("http"));
    }
    for outside in ["..%2F..%2Fpackage.json", "%2e%2e/%2e%2e/README.md", "nope.js"] {
        let page = get(&app, &format!("{}/catalogue/reference/swagger/{outside}", app.base)).await;
        assert_eq!(page.status, StatusCode::NOT_FOUND, "{outside}");
    }
}

/// Waits (at most 10 s) until the browser's address satisfies `wanted`.
async fn wait_for_url(browser: &Browser, wanted: impl Fn(&str) -> bool) -> String {
    let start = Instant::now();
    loop {
        let url = browser.url().await;
        if wanted(&url) {
            return url;
        }
        assert!(start.elapsed() < Duration::from_secs(10), "still on {url}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_visitor_searches_the_catalogue_and_opens_an_endpoint_in_a_browser() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let app = TestApp::builder().public_site(|_| {}).start().await;
    let bouquet = particulier(&app);
    browser.goto(&format!("{}/catalogue", app.base)).await;
    assert_eq!(browser.find_all(".resultat").await.len(), bouquet.endpoints.len());
    browser.screenshot("catalogue-01-tout").await;

    let text = browser.find("#q").await;
    text.send_keys("quotient").await.unwrap();
    browser.click("#fournisseur option[value=\"dss\"]").await;
    browser.screenshot("catalogue-02-recherche").await;
    browser.click("#rechercher").await;
    wait_for_url(&browser, |url| {
        url.contains("q=quotient") && url.contains("fournisseur=dss")
    })
    .await;

    let results = browser.find_all(".resultat").await;
    let mut found = Vec::new();
    for result in &results {
        found.push(result.attr("data-operation").await.unwrap().unwrap());
    }
    assert_eq!(
        as_set(found),
        page_ids(&bouquet, |e| e.path.contains("quotient_familial"))
    );
    let heading = browser.find("#nombre-resultats").await.text().await.unwrap();
    assert_eq!(heading, "2 points d'accès");
    let kept = browser.find("#q").await.prop("value").await.unwrap();
    assert_eq!(kept.as_deref(), Some("quotient"));
    browser.screenshot("catalogue-03-resultats").await;

    browser
        .click(&format!(".resultat[data-operation=\"{QF_FRANCE_CONNECT}\"] h4 a"))
        .await;
    wait_for_url(&browser, |url| {
        url.ends_with(&format!("/catalogue/{QF_FRANCE_CONNECT}"))
    })
    .await;
    let title = browser.find("h1").await.text().await.unwrap();
    assert_eq!(title, "Quotient familial CAF & MSA");
    assert!(browser
        .find("#exemple-json")
        .await
        .text()
        .await
        .unwrap()
        .contains("1 RUE MONTORGUEIL"));
    browser.screenshot("catalogue-04-point-d-acces").await;

    // The reference: Swagger UI draws the bouquet's operations under the page's policy.
    browser.goto(&format!("{}/catalogue/reference", app.base)).await;
    browser.find("#swagger-ui .opblock").await;
    let operations = browser.find_all("#swagger-ui .opblock").await.len();
    assert_eq!(operations, bouquet.routes().len());
    browser.click("#swagger-ui .opblock .opblock-summary-control").await;
    browser.find("#swagger-ui .opblock-body").await;
    // Swagger UI sets its styles through the CSSOM, which a policy without
    // 'unsafe-inline' lets through: none of them is left unapplied.
    let blocked = browser
        .execute(
            "return Array.from(document.querySelectorAll('[style]'))\
             .filter(function (e) { return e.getAttribute('style').trim() && !e.style.cssText; }).length;",
        )
        .await;
    assert_eq!(blocked, serde_json::json!(0));
    browser.screenshot("catalogue-05-reference").await;
    browser.close().await;
}
