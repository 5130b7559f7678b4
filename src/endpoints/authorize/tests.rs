//! The two pure decisions of `/authorize`, as tables.

use super::*;
use crate::client::settings::settings_for_create;
use crate::client::Origin;
use crate::secret::ClientSecret;

const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

fn client(json: &str) -> Client {
    Client::new("cid".into(), settings_for_create(json.as_bytes()).unwrap(), &ClientSecret::new("s"), 0)
}

fn web() -> Client {
    client(r#"{"name":"Web","scopes":["read","write"],"grant_types":["authorization_code"],"redirect_uris":["https://app.example/cb","http://127.0.0.1/cb"]}"#)
}

fn one_uri() -> Client {
    client(r#"{"name":"One","scopes":["read"],"grant_types":["authorization_code"],"redirect_uris":["https://one.example/cb"]}"#)
}

fn query(extra: &str) -> Params {
    let base = format!("client_id=cid&response_type=code&code_challenge={CHALLENGE}&code_challenge_method=S256&state=xyz");
    let q = if extra.is_empty() { base } else { format!("{base}&{extra}") };
    Params::parse(q.as_bytes()).unwrap()
}

/// The outcome as a short string: `ok`, `page`, or the redirect error code.
fn outcome(params: &Params, client: Option<Client>) -> String {
    match validate(params, client, &[]) {
        Ok(_) => "ok".into(),
        Err(AuthorizeError::Page { .. }) => "page".into(),
        Err(AuthorizeError::Redirect { error, .. }) => error.into(),
    }
}

#[test]
fn validation_table() {
    let ru = "redirect_uri=https%3A%2F%2Fapp.example%2Fcb";
    let disabled = Client { settings: Settings { disabled: true, ..web().settings }, ..web() };
    let cc_only = client(r#"{"name":"M2M","redirect_uris":["https://m.example/cb"]}"#);
    let cases: Vec<(&str, Params, Option<Client>, &str)> = vec![
        ("good", query(ru), Some(web()), "ok"),
        ("loopback on any port", query("redirect_uri=http%3A%2F%2F127.0.0.1%3A49152%2Fcb"), Some(web()), "ok"),
        ("only registered URI implied", query(""), Some(one_uri()), "ok"),
        // Never a redirect: the client or its redirect URI cannot be trusted.
        ("unknown client", query(ru), None, "page"),
        ("disabled client", query(ru), Some(disabled), "page"),
        ("no client_id", Params::parse(b"response_type=code").unwrap(), Some(web()), "page"),
        ("repeated client_id", query(&format!("client_id=cid&{ru}")), Some(web()), "page"),
        ("missing redirect_uri, two registered", query(""), Some(web()), "page"),
        ("unregistered redirect_uri", query("redirect_uri=https%3A%2F%2Fevil.example%2Fcb"), Some(web()), "page"),
        ("redirect_uri differs by a slash", query("redirect_uri=https%3A%2F%2Fapp.example%2Fcb%2F"), Some(web()), "page"),
        ("repeated redirect_uri", query(&format!("{ru}&{ru}")), Some(web()), "page"),
        // Back to the client.
        (
            "no response_type",
            Params::parse(format!("client_id=cid&{ru}&code_challenge={CHALLENGE}&code_challenge_method=S256").as_bytes()).unwrap(),
            Some(web()),
            "invalid_request",
        ),
        ("repeated response_type", query(&format!("{ru}&response_type=token")), Some(web()), "invalid_request"),
        (
            "response_type token",
            Params::parse(format!("client_id=cid&{ru}&response_type=token&code_challenge={CHALLENGE}&code_challenge_method=S256").as_bytes()).unwrap(),
            Some(web()),
            "unsupported_response_type",
        ),
        ("client without the grant", query("redirect_uri=https%3A%2F%2Fm.example%2Fcb"), Some(cc_only), "unauthorized_client"),
        ("unknown scope", query(&format!("{ru}&scope=admin")), Some(web()), "invalid_scope"),
        ("malformed scope", query(&format!("{ru}&scope=a%22b")), Some(web()), "invalid_scope"),
        ("repeated state", query(&format!("{ru}&state=again")), Some(web()), "invalid_request"),
    ];
    for (name, params, client, want) in cases {
        assert_eq!(outcome(&params, client), want, "{name}");
    }
}

#[test]
fn pkce_is_required_s256_only() {
    let ru = "client_id=cid&response_type=code&state=s&redirect_uri=https%3A%2F%2Fapp.example%2Fcb";
    let cases = [
        (format!("{ru}&code_challenge={CHALLENGE}&code_challenge_method=S256"), "ok"),
        (ru.to_string(), "invalid_request"),
        (format!("{ru}&code_challenge={CHALLENGE}"), "invalid_request"),
        (format!("{ru}&code_challenge={CHALLENGE}&code_challenge_method=plain"), "invalid_request"),
        (format!("{ru}&code_challenge={CHALLENGE}&code_challenge_method=s256"), "invalid_request"),
        (format!("{ru}&code_challenge={}&code_challenge_method=S256", "a".repeat(42)), "invalid_request"),
        (format!("{ru}&code_challenge={}&code_challenge_method=S256", "a".repeat(129)), "invalid_request"),
        (format!("{ru}&code_challenge={}%2B&code_challenge_method=S256", "a".repeat(43)), "invalid_request"),
        (format!("{ru}&code_challenge={}&code_challenge_method=S256", "a".repeat(128)), "ok"),
    ];
    for (q, want) in cases {
        assert_eq!(outcome(&Params::parse(q.as_bytes()).unwrap(), Some(web())), want, "{q}");
    }
}

#[test]
fn the_request_that_passes() {
    let ok = validate(&query("redirect_uri=http%3A%2F%2F127.0.0.1%3A5000%2Fcb&scope=read"), Some(web()), &[]).unwrap();
    assert_eq!(ok.redirect.as_str(), "http://127.0.0.1:5000/cb", "the loopback port presented is the one used");
    assert!(ok.redirect_sent);
    assert_eq!((ok.scope, ok.state.as_deref(), ok.challenge.as_str()), (vec!["read".to_string()], Some("xyz"), CHALLENGE));
    let implied = validate(&query(""), Some(one_uri()), &[]).unwrap();
    assert!(!implied.redirect_sent);
    assert_eq!(implied.scope, vec!["read"], "no scope asked: all of the client's");
    // A redirect error carries state and goes to the verified URI.
    let Err(AuthorizeError::Redirect { to, state, .. }) = validate(&query("scope=nope"), Some(one_uri()), &[]) else { panic!() };
    assert_eq!((to.as_str(), state.as_deref()), ("https://one.example/cb", Some("xyz")));
}

#[test]
fn errors_become_a_page_or_a_redirect_with_iss() {
    let page = AuthorizeError::Page { title: "t", detail: "d".into() }.into_response("https://auth.test");
    assert_eq!((page.status, page.header("location")), (400, None));
    let Err(e) = validate(&query("scope=nope"), Some(one_uri()), &[]) else { panic!() };
    let r = e.into_response("https://auth.test");
    assert_eq!(r.status, 302);
    let loc = r.header("location").unwrap();
    assert!(loc.starts_with("https://one.example/cb?error=invalid_scope&error_description="), "{loc}");
    assert!(loc.ends_with("&state=xyz&iss=https%3A%2F%2Fauth.test"), "{loc}");
}

fn who(granted: Option<&[&str]>) -> SessionUser {
    SessionUser {
        user_id: "u".into(),
        username: "alice".into(),
        name: String::new(),
        epoch: 0,
        granted: granted.map(|g| g.iter().map(|s| s.to_string()).collect()),
    }
}

#[test]
fn next_step_table() {
    let req = validate(&query("redirect_uri=https%3A%2F%2Fapp.example%2Fcb&scope=read%20write"), Some(web()), &[]).unwrap();
    let first_party = AuthRequest { client: Client { settings: Settings { skip_consent: true, ..web().settings }, ..web() }, ..req.clone() };
    let cases: Vec<(&str, &AuthRequest, Option<SessionUser>, Step)> = vec![
        ("nobody signed in", &req, None, Step::Login),
        ("first party, nobody signed in", &first_party, None, Step::Login),
        ("no earlier grant", &req, Some(who(None)), Step::Consent),
        ("earlier grant of fewer scopes", &req, Some(who(Some(&["read"]))), Step::Consent),
        ("earlier grant of the same scopes", &req, Some(who(Some(&["write", "read"]))), Step::Approve),
        ("earlier grant of more scopes", &req, Some(who(Some(&["read", "write", "x"]))), Step::Approve),
        ("first party", &first_party, Some(who(None)), Step::Approve),
    ];
    for (name, req, session, want) in cases {
        assert_eq!(next_step(req, session.as_ref()), want, "{name}");
    }
}

use crate::client::Settings;

/// RFC 8707 §2 at `/authorize`: `resource` names some of the client's resources (admin-made:
/// its own; registered and metadata-document clients: the worker's `RESOURCES`); none named,
/// all of them; another one is `invalid_target`, back at the client.
#[test]
fn resources_are_the_clients_own_or_the_workers() {
    let api = "https://api.example.com";
    let with =
        |json: &str| client(&format!(r#"{{"name":"R","grant_types":["authorization_code"],"redirect_uris":["https://one.example/cb"],"resources":{json}}}"#));
    let own = with(r#"["https://api.example.com/","https://b.example/mcp"]"#);
    let q = |r: &[&str]| query(&r.iter().map(|r| format!("resource={}", encode_component(r))).collect::<Vec<_>>().join("&"));
    let configured = vec!["https://conf.example/mcp".to_string()];
    type Row<'a> = (&'a str, Params, Client, Result<Vec<&'a str>, &'a str>);
    let table: Vec<Row> = vec![
        ("none named: all", q(&[]), own.clone(), Ok(vec!["https://api.example.com/", "https://b.example/mcp"])),
        ("one, without the slash", q(&[api]), own.clone(), Ok(vec!["https://api.example.com/"])),
        ("two", q(&["https://b.example/mcp", api]), own.clone(), Ok(vec!["https://b.example/mcp", "https://api.example.com/"])),
        ("not the client's", q(&["https://evil.example"]), own.clone(), Err("invalid_target")),
        ("the worker's is not an admin client's", q(&["https://conf.example/mcp"]), own.clone(), Err("invalid_target")),
        ("a client without resources", q(&[api]), with("[]"), Err("invalid_target")),
        (
            "registered: the worker's",
            q(&["https://conf.example/mcp"]),
            Client { origin: Origin::Registered, ..own.clone() },
            Ok(vec!["https://conf.example/mcp"]),
        ),
        ("registered: not its own", q(&[api]), Client { origin: Origin::Registered, ..own.clone() }, Err("invalid_target")),
        ("metadata document: all of the worker's", q(&[]), Client { origin: Origin::MetadataDocument, ..own.clone() }, Ok(vec!["https://conf.example/mcp"])),
    ];
    for (name, params, c, want) in table {
        match (validate(&params, Some(c), &configured), want) {
            (Ok(req), Ok(want)) => assert_eq!(req.resources, want, "{name}"),
            (Err(AuthorizeError::Redirect { error, state, .. }), Err(want)) => {
                assert_eq!((error, state.as_deref()), (want, Some("xyz")), "{name}");
            }
            (got, want) => panic!("{name}: {got:?} vs {want:?}"),
        }
    }
    assert_eq!(resource_hosts(&["https://a.example/x".into(), "https://a.example/y".into(), "http://127.0.0.1:9/".into()]), vec!["a.example", "127.0.0.1"]);
}
