//! The console's pages, the home page and the sign-up page: pure functions from what a page
//! shows to a response (the headers of every page; see the module above). Values come in as
//! plain strings already worded for people; every one is HTML-escaped by the templates.

use super::{respond, Csrf, Person};
use askama::Template;

/// One row of the project list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectRow {
    pub id: String,
    pub name: String,
    /// The APIs' names, joined.
    pub apis: String,
    pub created: String,
    pub last_used: String,
    pub disabled: bool,
}

/// An API of the catalogue as a checkbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiChoice {
    pub id: String,
    pub name: String,
    pub description: String,
    /// Its scopes, space-separated.
    pub scopes: String,
    pub checked: bool,
}

/// A project as its page shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectShown {
    pub id: String,
    pub name: String,
    /// The APIs' names.
    pub apis: Vec<String>,
    pub scope: String,
    pub api_key: bool,
    pub disabled: bool,
    pub created: String,
    pub rotated: String,
    pub last_used: String,
    /// The secret's generation: a rotate form carries it, so a replayed form changes nothing.
    pub generation: u32,
    pub usage: UsageShown,
    pub webhook: WebhookShown,
}

/// The project's alerts webhook on its page, and the form that sets it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct WebhookShown {
    /// `None`: no webhook yet.
    pub url: Option<String>,
    /// `false` once the receiver answered `410 Gone`.
    pub active: bool,
    /// Every event type, and whether the webhook takes it (all of them before there is one).
    pub events: Vec<(&'static str, bool)>,
    /// The signing secret, right after the webhook was set (shown only then).
    pub secret: Option<String>,
    /// The URL the form shows (the one just refused, after a mistake).
    pub typed: String,
}

/// The usage chart of a project's page ([`super::chart`]).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UsageShown {
    /// The SVG (our own markup: numbers and dates only).
    pub svg: String,
    pub summary: String,
    pub generated: String,
    /// The ranges as links: `?range=` value, label, whether it is the one shown.
    pub ranges: Vec<(&'static str, &'static str, bool)>,
}

impl UsageShown {
    /// The chart of `hours` (`(hour, accepted, rejected)`) over `range`, at `now_s`.
    pub fn new(hours: &[(u64, u64, u64)], range: super::chart::Range, now_s: u64) -> Self {
        use super::chart::{bars, summary, svg, Range};
        let b = bars(hours, range, now_s);
        UsageShown {
            svg: svg(&b, range),
            summary: summary(&b, range),
            generated: when(now_s),
            ranges: Range::ALL.iter().map(|r| (r.query(), r.label(), *r == range)).collect(),
        }
    }
}

/// A secret to show once, right after creation or rotation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSecret {
    pub title: String,
    pub value: String,
    /// When the previous secret stops working (a rotation with grace), in words.
    pub old_until: Option<String>,
}

#[derive(Template)]
#[template(path = "home.html", whitespace = "minimize")]
struct HomePage<'a> {
    title: &'a str,
    person: Option<Person<'a>>,
    signup: bool,
}

#[derive(Template)]
#[template(path = "signup.html", whitespace = "minimize")]
struct SignupPage<'a> {
    csrf: &'a str,
    username: &'a str,
    name: &'a str,
    problem: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "console_list.html", whitespace = "minimize")]
struct ListPage<'a> {
    person: Person<'a>,
    projects: &'a [ProjectRow],
    max: u32,
}

#[derive(Template)]
#[template(path = "console_new.html", whitespace = "minimize")]
struct NewPage<'a> {
    csrf: &'a str,
    person: Person<'a>,
    nonce: &'a str,
    name: &'a str,
    apis: &'a [ApiChoice],
    api_key: bool,
    problem: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "console_project.html", whitespace = "minimize")]
struct ProjectPage<'a> {
    csrf: &'a str,
    person: Person<'a>,
    p: &'a ProjectShown,
    apis: &'a [ApiChoice],
    api_key: bool,
    secret: Option<&'a NewSecret>,
    problem: Option<&'a str>,
    /// How to get a token with the key, as a shell command.
    curl: String,
}

/// `GET /` (200): what this server is, with links to sign in, sign up (when open) and the
/// console.
pub fn home(person: Option<Person>, signup: bool) -> crate::http::HttpResponse {
    respond(200, &HomePage { title: "API keys and access", person, signup })
}

/// `GET /signup` (200), or the form again after a refused `POST` (`status` 400 or 409, with
/// the problem in words). Inputs `username`, `name`, `password`, hidden `csrf_token`.
pub fn signup(status: u16, csrf: Csrf, username: &str, name: &str, problem: Option<&str>) -> crate::http::HttpResponse {
    respond(status, &SignupPage { csrf: csrf.0, username, name, problem })
}

/// `GET /console` (200): the person's projects, and a link to the new-project form.
pub fn project_list(person: Person, projects: &[ProjectRow], max: u32) -> crate::http::HttpResponse {
    respond(200, &ListPage { person, projects, max })
}

/// The new-project form (200, or `status` with the problem after a refused `POST`): posts to
/// `/console/projects` with `name`, the checked `api`s, `api_key`, hidden `nonce` and
/// `csrf_token`.
#[allow(clippy::too_many_arguments)]
pub fn new_project(
    status: u16,
    csrf: Csrf,
    person: Person,
    nonce: &str,
    name: &str,
    apis: &[ApiChoice],
    api_key: bool,
    problem: Option<&str>,
) -> crate::http::HttpResponse {
    respond(status, &NewPage { csrf: csrf.0, person, nonce, name, apis, api_key, problem })
}

