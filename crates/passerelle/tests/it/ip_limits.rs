//! The per-IP quota and bans over real HTTP: the quota over a bouquet's routes (health
//! and pings aside), a ban after persistent refusals that an operator lists and lifts,
//! `X-Forwarded-For` from trusted proxies only, and both holding across two replicas
//! on PostgreSQL and Redis.

use std::process::Stdio;
use std::time::Duration;

use passerelle_gateway::ip_guard::IpLimits;

use crate::binary::cli;
use crate::deployment::*;
use crate::helpers::*;
use crate::pg::eventually;

const QF: &str = "/v3/dss/quotient_familial/identite";

fn limits(per_minute: u32, refusals_before_ban: u32) -> IpLimits {
    IpLimits {
        per_minute,
        refusals_before_ban,
        bans_refresh_ms: 200,
        ..IpLimits::default()
    }
}

/// A call of the quotient familial for Axelle sent through a proxy saying `forwarded`.
async fn call_from(app: &TestApp, token: &str, forwarded: Option<&str>) -> reqwest::Response {
    let headers: Vec<(&str, &str)> = forwarded.map(|f| ("X-Forwarded-For", f)).into_iter().collect();
    app.get_raw(QF, &with_recipient(&pairs(AXELLE)), Some(token), &headers)
        .await
}

async fn detail(response: reqwest::Response) -> (u16, String) {
    let (status, body) = json(response).await;
    (status, body["errors"][0]["detail"].as_str().unwrap_or("").to_string())
}

#[tokio::test]
async fn the_ip_quota_refuses_past_its_limit_journals_it_and_spares_health_routes() {
    let app = TestApp::builder().ip_limits(limits(5, 1000), &[]).start().await;
    let token = app.token(&["cnaf_quotient_familial"]).await;
    for _ in 0..5 {
        assert_eq!(call_from(&app, &token, None).await.status(), 200);
    }
    let refused = call_from(&app, &token, None).await;
    assert_eq!(refused.headers()["ratelimit-limit"], "5");
    assert!(refused.headers().contains_key("retry-after"));
    let id = refused.headers()["x-request-id"].to_str().unwrap().to_string();
    let (status, detail) = detail(refused).await;
    assert_eq!(status, 429);
    assert!(detail.contains("adresse IP"), "{detail}");
    // Another token from the same IP is refused too: the quota is the IP's.
    let other = app.token(&["cnaf_quotient_familial"]).await;
    assert_eq!(call_from(&app, &other, None).await.status(), 429);
    for health in ["/api/ping", "/api/dss/ping"] {
        let response = app.client.get(format!("{}{health}", app.base)).send().await.unwrap();
        assert_ne!(response.status(), 429, "{health}");
    }
    // API Entreprise has its own quota per IP.
    let ping = app.client.get(format!(
        "{}/v3/insee/sirene/unites_legales/775672272",
        app.entreprise_base
    ));
    assert_eq!(
        ping.send().await.unwrap().status(),
        401,
        "no token: refused by the token check, not the IP quota"
    );
    let rows = app.store.recent_journal(20).await.unwrap();
    let row = rows
        .iter()
        .find(|r| r.request_id == id)
        .expect("the refused call is journaled");
    assert_eq!((row.status, row.endpoint.as_str()), (429, QF));
}

#[tokio::test]
async fn persistent_refusals_ban_the_ip_until_an_operator_lifts_it() {
    let app = TestApp::builder().ip_limits(limits(2, 3), &[]).start().await;
    let token = app.token(&["cnaf_quotient_familial"]).await;
    let mut statuses = Vec::new();
    for _ in 0..6 {
        statuses.push(detail(call_from(&app, &token, None).await).await);
    }
    // Two allowed, three refusals tolerated, the fourth bans.
    let codes: Vec<u16> = statuses.iter().map(|(s, _)| *s).collect();
    assert_eq!(codes, [200, 200, 429, 429, 429, 429], "{statuses:?}");
    let banned = call_from(&app, &token, None).await;
    let wait: u64 = banned.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((43_000..=43_200).contains(&wait), "{wait}");
    let (status, said) = detail(banned).await;
    assert_eq!(status, 429);
    assert!(said.contains("127.0.0.1 est bannie jusqu'au"), "{said}");

    let dir = app.state.config.data_dir.display().to_string();
    let (ok, out) = cli(&["ip-bans", "list", "--data-dir", &dir]).await;
    assert!(ok && out.contains("127.0.0.1") && out.contains("in force"), "{out}");
    let (ok, out) = cli(&["ip-bans", "lift", "127.0.0.1", "--data-dir", &dir]).await;
    assert!(ok && out.contains("lifted"), "{out}");
    let (ok, out) = cli(&["ip-bans", "lift", "127.0.0.1", "--data-dir", &dir]).await;
    assert!(!ok && out.contains("not banned"), "{out}");
    let (ok, out) = cli(&["ip-bans", "list", "--all", "--data-dir", &dir]).await;
    assert!(ok && out.contains("lifted"), "{out}");

    // Within the refresh, the gateway answers again: the IP's quota, not the ban.
    let lifted = eventually(Duration::from_secs(3), || async {
        !detail(call_from(&app, &token, None).await).await.1.contains("bannie")
    })
    .await;
    assert!(lifted, "the lift reached the gateway");
}

