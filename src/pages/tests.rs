use super::*;

const EVIL: &str = "<script>alert(1)</script>";
const CSRF: Csrf<'static> = Csrf("tok-\"<&>'");

fn html(r: &HttpResponse) -> &str {
    std::str::from_utf8(&r.body).unwrap()
}

fn header<'r>(r: &'r HttpResponse, name: &str) -> Option<&'r str> {
    r.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
}

fn person() -> Person<'static> {
    Person { username: "ada", name: "Ada Lovelace" }
}

fn client() -> ClientInfo<'static> {
    ClientInfo { name: "Photo Printer", redirect_host: Some("prints.example.com"), resource_hosts: &[] }
}

const SCOPES: &[ScopeInfo] =
    &[ScopeInfo { name: "photos:read", description: "See your photos and albums" }, ScopeInfo { name: "profile", description: "See your name and username" }];

/// Every page, with its expected status.
fn all_pages() -> Vec<(&'static str, u16, HttpResponse)> {
    let hidden = [("client_id", "c1"), ("state", "xyz")];
    vec![
        ("login", 200, login(CSRF, "/authorize?x=1", "", None, Some(client()))),
        ("login-failed", 401, login(CSRF, "/authorize?x=1", "ada", Some(LoginProblem::WrongCredentials), None)),
        ("too-many", 429, too_many_attempts(900)),
        ("consent", 200, consent(CSRF, person(), client(), SCOPES, "/authorize", &hidden)),
        ("error", 400, error(400, "Unknown application", "This application is not registered.")),
        ("error-403", 403, error(403, "Please try again", "The form expired.")),
        ("logout", 200, logout(CSRF, Some(person()))),
        ("logout-nobody", 200, logout(CSRF, None)),
        ("signed-out", 200, signed_out()),
        ("signed-in", 200, signed_in(person())),
        ("device-entry", 200, device_entry(CSRF, "", None)),
        ("device-entry-problem", 400, device_entry(CSRF, "BCDF", Some("That code is not valid or has expired."))),
        (
            "device-consent",
            200,
            device_consent(CSRF, person(), ClientInfo { name: "Living Room TV", redirect_host: None, resource_hosts: &[] }, SCOPES, "BCDFGHJK"),
        ),
        ("device-approved", 200, device_done(true, "Living Room TV")),
        ("device-denied", 200, device_done(false, "Living Room TV")),
    ]
}

#[test]
fn every_page_has_the_headers_and_status() {
    for (name, status, r) in all_pages() {
        assert_eq!(r.status, status, "{name}");
        assert_eq!(header(&r, "content-type"), Some("text/html; charset=utf-8"), "{name}");
        assert_eq!(header(&r, "cache-control"), Some("no-store"), "{name}");
        assert_eq!(header(&r, "pragma"), Some("no-cache"), "{name}");
        assert_eq!(header(&r, "x-frame-options"), Some("DENY"), "{name}");
        assert_eq!(
            header(&r, "content-security-policy"),
            Some("default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'; base-uri 'none'"),
            "{name}"
        );
        assert_eq!(header(&r, "referrer-policy"), Some("no-referrer"), "{name}");
        assert_eq!(header(&r, "x-content-type-options"), Some("nosniff"), "{name}");
        let body = html(&r);
        assert!(body.starts_with("<!doctype html>"), "{name}");
        assert!(body.contains("<title>") && body.contains("<meta name=\"viewport\""), "{name}");
        assert!(!body.contains("<script"), "{name}: no JavaScript");
        assert!(!body.contains("src=\"http") && !body.contains("href=\"http"), "{name}: no external resources");
    }
}

#[test]
fn too_many_attempts_is_429_with_retry_after() {
    let r = too_many_attempts(900);
    assert_eq!(r.status, 429);
    assert_eq!(header(&r, "retry-after"), Some("900"));
    assert!(html(&r).contains("15 minutes"));
    assert!(!html(&r).contains("<form"));
    assert_eq!(wait_in_words(1), "1 second");
    assert_eq!(wait_in_words(61), "2 minutes");
    assert_eq!(wait_in_words(7200), "2 hours");
}

#[test]
fn error_pages_have_no_form() {
    for r in [error(400, "Unknown application", "Not registered."), signed_out(), device_done(true, "TV"), device_done(false, "TV"), logout(CSRF, None)] {
        assert!(!html(&r).contains("<form"));
    }
    let r = error(403, "Refused <now>", "Because \"reasons\" & more");
    assert_eq!(r.status, 403);
    let body = html(&r);
    assert!(body.contains("Refused &#60;now&#62;") && body.contains("Because &#34;reasons&#34; &#38; more"));
}