/// A project's page: its Key ID, APIs and settings, the secret when just made, and the forms
/// to edit, rotate, disable or enable, and delete it.
#[allow(clippy::too_many_arguments)]
pub fn project(
    status: u16,
    csrf: Csrf,
    person: Person,
    p: &ProjectShown,
    apis: &[ApiChoice],
    secret: Option<&NewSecret>,
    problem: Option<&str>,
    token_url: &str,
) -> crate::http::HttpResponse {
    let curl = format!("curl -u '{}:<secret>' \\\n  -d grant_type=client_credentials \\\n  {token_url}", p.id);
    let mut r = respond(status, &ProjectPage { csrf: csrf.0, person, p, apis, api_key: p.api_key, secret, problem, curl });
    // The copy button's one script, allowed by its hash (the page works without it).
    for (name, value) in r.headers.iter_mut() {
        if *name == "content-security-policy" {
            value.push_str(&format!("; script-src '{}'", super::templates::COPY_SCRIPT_HASH));
        }
    }
    r
}

/// Unix seconds as people read them: `2026-12-07 09:30 UTC`.
pub use super::chart::when;

/// `429` page: too many sign-ups from this address; `Retry-After: retry_after` seconds.
pub fn too_many_signups(retry_after: u64) -> crate::http::HttpResponse {
    let detail = format!("Too many accounts were created from your network recently. Please try again in {}.", super::wait_in_words(retry_after));
    let mut r = super::message(429, "Please wait a while", &detail, None, None);
    r.headers.push(("retry-after", retry_after.max(1).to_string()));
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_copy_script_is_the_one_the_csp_allows() {
        use base64::Engine;
        use sha2::Digest;
        let digest = sha2::Sha256::digest(super::super::templates::COPY_SCRIPT.as_bytes());
        let want = format!("sha256-{}", base64::engine::general_purpose::STANDARD.encode(digest));
        assert_eq!(super::super::templates::COPY_SCRIPT_HASH, want, "templates/copy.js changed: put its hash in COPY_SCRIPT_HASH");
    }

    #[test]
    fn dates() {
        for (s, want) in [
            (0, "1970-01-01 00:00 UTC"),
            (951_782_400, "2000-02-29 00:00 UTC"),
            (1_796_635_800, "2026-12-07 09:30 UTC"),
            (4_107_542_399, "2100-02-28 23:59 UTC"),
            (4_107_542_400, "2100-03-01 00:00 UTC"),
        ] {
            assert_eq!(when(s), want, "{s}");
        }
    }

    #[test]
    fn pages_escape_and_carry_the_page_headers() {
        let person = Person { username: "<u>", name: "" };
        let rows = [ProjectRow { id: "id1".into(), name: "<b>x".into(), apis: "A & B".into(), created: "c".into(), last_used: "l".into(), disabled: true }];
        let r = project_list(person, &rows, 20);
        let html = String::from_utf8(r.body.clone()).unwrap();
        assert!(html.contains("&#60;b&#62;x") && html.contains("A &#38; B") && html.contains("Disabled") && !html.contains("<u>"));
        assert_eq!(r.header("content-security-policy").map(|c| c.contains("frame-ancestors 'none'")), Some(true));
        let p = ProjectShown {
            id: "id1".into(),
            name: "\"quoted\"".into(),
            apis: vec![],
            scope: String::new(),
            api_key: true,
            disabled: false,
            created: String::new(),
            rotated: String::new(),
            last_used: String::new(),
            generation: 3,
            usage: UsageShown::new(&[(491_000, 5, 2)], super::super::chart::Range::Week, 491_000 * 3600),
            webhook: WebhookShown {
                url: Some("https://h.example/?a=1&b=<2>".into()),
                active: false,
                events: vec![("key.created", true), ("key.rotated", false)],
                secret: None,
                typed: "https://h.example/?a=1&b=<2>".into(),
            },
        };
        let s = NewSecret { title: "t".into(), value: "s3cr3t".into(), old_until: Some("later".into()) };
        let r = project(200, Csrf("tok"), person, &p, &[], Some(&s), None, "https://a/token");
        let html = String::from_utf8(r.body).unwrap();
        assert!(html.contains("s3cr3t") && html.contains("until later") && html.contains(r#"name="generation" value="3""#));
        assert!(html.contains("value=\"&#34;quoted&#34;\""), "attribute values are escaped");
        assert!(html.contains("https://h.example/?a=1&#38;b=&#60;2&#62;") && !html.contains("<2>"), "the webhook URL is escaped");
        assert!(html.contains(r#"value="key.created" checked"#) && html.contains(r#"value="key.rotated">"#) && html.contains("410 Gone"));
        assert!(html.contains("<svg class=\"chart\"") && html.contains("5 accepted, 2 rejected</title>"), "the chart, not escaped");
        assert!(html.contains(r##"<a href="?range=7d#usage" aria-current="page">7 days</a>"##), "the range shown is marked");
        assert!(html.contains("The last 7 days: 5 accepted, 2 rejected.") && html.contains("Generated at"));
        let r = project(200, Csrf("tok"), person, &p, &[], None, None, "https://a/token");
        assert!(!String::from_utf8(r.body.clone()).unwrap().contains("id=\"secret\""), "no secret unless given");
        let csp = r.header("content-security-policy").unwrap();
        assert!(csp.ends_with(&format!("; script-src '{}'", super::super::templates::COPY_SCRIPT_HASH)), "{csp}");
        assert_eq!(too_many_signups(90).header("retry-after"), Some("90"));
        assert_eq!(too_many_signups(90).status, 429);
    }
}