#[tokio::test]
async fn forwarded_for_names_the_caller_only_behind_a_trusted_proxy() {
    let behind_proxy = TestApp::builder()
        .ip_limits(limits(2, 1000), &["127.0.0.1"])
        .start()
        .await;
    let token = behind_proxy.token(&["cnaf_quotient_familial"]).await;
    for _ in 0..2 {
        assert_eq!(
            call_from(&behind_proxy, &token, Some("203.0.113.7")).await.status(),
            200
        );
    }
    assert_eq!(
        call_from(&behind_proxy, &token, Some("203.0.113.7")).await.status(),
        429
    );
    assert_eq!(
        call_from(&behind_proxy, &token, Some("203.0.113.8")).await.status(),
        200,
        "another client"
    );

    let exposed = TestApp::builder().ip_limits(limits(2, 1000), &[]).start().await;
    let token = exposed.token(&["cnaf_quotient_familial"]).await;
    assert_eq!(call_from(&exposed, &token, Some("203.0.113.7")).await.status(), 200);
    assert_eq!(call_from(&exposed, &token, Some("203.0.113.8")).await.status(), 200);
    let forged = call_from(&exposed, &token, Some("203.0.113.9")).await;
    assert_eq!(
        forged.status(),
        429,
        "the header of an untrusted peer is ignored: one IP"
    );
}

/// Two replicas on one PostgreSQL and one Redis: one quota for the IP, and a ban made
/// by one replica refused by the other.
#[tokio::test]
async fn quota_and_ban_hold_across_two_replicas() {
    let Some(url) = shared_redis().await else { return };
    let Some(deployment) = Deployment::on_postgres().await else {
        return;
    };
    let upstream = upstream(Duration::ZERO).await;
    let mut env = deployment.env(&upstream, Some((&url, &unique_prefix())));
    env.retain(|(k, _)| !k.starts_with("PASSERELLE_IP_LIMITS__"));
    for (k, v) in [
        ("PER_MINUTE", "6"),
        ("REFUSALS_BEFORE_BAN", "4"),
        ("BANS_REFRESH_MS", "200"),
    ] {
        env.push((format!("PASSERELLE_IP_LIMITS__{k}"), v.into()));
    }
    let a = deployment.replica(&env, Stdio::null()).await;
    let b = deployment.replica(&env, Stdio::null()).await;
    let client = reqwest::Client::new();
    let mut allowed = 0;
    for turn in 0..10 {
        let replica = if turn % 2 == 0 { &a } else { &b };
        if replica.call(&client, &deployment.jwt, false).await.status() != 429 {
            allowed += 1;
        }
    }
    assert!(
        (6..=7).contains(&allowed),
        "one quota of 6 for both replicas: {allowed} allowed"
    );
    // Refusals on A until it bans; then B refuses the IP as banned.
    for _ in 0..4 {
        a.call(&client, &deployment.jwt, false).await;
    }
    let banned_on_b = eventually(Duration::from_secs(3), || async {
        let response = b.call(&client, &deployment.jwt, false).await;
        detail(response).await.1.contains("bannie")
    })
    .await;
    assert!(banned_on_b, "the ban reached the other replica");
    let mut args = vec!["ip-bans", "list"];
    args.extend(deployment.store_args());
    let (ok, out) = cli(&args).await;
    assert!(ok && out.contains("127.0.0.1") && out.contains("in force"), "{out}");
}
