use std::fs;

use passerelle_catalogue::{Cache, Endpoint, Mode};
use passerelle_core::Query;
use passerelle_gateway::source::Recorded;
use serde_json::json;

use super::*;

const QF: &str = "api_particulier_v3_cnav_quotient_familial_with_civility";
const FC: &str = "api_particulier_v3_test_quotient_with_france_connect";

/// A FranceConnect endpoint as the catalogue describes one (none is on main yet).
static FC_ENDPOINT: Endpoint = Endpoint {
    provider: passerelle_catalogue::ids::DSS,
    resource: "quotient_familial",
    path: "dss/quotient_familial",
    mode: Mode::FranceConnect,
    versions: &[3],
    operation: "test_quotient",
    title: "test",
    civility: None,
    extra_params: &[],
    access_scopes: &["cnaf_quotient_familial"],
    fields: &[],
    masks: &[],
    cache: Cache::Never,
};

fn write(dir: &Path, file: &str, text: &str) {
    let path = dir.join(file);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, text).unwrap();
}

fn case(params: &str, status: u16, payload: &str) -> String {
    format!("---\ndescription: test\nparams:\n{params}\nstatus: {status}\npayload: |-\n  {payload}\n")
}

fn folder() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(
        d,
        &format!("{QF}/200-dupont.yaml"),
        &case(
            "  nomNaissance: DUPONT\n  prenoms: [JEAN, PAUL]\n  anneeDateNaissance: 1980",
            200,
            r#"{"data": {"n": 1}, "links": {}, "meta": {}}"#,
        ),
    );
    write(
        d,
        &format!("{QF}/404.yaml"),
        &case("  nomNaissance: INCONNU", 404, r#"{"errors": [{"code": "37003"}]}"#),
    );
    write(d, &format!("{QF}/README.md"), "not a case");
    write(d, &format!("{QF}/bad-syntax.yaml"), "params: [unclosed\n");
    write(
        d,
        &format!("{QF}/no-status.yml"),
        "params:\n  nomNaissance: X\npayload: '{}'\n",
    );
    write(
        d,
        &format!("{QF}/bad-payload.yaml"),
        &case("  nomNaissance: Y", 200, "{not json"),
    );
    write(
        d,
        &format!("{QF}/same.yaml"),
        &case(
            "  prenoms: [jean, paul]\n  anneeDateNaissance: '1980'\n  nomNaissance: dupont",
            200,
            "{}",
        ),
    );
    write(
        d,
        &format!("{FC}/fc-dubois.yaml"),
        &case(
            "  nomNaissance: DUBOIS\n  prenoms: Angela Claire\n  anneeDateNaissance: 1962",
            200,
            r#"{"data": {"fc": true}}"#,
        ),
    );
    write(d, &format!("{FC}/fc-dubois-born.yaml"), &case("  nomNaissance: DUBOIS\n  anneeDateNaissance: 1962\n  moisDateNaissance: 8\n  jourDateNaissance: 24\n  codeCogInseeCommuneNaissance: '75107'", 200, r#"{"data": {"fc": "precise"}}"#));
    write(
        d,
        &format!("{FC}/404.yaml"),
        &case("  nomNaissance: NOEL", 404, r#"{"errors": []}"#),
    );
    let mock = |token: &str, active: bool| {
        format!(
            "params:\n  token: '{token}'\nstatus: 200\npayload: |-\n  {{\"token_introspection\": {{\"active\": {active}, \"scope\": \"openid cnaf_quotient_familial\", \"gender\": \"female\", \"family_name\": \"DUBOIS\", \"given_name\": \"Angela Claire\", \"given_name_array\": [\"Angela\", \"Claire\"], \"birthdate\": \"1962-08-24\", \"birthplace\": \"75107\", \"birthcountry\": \"99100\"}}}}\n"
        )
    };
    write(d, "france_connect/dubois.yml", &mock("dubois", true));
    write(d, "france_connect/expired.yml", &mock("expired", false));
    write(
        d,
        "france_connect/no-token.yml",
        "params: {}\nstatus: 200\npayload: '{}'\n",
    );
    dir
}

fn call(pairs: &[(&str, &str)]) -> Params {
    from_query(&Query::from_pairs(pairs))
}

#[test]
fn loading_keeps_the_valid_cases_and_says_why_the_others_are_left_out() {
    let dir = folder();
    let (sandbox, report) = Sandbox::open(dir.path()).unwrap();
    let reasons: Vec<String> = report.rejected.iter().map(ToString::to_string).collect();
    let expect = [
        (format!("{QF}/bad-syntax.yaml"), "YAML syntax"),
        (format!("{QF}/no-status.yml"), "missing `status`"),
        (format!("{QF}/bad-payload.yaml"), "`payload` is not JSON"),
        (format!("{QF}/same.yaml"), "same params as"),
        ("france_connect/no-token.yml".to_string(), "missing `params.token`"),
    ];
    for (file, reason) in &expect {
        assert!(
            reasons
                .iter()
                .any(|r| r.starts_with(file.as_str()) && r.contains(reason)),
            "{file}: {reason} not in {reasons:#?}"
        );
    }
    assert_eq!(report.rejected.len(), expect.len(), "{reasons:#?}");
    assert_eq!((report.folders, report.cases, report.france_connect), (2, 5, 2));
    assert_eq!(
        report.to_string(),
        "2 folders, 5 cases, 2 FranceConnect tokens, 5 files rejected"
    );
    let book = sandbox.book();
    assert_eq!(book.folders[QF].cases.len(), 2);
}

#[test]
fn exact_match_then_fallback() {
    let dir = folder();
    let (sandbox, _) = Sandbox::open(dir.path()).unwrap();
    let book = sandbox.book();
    let dupont = call(&[
        ("nomNaissance", "Dupont"),
        ("prenoms[]", "Jean"),
        ("prenoms[]", "Paul"),
        ("anneeDateNaissance", "1980"),
    ]);
    assert!(matches!(book.find(QF, &dupont, false), Lookup::Case(c) if c.file.ends_with("200-dupont.yaml")));
    let other = call(&[("nomNaissance", "Dupont"), ("anneeDateNaissance", "1980")]);
    assert!(matches!(book.find(QF, &other, false), Lookup::Fallback(c) if c.status == 404));
    assert_eq!(
        book.find("api_particulier_v3_nope_with_civility", &other, false),
        Lookup::NoFolder
    );
}

#[test]
fn france_connect_bearers_select_the_case_of_their_identity() {
    let dir = folder();
    let (sandbox, _) = Sandbox::open(dir.path()).unwrap();
    let user = sandbox.france_connect("dubois").unwrap();
    assert!(user.scopes.contains(&"cnaf_quotient_familial".to_string()));
    let mut pairs = user.identity.clone();
    pairs.push(("recipient".into(), "13002526500013".into()));
    let answer = sandbox
        .answer(
            &FC_ENDPOINT,
            &passerelle_catalogue::operation_id(&FC_ENDPOINT, 3),
            &Query::new(pairs),
        )
        .unwrap();
    // Both cases hold parts of the identity; the one recording more of it wins.
    assert_eq!((answer.status, answer.body), (200, json!({"data": {"fc": "precise"}})));

    for unknown in ["expired", "nobody"] {
        let error = sandbox.france_connect(unknown).unwrap_err();
        assert_eq!((error.code.as_str(), error.status()), ("50002", 401));
    }
    let noel = Query::from_pairs(&[("nomNaissance", "NOEL"), ("prenoms", "Jean")]);
    assert_eq!(
        sandbox
            .answer(
                &FC_ENDPOINT,
                &passerelle_catalogue::operation_id(&FC_ENDPOINT, 3),
                &noel
            )
            .unwrap()
            .status,
        404
    );
}

#[test]
fn a_served_operation_without_folder_is_a_clear_404() {
    let dir = folder();
    let (sandbox, _) = Sandbox::open(dir.path()).unwrap();
    let error = sandbox
        .answer(
            &FC_ENDPOINT,
            &passerelle_catalogue::operation_id(&FC_ENDPOINT, 4),
            &Query::default(),
        )
        .unwrap_err();
    let [error] = &error.0[..] else {
        panic!("one error expected: {error:?}");
    };
    assert_eq!((error.code.as_str(), error.status()), ("00404", 404));
    assert!(
        error
            .detail
            .contains("api_particulier_v4_test_quotient_with_france_connect"),
        "{}",
        error.detail
    );
}

#[test]
fn reload_swaps_in_what_the_folder_holds_now() {
    let dir = folder();
    let (sandbox, _) = Sandbox::open(dir.path()).unwrap();
    let before = sandbox.book();
    write(
        dir.path(),
        &format!("{QF}/200-martin.yaml"),
        &case("  nomNaissance: MARTIN", 200, "{}"),
    );
    fs::remove_file(dir.path().join(format!("{QF}/200-dupont.yaml"))).unwrap();
    let report = sandbox.reload().unwrap();
    // `same.yaml` no longer repeats a case's params: it serves now.
    assert_eq!((report.cases, report.rejected.len()), (6, 4));
    let after = sandbox.book();
    assert!(matches!(
        after.find(QF, &call(&[("nomNaissance", "martin")]), false),
        Lookup::Case(_)
    ));
    // A reader that took the book before the reload keeps a consistent view.
    assert!(matches!(
        before.find(QF, &call(&[("nomNaissance", "martin")]), false),
        Lookup::Fallback(_)
    ));
}
