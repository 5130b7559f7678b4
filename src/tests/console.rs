//! Sign-up and the console pages through the handlers, with a cookie-keeping browser.

use super::browser::*;
use super::*;

fn open() -> Harness {
    let mut h = Harness::new();
    h.app.config.signup = true;
    h
}

fn form_of(page: &HttpResponse, fields: &[(&str, &str)]) -> String {
    let mut out = format!("csrf_token={}", input(page, "csrf_token").expect("a csrf token"));
    for (k, v) in fields {
        out.push_str(&format!("&{k}={}", crate::form::encode_component(v)));
    }
    out
}

fn sign_up(h: &mut Harness, b: &mut Browser, username: &str) -> HttpResponse {
    let page = b.send(h, Req::new("GET", "/signup"));
    assert_eq!(page.status, 200);
    let body = form_of(&page, &[("username", username), ("name", "Ann"), ("password", "correct horse")]);
    b.send(h, Req::new("POST", "/signup").form(&body))
}

/// Create a project through the new-project form; the page that shows the secret.
fn create(h: &mut Harness, b: &mut Browser, name: &str, api: &str) -> (HttpResponse, String) {
    let page = b.send(h, Req::new("GET", "/console/projects/new"));
    assert_eq!(page.status, 200, "{}", text(&page));
    let body = form_of(&page, &[("nonce", &input(&page, "nonce").unwrap()), ("name", name), ("api", api), ("api_key", "on")]);
    (b.send(h, Req::new("POST", "/console/projects").form(&body)), body)
}

fn secret_of(page: &HttpResponse) -> String {
    let html = text(page);
    let at = html.find("id=\"secret\" class=\"id select\">").expect("the secret is shown") + 30;
    html[at..at + html[at..].find('<').unwrap()].to_string()
}

fn key_id_of(page: &HttpResponse) -> String {
    let html = text(page);
    let at = html.find("/console/projects/").unwrap() + 18;
    html[at..at + 22].to_string()
}