#[test]
fn login_form() {
    let r = login(Csrf("csrf123"), "/authorize?a=1&b=2", "ada", None, None);
    let body = html(&r);
    assert!(body.contains(r#"<form method="post" action="/login">"#));
    assert!(body.contains(r#"name="username" type="text" value="ada""#));
    assert!(body.contains(r#"name="password" type="password""#));
    assert!(body.contains(r#"<input type="hidden" name="csrf_token" value="csrf123">"#));
    assert!(body.contains(r#"<input type="hidden" name="return_to" value="/authorize?a=1&#38;b=2">"#));
    assert!(!body.contains("incorrect"));
    let failed = login(Csrf("c"), "/", "", Some(LoginProblem::WrongCredentials), None);
    assert_eq!(failed.status, 401);
    assert!(html(&failed).contains("The username or password is incorrect."));
}

#[test]
fn login_escapes_what_others_control() {
    let c = ClientInfo { name: EVIL, redirect_host: Some("a\"b<c&d"), resource_hosts: &[EVIL] };
    let r = login(CSRF, "\"><script>x</script>", "\"><b>", None, Some(c));
    let body = html(&r);
    assert!(!body.contains("<script") && !body.contains("\"><b>"));
    assert!(body.contains("&#60;script&#62;alert(1)&#60;/script&#62;"));
    assert!(body.contains("a&#34;b&#60;c&#38;d"));
    assert!(body.contains(r#"value="tok-&#34;&#60;&#38;&#62;&#39;""#));
    assert!(body.contains(r#"value="&#34;&#62;&#60;b&#62;""#));
}

fn assert_decision_buttons(body: &str) {
    assert!(body.contains(r#"<button type="submit" name="decision" value="approve">Approve</button>"#));
    assert!(body.contains(r#"<button type="submit" name="decision" value="deny" class="alt">Deny</button>"#));
}

#[test]
fn consent_form() {
    let hidden = [("client_id", "c1"), ("state", "s\"<&"), ("code_challenge", "abc")];
    let r = consent(Csrf("csrf123"), person(), client(), SCOPES, "/authorize?x=1&y=2", &hidden);
    assert_eq!(r.status, 200);
    let body = html(&r);
    assert!(body.contains(r#"<form method="post" action="/authorize?x=1&#38;y=2">"#));
    assert!(body.contains(r#"<input type="hidden" name="client_id" value="c1">"#));
    assert!(body.contains(r#"<input type="hidden" name="state" value="s&#34;&#60;&#38;">"#));
    assert!(body.contains(r#"<input type="hidden" name="code_challenge" value="abc">"#));
    assert!(body.contains(r#"<input type="hidden" name="csrf_token" value="csrf123">"#));
    assert_decision_buttons(body);
    assert!(body.contains("Photo Printer") && body.contains("prints.example.com"));
    assert!(body.contains("Ada Lovelace") && body.contains(r#"<a href="/logout">Sign out</a>"#));
    for s in SCOPES {
        assert!(body.contains(s.name) && body.contains(s.description));
    }
}

#[test]
fn consent_escapes_what_others_control() {
    let scopes = [ScopeInfo { name: "a\"<b>&", description: "<i>desc</i> \"q\" & more" }];
    let p = Person { username: "<u>", name: "\"<n>\"" };
    let c = ClientInfo { resource_hosts: &[], name: EVIL, redirect_host: Some("<h>") };
    let hidden = [("x\"><y", "\"><script>z</script>")];
    let body = String::from_utf8(consent(CSRF, p, c, &scopes, "/a\"b", &hidden).body).unwrap();
    assert!(!body.contains("<script") && !body.contains("<i>") && !body.contains("<u>") && !body.contains("<n>") && !body.contains("<h>"));
    assert!(body.contains("&#60;script&#62;alert(1)&#60;/script&#62;"));
    assert!(body.contains("a&#34;&#60;b&#62;&#38;"));
    assert!(body.contains("&#60;i&#62;desc&#60;/i&#62; &#34;q&#34; &#38; more"));
    assert!(body.contains(r#"<input type="hidden" name="x&#34;&#62;&#60;y" value="&#34;&#62;&#60;script&#62;z&#60;/script&#62;">"#));
    assert!(body.contains(r#"action="/a&#34;b""#));
    assert!(body.contains("&#34;&#60;n&#62;&#34;") && body.contains("&#60;u&#62;") && body.contains("&#60;h&#62;"));
}

#[test]
fn logout_pages() {
    let body = String::from_utf8(logout(Csrf("csrf123"), Some(person())).body).unwrap();
    assert!(body.contains(r#"<form method="post" action="/logout">"#));
    assert!(body.contains(r#"<input type="hidden" name="csrf_token" value="csrf123">"#));
    assert_eq!(body.matches("<button").count(), 1);
    let nobody = String::from_utf8(logout(Csrf("csrf123"), None).body).unwrap();
    assert!(nobody.contains("not signed in") && !nobody.contains("<form") && !nobody.contains("csrf123"));
    assert!(html(&signed_out()).contains("You are signed out."));
    let p = Person { username: "<u>", name: "" };
    let body = String::from_utf8(signed_in(p).body).unwrap();
    assert!(body.contains("&#60;u&#62;") && !body.contains("<u>") && body.contains(r#"href="/logout""#));
}

#[test]
fn device_entry_form() {
    let r = device_entry(Csrf("csrf123"), "bcdf-\"<&", None);
    assert_eq!(r.status, 200);
    let body = html(&r);
    assert!(body.contains(r#"<form method="post" action="/device">"#));
    assert!(body.contains(r#"<input type="hidden" name="csrf_token" value="csrf123">"#));
    assert!(body.contains(r#"name="user_code" type="text" value="bcdf-&#34;&#60;&#38;""#));
    assert_eq!(body.matches("<button").count(), 1);
    let r = device_entry(Csrf("c"), "", Some("Bad <code> & \"so on\""));
    assert_eq!(r.status, 400);
    assert!(html(&r).contains("Bad &#60;code&#62; &#38; &#34;so on&#34;"));
}

#[test]
fn device_consent_form() {
    let r = device_consent(Csrf("csrf123"), person(), ClientInfo { resource_hosts: &[], name: EVIL, redirect_host: None }, SCOPES, "bcdfghjk");
    assert_eq!(r.status, 200);
    let body = html(&r);
    assert!(body.contains(r#"<form method="post" action="/device">"#));
    assert!(body.contains(r#"<input type="hidden" name="user_code" value="bcdfghjk">"#));
    assert!(body.contains(r#"<input type="hidden" name="csrf_token" value="csrf123">"#));
    assert_decision_buttons(body);
    assert!(body.contains(r#"<p class="code">BCDF-GHJK</p>"#));
    assert!(body.contains("holding") && body.contains("same code"));
    assert!(!body.contains("<script") && body.contains("&#60;script&#62;alert(1)&#60;/script&#62;"));
    let r = device_consent(Csrf("c"), person(), client(), &[], "\"<x>\"");
    let body = html(&r);
    assert!(body.contains(r#"value="&#34;&#60;x&#62;&#34;""#) && !body.contains("<x>"));
}

#[test]
fn device_done_pages() {
    let yes = String::from_utf8(device_done(true, EVIL).body).unwrap();
    assert!(yes.contains("return to your device") && !yes.contains("<script"));
    let no = String::from_utf8(device_done(false, "TV").body).unwrap();
    assert!(no.contains("denied") && !no.contains("return to your device"));
}

#[test]
fn display_code_formats_eight_characters() {
    assert_eq!(display_code("bcdfghjk"), "BCDF-GHJK");
    assert_eq!(display_code("BCDF-GHJK"), "BCDF-GHJK");
    assert_eq!(display_code("short"), "short");
}

/// Writes every page to /tmp/pages-preview/ for a look in a browser:
/// `cargo test --lib pages::tests::preview -- --ignored`.
#[test]
#[ignore]
fn preview() {
    let dir = std::path::Path::new("/tmp/pages-preview");
    std::fs::create_dir_all(dir).unwrap();
    let mut pages = all_pages();
    let long = [
        ScopeInfo { name: "openid", description: "" },
        ScopeInfo { name: "calendar:write", description: "Create, change and delete events in all of your calendars, including shared ones" },
    ];
    let odd = ClientInfo { resource_hosts: &[], name: EVIL, redirect_host: Some("a-very-long-subdomain.of-a-rather-long-domain-name.example.co.uk") };
    pages.push(("consent-odd", 200, consent(CSRF, Person { username: "ada", name: "" }, odd, &long, "/authorize", &[])));
    pages.push(("consent-noscopes", 200, consent(CSRF, person(), client(), &[], "/authorize", &[])));
    for (name, _, r) in pages {
        std::fs::write(dir.join(format!("{name}.html")), &r.body).unwrap();
    }
}

#[test]
fn consent_names_a_document_clients_host() {
    let r = consent_with_host(CSRF, person(), client(), Some("app.example.com"), SCOPES, "/authorize", &[]);
    let body = html(&r);
    assert!(body.contains(r#"<b class="host">app.example.com</b>"#) && body.contains("Go on only if you know and trust app.example.com"));
    assert_decision_buttons(body);
    let plain = consent(CSRF, person(), client(), SCOPES, "/authorize", &[]);
    assert!(!html(&plain).contains("which chose its name"), "only for document clients");
}

#[test]
fn provider_buttons_are_escaped_links_below_the_form() {
    let buttons = [
        ProviderButton { name: EVIL.into(), href: "/login/p1?return_to=%2Fauthorize%3Fa%3D1".into() },
        ProviderButton { name: "GitHub".into(), href: "/login/p2".into() },
    ];
    let r = login_with_providers(CSRF, "/authorize?a=1", "", None, Some(client()), &buttons);
    let page = html(&r);
    assert_eq!(r.status, 200);
    assert!(!page.contains(EVIL), "escaped");
    assert!(page.contains("Continue with &#60;script") || page.contains("Continue with &lt;script"), "{page}");
    assert!(page.contains("Continue with GitHub") && page.contains("href=\"/login/p2\""));
    assert!(page.find("</form>").unwrap() < page.find("Continue with GitHub").unwrap(), "below the password form");
    assert!(!html(&login(CSRF, "", "", None, None)).contains("Continue with"), "no providers, no buttons");
}
