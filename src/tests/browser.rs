//! A browser for handler tests: cookies kept between requests, forms read from pages, and the
//! steps of the code flow (sign in, approve, redeem) that the person-side suites share.

use super::*;
use crate::auth::pkce::s256;
use std::collections::BTreeMap;

pub const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
pub const CB: &str = "https://app.example/cb";

/// A browser: cookies kept between requests, forms read from pages.
pub struct Browser {
    pub cookies: BTreeMap<String, String>,
    pub ip: &'static str,
}

impl Browser {
    pub fn new() -> Browser {
        Browser { cookies: BTreeMap::new(), ip: "10.0.0.1" }
    }

    pub fn send(&mut self, h: &mut Harness, r: Req) -> HttpResponse {
        let mut r = r.ip(Some(self.ip));
        if !self.cookies.is_empty() {
            let c: Vec<String> = self.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect();
            r = r.header("cookie", &c.join("; "));
        }
        let resp = h.send(r);
        for (n, v) in &resp.headers {
            if *n == "set-cookie" {
                let pair = v.split(';').next().unwrap();
                let (k, val) = pair.split_once('=').unwrap();
                if val.is_empty() || v.contains("Max-Age=0") {
                    self.cookies.remove(k);
                } else {
                    self.cookies.insert(k.to_string(), val.to_string());
                }
            }
        }
        resp
    }
}

/// The value of the input named `name` in a page (entities decoded).
pub fn input(page: &HttpResponse, name: &str) -> Option<String> {
    let html = String::from_utf8_lossy(&page.body);
    let at = html.find(&format!("name=\"{name}\" value=\""))?;
    let rest = &html[at + name.len() + 15..];
    let v = &rest[..rest.find('"')?];
    Some(v.replace("&#34;", "\"").replace("&#39;", "'").replace("&#60;", "<").replace("&#62;", ">").replace("&#38;", "&"))
}

/// Every value of the inputs named `name` (repeatable parameters such as `resource`).
pub fn inputs(page: &HttpResponse, name: &str) -> Vec<String> {
    let html = String::from_utf8_lossy(&page.body);
    let marker = format!("name=\"{name}\" value=\"");
    html.match_indices(&marker)
        .filter_map(|(at, _)| html[at + marker.len()..].split('"').next().map(|v| v.replace("&#47;", "/").replace("&#38;", "&")))
        .collect()
}

pub fn text(r: &HttpResponse) -> String {
    String::from_utf8_lossy(&r.body).into_owned()
}

/// The query of a redirect, as pairs.
pub fn redirect_query(r: &HttpResponse) -> BTreeMap<String, String> {
    let loc = r.header("location").expect("a redirect");
    let q = loc.split_once('?').map(|(_, q)| q).unwrap_or("");
    crate::form::Params::parse(q.as_bytes()).unwrap();
    q.split('&').filter_map(|p| p.split_once('=')).map(|(k, v)| (k.to_string(), crate::form::decode_component(v.as_bytes()).unwrap())).collect()
}

impl Harness {
    pub fn user(&mut self, username: &str, password: &str) -> String {
        let body = format!(r#"{{"username":"{username}","password":"{password}","name":"The {username}"}}"#);
        let r = self.send(Req::new("POST", "/admin/users").bearer(ADMIN).body(body));
        assert_eq!(r.status, 201, "{}", text(&r));
        r.body_json()["user_id"].as_str().unwrap().to_string()
    }

    /// A web client with the authorization code (and refresh) grant; `extra` (`,"key":value…`)
    /// adds settings or replaces these defaults (a repeated key would be refused).
    pub fn web_client(&mut self, extra: &str) -> (String, String) {
        let mut body = serde_json::json!({"name": "Web", "scopes": ["read", "write"],
            "grant_types": ["authorization_code", "refresh_token"], "redirect_uris": [CB]});
        let extra: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&format!("{{{}}}", extra.trim_start_matches(','))).unwrap();
        body.as_object_mut().unwrap().extend(extra);
        let r = self.send(Req::new("POST", "/admin/clients").bearer(ADMIN).body(body.to_string()));
        assert_eq!(r.status, 201, "{}", text(&r));
        let v = r.body_json();
        (v["client_id"].as_str().unwrap().to_string(), v["client_secret"].as_str().unwrap_or("").to_string())
    }
}