#[test]
fn sign_up_then_a_project_from_the_console() {
    let mut h = open();
    let maps = h.api("Maps API", r#"["maps:read"]"#, None);
    let mut b = Browser::new();

    // Not signed in: to the sign-in page, which comes back here.
    let r = b.send(&mut h, Req::new("GET", "/console/projects/new"));
    assert_eq!((r.status, r.header("location")), (303, Some("/login?return_to=%2Fconsole%2Fprojects%2Fnew")));
    let login = b.send(&mut h, Req::new("GET", "/login?return_to=%2Fconsole%2Fprojects%2Fnew"));
    assert_eq!(input(&login, "return_to").as_deref(), Some("/console/projects/new"));

    let r = sign_up(&mut h, &mut b, "ann");
    assert_eq!((r.status, r.header("location")), (303, Some("/console")), "{}", text(&r));
    let list = b.send(&mut h, Req::new("GET", "/console"));
    assert_eq!(list.status, 200);
    assert!(text(&list).contains("No projects yet"));
    for (n, v) in [("x-frame-options", "DENY"), ("cache-control", "no-store")] {
        assert_eq!(list.header(n), Some(v));
    }

    let (page, body) = create(&mut h, &mut b, "<script>alert(1)</script>", &maps);
    assert_eq!(page.status, 201, "{}", text(&page));
    let html = text(&page);
    assert!(!html.contains("<script>alert"), "the name is text, never markup");
    assert!(html.contains("&#60;script&#62;alert(1)&#60;/script&#62;"));
    let secret = secret_of(&page);
    let id = key_id_of(&page);
    let token = h.token(&id, &secret);
    assert_eq!(h.validate(&token, "10.0.0.1").status, 200);
    // The secret is shown once: not on the project page after.
    let again = b.send(&mut h, Req::new("GET", &format!("/console/projects/{id}")));
    assert!(!text(&again).contains(&secret));
    // A replayed new-project form makes nothing.
    let replay = b.send(&mut h, Req::new("POST", "/console/projects").form(&body));
    assert_eq!(replay.status, 409);
    let list = b.send(&mut h, Req::new("GET", "/console"));
    assert_eq!(text(&list).matches("/console/projects/").count() - text(&list).matches("/console/projects/new").count(), 1);

    // Rotate with no grace: the old secret and token die; the form, replayed, does nothing.
    let page = b.send(&mut h, Req::new("GET", &format!("/console/projects/{id}")));
    let rotate = form_of(&page, &[("generation", "0"), ("grace", "0")]);
    let r = b.send(&mut h, Req::new("POST", &format!("/console/projects/{id}/rotate")).form(&rotate));
    assert_eq!(r.status, 200, "{}", text(&r));
    let new_secret = secret_of(&r);
    assert_ne!(new_secret, secret);
    assert_eq!(h.validate(&token, "10.0.0.1").status, 401);
    let r = b.send(&mut h, Req::new("POST", &format!("/console/projects/{id}/rotate")).form(&rotate));
    assert_eq!(r.status, 409);
    let t2 = h.token(&id, &new_secret);
    // A grace not in the list.
    let bad = form_of(&page, &[("generation", "1"), ("grace", "5")]);
    assert_eq!(b.send(&mut h, Req::new("POST", &format!("/console/projects/{id}/rotate")).form(&bad)).status, 400);

    // Edit with no API: the form again, 400, nothing changed.
    let r = b.send(&mut h, Req::new("POST", &format!("/console/projects/{id}/edit")).form(&form_of(&page, &[("name", "Renamed")])));
    assert_eq!(r.status, 400);
    assert!(text(&r).contains("Pick at least one API"));
    let r = b.send(&mut h, Req::new("POST", &format!("/console/projects/{id}/edit")).form(&form_of(&page, &[("name", "Renamed"), ("api", &maps)])));
    assert_eq!((r.status, r.header("location")), (303, Some(format!("/console/projects/{id}").as_str())));
    let shown = b.send(&mut h, Req::new("GET", &format!("/console/projects/{id}")));
    assert!(text(&shown).contains("Renamed") && text(&shown).contains("Off: tokens only"), "api_key unchecked turns it off");

    // Disable and enable.
    let r = b.send(&mut h, Req::new("POST", &format!("/console/projects/{id}/disable")).form(&form_of(&page, &[("disabled", "true")])));
    assert_eq!(r.status, 303);
    assert_eq!(h.validate(&t2, "10.0.0.1").status, 401);
    b.send(&mut h, Req::new("POST", &format!("/console/projects/{id}/disable")).form(&form_of(&page, &[("disabled", "false")])));
    let t3 = h.token(&id, &new_secret);

    // CSRF: refused, nothing changes.
    let forged = "csrf_token=x&confirm=Renamed";
    assert_eq!(b.send(&mut h, Req::new("POST", &format!("/console/projects/{id}/delete")).form(forged)).status, 403);
    assert_eq!(h.validate(&t3, "10.0.0.1").status, 200);

    // Delete: the typed name must match.
    let r = b.send(&mut h, Req::new("POST", &format!("/console/projects/{id}/delete")).form(&form_of(&page, &[("confirm", "renamed")])));
    assert_eq!(r.status, 400);
    assert_eq!(h.validate(&t3, "10.0.0.1").status, 200);
    let r = b.send(&mut h, Req::new("POST", &format!("/console/projects/{id}/delete")).form(&form_of(&page, &[("confirm", "Renamed")])));
    assert_eq!((r.status, r.header("location")), (303, Some("/console")));
    assert_eq!(h.validate(&t3, "10.0.0.1").status, 401);
    let r = b.send(&mut h, Req::new("POST", &format!("/console/projects/{id}/delete")).form(&form_of(&page, &[("confirm", "Renamed")])));
    assert_eq!(r.status, 404, "a replayed delete finds nothing");
}

#[test]
fn another_persons_project_is_not_found() {
    let mut h = open();
    let maps = h.api("Maps API", r#"["maps:read"]"#, None);
    let mut ann = Browser::new();
    sign_up(&mut h, &mut ann, "ann");
    let (page, _) = create(&mut h, &mut ann, "Ann's", &maps);
    let id = key_id_of(&page);
    let mut bob = Browser::new();
    bob.ip = "10.0.0.2";
    sign_up(&mut h, &mut bob, "bob");
    let mine = bob.send(&mut h, Req::new("GET", "/console/projects/new"));
    for path in [format!("/console/projects/{id}"), "/console/projects/AAAAAAAAAAAAAAAAAAAAAA".to_string()] {
        assert_eq!(bob.send(&mut h, Req::new("GET", &path)).status, 404);
        let r = bob.send(&mut h, Req::new("POST", &format!("{path}/disable")).form(&form_of(&mine, &[("disabled", "true")])));
        assert_eq!(r.status, 404);
    }
    assert_eq!(ann.send(&mut h, Req::new("GET", &format!("/console/projects/{id}"))).status, 200);
    assert_eq!(bob.send(&mut h, Req::new("GET", "/console/nothing")).status, 404);
}

#[test]
fn sign_up_rules() {
    let mut h = Harness::new();
    let mut b = Browser::new();
    assert_eq!(b.send(&mut h, Req::new("GET", "/signup")).status, 404, "off by default");
    h.app.config.signup = true;
    let page = b.send(&mut h, Req::new("GET", "/signup"));
    for input_name in ["username", "name", "password", "csrf_token"] {
        assert!(text(&page).contains(&format!("name=\"{input_name}\"")), "{input_name}");
    }
    let post = |h: &mut Harness, b: &mut Browser, u: &str, p: &str| {
        let body = form_of(&page, &[("username", u), ("name", ""), ("password", p)]);
        b.send(h, Req::new("POST", "/signup").form(&body))
    };
    assert_eq!(post(&mut h, &mut b, "a b", "correct horse").status, 400);
    assert_eq!(post(&mut h, &mut b, "ann", "short").status, 400);
    assert_eq!(b.send(&mut h, Req::new("POST", "/signup").form("csrf_token=x&username=ann&password=correct+horse")).status, 403);
    assert_eq!(post(&mut h, &mut b, "ann", "correct horse").status, 303);
    let taken = post(&mut h, &mut b, "ANN", "correct horse");
    assert_eq!(taken.status, 409);
    assert!(text(&taken).contains("taken") && text(&taken).contains("value=\"ANN\""));
    // Five per address per hour.
    for i in 1..5 {
        assert_eq!(post(&mut h, &mut b, &format!("user{i}"), "correct horse").status, 303, "{i}");
    }
    let r = post(&mut h, &mut b, "user6", "correct horse");
    assert_eq!(r.status, 429);
    assert!(r.header("retry-after").is_some_and(|s| s.parse::<u64>().unwrap() > 0));
    let other = Browser { ip: "10.0.0.9", ..Browser::new() };
    let mut other = other;
    let page2 = other.send(&mut h, Req::new("GET", "/signup"));
    let body = form_of(&page2, &[("username", "user6"), ("password", "correct horse")]);
    assert_eq!(other.send(&mut h, Req::new("POST", "/signup").form(&body)).status, 303, "another address is not limited");
    h.advance(3_600_000);
    assert_eq!(post(&mut h, &mut b, "user7", "correct horse").status, 303, "an hour later");
}

#[test]
fn the_home_page() {
    let mut h = Harness::new();
    let r = h.send(Req::new("GET", "/"));
    assert_eq!(r.status, 200);
    assert!(text(&r).contains("/login?return_to=%2Fconsole") && !text(&r).contains("/signup"));
    h.app.config.signup = true;
    let r = h.send(Req::new("GET", "/"));
    assert!(text(&r).contains("/signup"));
    assert_eq!(r.header("x-frame-options"), Some("DENY"));
    assert_eq!(h.send(Req::new("POST", "/")).status, 405);
}

#[test]
fn the_project_page_shows_and_sets_its_webhook() {
    let mut h = open();
    let maps = h.api("Maps API", r#"["maps:read"]"#, None);
    let mut b = Browser::new();
    sign_up(&mut h, &mut b, "wes");
    let (made, _) = create(&mut h, &mut b, "Hooked", &maps);
    let id = key_id_of(&made);
    let page_path = format!("/console/projects/{id}");
    let action = format!("{page_path}/webhook");
    let page = b.send(&mut h, Req::new("GET", &page_path));
    let html = text(&page);
    assert!(html.contains("No webhook yet") && html.contains(&format!("action=\"{action}\"")));
    assert_eq!(inputs(&page, "event").len(), 9, "every event type, to pick from");

    // The URL rules of the Account API: refused on the form, 400, nothing set.
    let bad = form_of(&page, &[("url", "http://hooks.example/in"), ("event", "key.rotated")]);
    let r = b.send(&mut h, Req::new("POST", &action).form(&bad));
    assert_eq!(r.status, 400);
    assert!(text(&r).contains("The webhook URL must use https") && text(&r).contains("value=\"http://hooks.example/in\""), "{}", text(&r));
    let none = form_of(&page, &[("url", "https://hooks.example/in")]);
    let r = b.send(&mut h, Req::new("POST", &action).form(&none));
    assert_eq!(r.status, 400);
    assert!(text(&r).contains("Pick at least one event"));
    // CSRF first.
    assert_eq!(b.send(&mut h, Req::new("POST", &action).form("csrf_token=x&url=https%3A%2F%2Fhooks.example%2Fin&event=key.rotated")).status, 403);
    assert!(text(&b.send(&mut h, Req::new("GET", &page_path))).contains("No webhook yet"));

    // Set: the page shows it and the signing secret, once.
    let good = form_of(&page, &[("url", "https://hooks.example/in"), ("event", "key.rotated"), ("event", "token.wrong_ip")]);
    let r = b.send(&mut h, Req::new("POST", &action).form(&good));
    assert_eq!(r.status, 200);
    let html = text(&r);
    let at = html.find("id=\"webhook-secret\" class=\"id select\">").expect("the secret is shown") + 38;
    let whsec = &html[at..at + html[at..].find('<').unwrap()];
    assert!(whsec.starts_with("whsec_"), "{whsec}");
    let shown = b.send(&mut h, Req::new("GET", &page_path));
    let html = text(&shown);
    assert!(html.contains("Alerts go to <code class=\"inline\" id=\"webhook-url\">https://hooks.example/in</code>"));
    assert!(!html.contains(whsec), "the secret is shown only once");
    assert!(html.contains(r#"value="key.rotated" checked"#) && !html.contains(r#"value="key.created" checked"#));
    // The Account API sees the same webhook.
    let stored = block_on(crate::account::webhooks::get(&h.app, &id)).unwrap().unwrap();
    assert_eq!((stored.url.as_str(), stored.secret.as_str()), ("https://hooks.example/in", whsec));

    // Remove.
    let r = b.send(&mut h, Req::new("POST", &format!("{page_path}/remove-webhook")).form(&form_of(&shown, &[])));
    assert_eq!(r.status, 303);
    assert!(text(&b.send(&mut h, Req::new("GET", &page_path))).contains("No webhook yet"));
}
