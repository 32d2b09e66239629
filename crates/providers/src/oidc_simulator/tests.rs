use super::*;

#[test]
fn codes_are_single_use_and_expire() {
    let live = Expiring::new(LIFETIME);
    let key = live.insert(7);
    assert!(key.len() >= 43);
    assert_eq!(live.get(&key), Some(7));
    assert_eq!(live.take(&key), Some(7));
    assert_eq!(live.take(&key), None);

    let dead = Expiring::new(Duration::ZERO);
    let key = dead.insert(1);
    assert_eq!((dead.get(&key), dead.take(&key)), (None, None));
    dead.insert(2);
    dead.insert(3);
    assert_eq!(
        dead.entries.lock().unwrap().len(),
        1,
        "expired entries go at each insert"
    );
}

#[test]
fn only_loopback_redirects_with_a_port() {
    for ok in ["http://127.0.0.1:8080/cb", "http://localhost:1/a?b=c"] {
        assert!(loopback_url(ok).is_some(), "{ok}");
    }
    for ko in [
        "http://127.0.0.1/cb",
        "http://localhost:8080/cb#frag",
        "http://example.org:8080/cb",
        "javascript:alert(1)",
        "http://[::1]:8080/cb",
    ] {
        assert!(loopback_url(ko).is_none(), "{ko}");
    }
}

#[test]
fn host_header_is_checked_before_use() {
    assert!(is_host("127.0.0.1:8090") && is_host("localhost:3000") && is_host("[::1]:80"));
    assert!(!is_host("evil.example/x") && !is_host("a b") && !is_host(""));
}

#[test]
fn text_is_escaped_for_html() {
    assert_eq!(
        escape("<a href=\"x\">O'H & co</a>"),
        "&lt;a href=&quot;x&quot;&gt;O&#39;H &amp; co&lt;/a&gt;"
    );
}