pub fn authorize_url(client_id: &str, extra: &str) -> String {
    format!("/authorize?response_type=code&client_id={client_id}&redirect_uri=https%3A%2F%2Fapp.example%2Fcb&code_challenge={}&code_challenge_method=S256&state=s%201{extra}", s256(VERIFIER))
}

/// Sign in through the login page an authorization request shows.
pub fn sign_in(h: &mut Harness, b: &mut Browser, url: &str, username: &str, password: &str) -> HttpResponse {
    let login = b.send(h, Req::new("GET", url));
    assert_eq!(login.status, 200, "{}", text(&login));
    let form = format!(
        "username={username}&password={}&csrf_token={}&return_to={}",
        crate::form::encode_component(password),
        input(&login, "csrf_token").unwrap(),
        crate::form::encode_component(&input(&login, "return_to").unwrap())
    );
    b.send(h, Req::new("POST", "/login").form(&form))
}

/// Approve on the consent page (after sign-in).
pub fn approve(h: &mut Harness, b: &mut Browser, url: &str, decision: &str) -> HttpResponse {
    let consent = b.send(h, Req::new("GET", url));
    assert_eq!(consent.status, 200, "{}", text(&consent));
    let mut form = String::new();
    for name in ["response_type", "client_id", "redirect_uri", "scope", "state", "code_challenge", "code_challenge_method", "csrf_token"] {
        if let Some(v) = input(&consent, name) {
            form.push_str(&format!("{name}={}&", crate::form::encode_component(&v)));
        }
    }
    for r in inputs(&consent, "resource") {
        form.push_str(&format!("resource={}&", crate::form::encode_component(&r)));
    }
    form.push_str(&format!("decision={decision}"));
    b.send(h, Req::new("POST", "/authorize").form(&form))
}

/// The whole flow to a code: sign in and approve unless this browser already did.
pub fn code_for(h: &mut Harness, b: &mut Browser, client_id: &str, user: (&str, &str)) -> String {
    let url = authorize_url(client_id, "");
    let first = b.send(h, Req::new("GET", &url));
    if first.status == 302 {
        return redirect_query(&first)["code"].clone();
    }
    if input(&first, "password").is_some() || text(&first).contains("name=\"password\"") {
        let signed = sign_in(h, b, &url, user.0, user.1);
        assert_eq!(signed.status, 303, "{}", text(&signed));
    }
    let r = approve(h, b, &url, "approve");
    assert_eq!(r.status, 302, "{}", text(&r));
    redirect_query(&r)["code"].clone()
}

/// Redeem a code as a confidential client (Basic), expecting success: the token response.
pub fn redeem_basic(h: &mut Harness, client: &(String, String), code: &str) -> serde_json::Value {
    let body = format!("grant_type=authorization_code&code={code}&redirect_uri=https%3A%2F%2Fapp.example%2Fcb&code_verifier={VERIFIER}");
    let r = h.send(Req::new("POST", "/token").form(&body).basic(&client.0, &client.1));
    assert_eq!(r.status, 200, "{}", text(&r));
    r.body_json()
}

pub fn redeem(h: &mut Harness, client_id: &str, code: &str) -> HttpResponse {
    let body = format!("grant_type=authorization_code&code={code}&redirect_uri=https%3A%2F%2Fapp.example%2Fcb&client_id={client_id}&code_verifier={VERIFIER}");
    h.send(Req::new("POST", "/token/").form(&body))
}
