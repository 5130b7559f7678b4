//! The console (`/console...`) and the home page (`/`): server-rendered pages with the
//! session of the sign-in pages. Not signed in: `303` to the sign-in page, which comes back
//! here. Every form posts with the CSRF token (checked before anything else: `403`), and a
//! replayed form changes nothing: a new-project form carries a nonce the project's id is
//! derived from (`409` the second time), a rotate form the secret generation it was made for
//! (`409` once rotated), a delete form names a project that is gone (`404`); edits and
//! disable/enable set values, so a replay sets them again.

use super::{api_ids, grace, project_name, projects, webhooks, NewProject, ProjectPatch};
use crate::alerts::EventType;
use crate::app::{App, Cx};
use crate::auth::session;
use crate::catalogue::{self, Api};
use crate::client::Client;
use crate::endpoints::authorize::with_cookie;
use crate::endpoints::login::signed_in;
use crate::endpoints::{page_form, Outcome};
use crate::error::OAuthError;
use crate::form::{encode_component, Params};
use crate::http::{HttpRequest, HttpResponse};
use crate::pages::chart::Range;
use crate::pages::console::{self as page, when, ApiChoice, NewSecret, ProjectRow, ProjectShown, UsageShown, WebhookShown};
use crate::pages::{Csrf, Person};
use crate::secret::{random_string, Random};
use crate::shard::users::sessions::SessionUser;
use crate::shard::webhooks::Webhook;
use crate::store::Platform;
use crate::usage;

pub const PATH: &str = "/console";

/// `GET /`: the home page.
pub async fn home<P: Platform>(app: &App<P>, req: &HttpRequest) -> Outcome {
    if !matches!(req.method.as_str(), "GET" | "HEAD") {
        return Err(OAuthError::MethodNotAllowed("GET"));
    }
    let who = signed_in(app, req).await?;
    Ok(page::home(who.as_ref().map(person), app.config.signup))
}

fn person(w: &SessionUser) -> Person<'_> {
    Person { username: &w.username, name: &w.name }
}

/// To the sign-in page, then back to `to`.
fn to_sign_in(to: &str) -> HttpResponse {
    HttpResponse::new(303).with_header("location", format!("/login?return_to={}", encode_component(to))).no_store()
}

fn see_other(to: &str) -> Outcome {
    Ok(HttpResponse::new(303).with_header("location", to).no_store())
}

pub async fn handle<P: Platform>(app: &App<P>, req: &HttpRequest, cx: &mut Cx<'_>) -> Outcome {
    let segments: Vec<String> = req.path[PATH.len()..].split('/').filter(|s| !s.is_empty()).map(str::to_string).collect();
    let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
    let post = req.method == "POST";
    if !post && !matches!(req.method.as_str(), "GET" | "HEAD") {
        return Err(OAuthError::MethodNotAllowed("GET, POST"));
    }
    // Which page, before anything is read: an unknown path is 404 for everyone.
    let known = matches!(
        (post, segments.as_slice()),
        (false, [] | ["projects", _]) | (_, ["projects"]) | (true, ["projects", _, "edit" | "rotate" | "disable" | "delete" | "webhook" | "remove-webhook"])
    );
    let new_form = matches!((post, segments.as_slice()), (false, ["projects", "new"]));
    if !known && !new_form {
        return Err(OAuthError::NotFound);
    }
    // A form's CSRF token first: a forged post is refused before anything else is looked at.
    let form = if post { Some(page_form(req)?) } else { None };
    let Some(who) = signed_in(app, req).await? else {
        let back = if post { PATH.to_string() } else { req.path.clone() };
        return Ok(to_sign_in(&back));
    };
    let (csrf, set_cookie) = session::csrf(req, cx.rng);
    let query = Params::parse(req.query.as_bytes()).unwrap_or_default();
    let range = Range::parse(query.single("range").ok().flatten());
    let ctx = Page { app, who: &who, csrf: &csrf, token_url: format!("{}/token", app.issuer(req)), range, now_ms: cx.now_ms };
    let resp = match (form, segments.as_slice()) {
        (None, []) => ctx.list().await,
        (None, ["projects"]) => see_other(PATH),
        (None, ["projects", "new"]) => ctx.new_form(200, "", &[], true, None, cx.rng).await,
        (None, ["projects", id]) => ctx.project(200, &projects::load(app, &who.user_id, id, cx.now_ms).await?, None, None).await,
        (Some(f), ["projects"]) => ctx.create(&f, cx).await,
        (Some(f), ["projects", id, action]) => ctx.act(id, action, &f, cx).await,
        _ => Err(OAuthError::NotFound),
    }?;
    Ok(with_cookie(resp, set_cookie))
}

/// What every console page needs.
struct Page<'a, P: Platform> {
    app: &'a App<P>,
    who: &'a SessionUser,
    csrf: &'a str,
    token_url: String,
    /// The usage chart's window (`?range=`).
    range: Range,
    now_ms: u64,
}

/// The checked `api` values of a form, and whether `api_key` was checked.
fn picked(f: &Params) -> (Vec<String>, bool) {
    (f.all("api").iter().map(|s| s.to_string()).collect(), f.contains("api_key"))
}

fn choices(catalogue: &[Api], checked: &[String]) -> Vec<ApiChoice> {
    catalogue
        .iter()
        .map(|a| ApiChoice {
            id: a.api_id.clone(),
            name: a.name.clone(),
            description: a.description.clone(),
            scopes: a.scopes.join(" "),
            checked: checked.contains(&a.api_id),
        })
        .collect()
}

fn names(c: &Client, catalogue: &[Api]) -> Vec<String> {
    c.apis.iter().map(|id| catalogue.iter().find(|a| a.api_id == *id).map_or_else(|| id.clone(), |a| a.name.clone())).collect()
}

fn shown(c: &Client, catalogue: &[Api], last_used: Option<u64>, usage: UsageShown) -> ProjectShown {
    ProjectShown {
        id: c.client_id.clone(),
        name: c.settings.name.clone(),
        apis: names(c, catalogue),
        scope: c.settings.scopes.join(" "),
        api_key: c.settings.api_key,
        disabled: c.settings.disabled,
        created: when(c.created_at / 1000),
        rotated: c.rotated_at.map_or_else(|| "Never".to_string(), |t| when(t / 1000)),
        last_used: last_used.map_or_else(|| "Never".to_string(), when),
        generation: c.generation(),
        usage,
        webhook: WebhookShown::default(),
    }
}

/// The webhook as its form shows it: `w`'s URL and events (every event before there is one).
fn webhook_shown(w: Option<&Webhook>, secret: Option<String>) -> WebhookShown {
    WebhookShown {
        url: w.map(|w| w.url.clone()),
        active: w.is_some_and(|w| !w.off),
        events: EventType::ALL.iter().map(|t| (t.name(), w.is_none_or(|w| w.events.contains(t)))).collect(),
        secret,
        typed: w.map(|w| w.url.clone()).unwrap_or_default(),
    }
}

/// The words of an error for the person (a field error's description).
fn words(e: &OAuthError) -> String {
    match e {
        OAuthError::InvalidField { field, .. } if field == "apis" => "Pick at least one API (at most 10).".into(),
        OAuthError::InvalidField { field, .. } if field == "name" => "The project name must be 1 to 100 characters.".into(),
        OAuthError::InvalidField { field, .. } if field == "events" => "Pick at least one event for the webhook.".into(),
        other => {
            let d = other.description();
            let mut c = d.chars();
            c.next().map(|f| f.to_uppercase().collect::<String>() + c.as_str() + ".").unwrap_or_default()
        }
    }
}

/// Errors the person can fix on the form: shown on it. Others are error pages.
fn on_form(e: &OAuthError) -> bool {
    matches!(e, OAuthError::InvalidField { .. } | OAuthError::Refused { .. })
}

impl<P: Platform> Page<'_, P> {
    fn person(&self) -> Person<'_> {
        person(self.who)
    }

    async fn catalogue(&self) -> Result<Vec<Api>, OAuthError> {
        Ok(catalogue::list(&self.app.kv).await?)
    }

    async fn list(&self) -> Outcome {
        let cat = self.catalogue().await?;
        let mut rows: Vec<ProjectRow> = Vec::new();
        for c in projects::list(self.app, &self.who.user_id).await? {
            let last = usage::last_used(self.app, &c.client_id).await?;
            rows.push(ProjectRow {
                id: c.client_id.clone(),
                name: c.settings.name.clone(),
                apis: names(&c, &cat).join(", "),
                created: when(c.created_at / 1000),
                last_used: last.map_or_else(|| "Never".to_string(), when),
                disabled: c.settings.disabled,
            });
        }
        Ok(page::project_list(self.person(), &rows, self.app.config.max_projects))
    }

    async fn new_form(&self, status: u16, name: &str, checked: &[String], api_key: bool, problem: Option<&str>, rng: &mut dyn Random) -> Outcome {
        let nonce = random_string(rng, 16);
        let cat = self.catalogue().await?;
        Ok(page::new_project(status, Csrf(self.csrf), self.person(), &nonce, name, &choices(&cat, checked), api_key, problem))
    }

    async fn project(&self, status: u16, c: &Client, secret: Option<&NewSecret>, problem: Option<&str>) -> Outcome {
        self.project_with(status, c, secret, problem, None).await
    }

    /// The project's page; `hook`: the webhook form's state after a post (the secret just
    /// made, or the URL just refused), instead of the stored webhook's.
    async fn project_with(&self, status: u16, c: &Client, secret: Option<&NewSecret>, problem: Option<&str>, hook: Option<WebhookShown>) -> Outcome {
        let cat = self.catalogue().await?;
        let now_s = self.now_ms / 1000;
        let (hours, _) = usage::hours(self.app, &c.client_id, self.range.first_hour(now_s)).await?;
        let hours: Vec<(u64, u64, u64)> = hours.iter().map(|(h, n)| (*h, n.accepted(), n.rejected())).collect();
        let chart = UsageShown::new(&hours, self.range, now_s);
        let mut p = shown(c, &cat, usage::last_used(self.app, &c.client_id).await?, chart);
        p.webhook = match hook {
            Some(h) => h,
            None => webhook_shown(webhooks::get(self.app, &c.client_id).await?.as_ref(), None),
        };
        Ok(page::project(status, Csrf(self.csrf), self.person(), &p, &choices(&cat, &c.apis), secret, problem, &self.token_url))
    }

    async fn create(&self, f: &Params, cx: &mut Cx<'_>) -> Outcome {
        let name = f.single("name").ok().flatten().unwrap_or("");
        let (ids, api_key) = picked(f);
        let nonce = f.single("nonce").ok().flatten().filter(|n| !n.is_empty() && n.len() <= 64);
        let made = async {
            let new = NewProject { name: project_name(name)?, apis: api_ids(&ids)?, api_key };
            let nonce = nonce.ok_or_else(|| OAuthError::invalid_request("the form has no nonce; reload it"))?;
            projects::create(self.app, &self.who.user_id, &new, Some(nonce), cx.now_ms, cx.rng).await
        }
        .await;
        match made {
            Ok((client, secret)) => {
                let s = NewSecret { title: "Your project is ready".into(), value: secret.expose().to_string(), old_until: None };
                self.project(201, &client, Some(&s), None).await
            }
            Err(e) if on_form(&e) => self.new_form(e.status(), name, &ids, api_key, Some(&words(&e)), cx.rng).await,
            Err(OAuthError::Conflict { .. }) => {
                Ok(crate::pages::error(409, "This form was already sent", "The project was created the first time. Find it in your projects."))
            }
            Err(e) => Err(e),
        }
    }

    async fn act(&self, id: &str, action: &str, f: &Params, cx: &mut Cx<'_>) -> Outcome {
        let user = &self.who.user_id;
        let client = projects::load(self.app, user, id, cx.now_ms).await?;
        let back = format!("{PATH}/projects/{id}");
        let result = match action {
            "edit" => {
                let (ids, api_key) = picked(f);
                let patch = async {
                    let name = project_name(f.single("name").ok().flatten().unwrap_or(""))?;
                    Ok::<_, OAuthError>(ProjectPatch { name: Some(name), apis: Some(api_ids(&ids)?), api_key: Some(api_key), disabled: None })
                }
                .await;
                match patch {
                    Ok(p) => projects::patch(self.app, user, id, &p, cx.now_ms, cx.rng).await.map(|_| None),
                    Err(e) => Err(e),
                }
            }
            "disable" => {
                let disabled = f.single("disabled").ok().flatten() == Some("true");
                let p = ProjectPatch { disabled: Some(disabled), ..ProjectPatch::default() };
                projects::patch(self.app, user, id, &p, cx.now_ms, cx.rng).await.map(|_| None)
            }
            "rotate" => {
                let generation = f.single("generation").ok().flatten().and_then(|g| g.parse::<u32>().ok());
                if generation != Some(client.generation()) {
                    return Ok(crate::pages::error(
                        409,
                        "This form was already sent",
                        "The secret was rotated already. Reload the project's page to rotate it again.",
                    ));
                }
                let g = f.single("grace").ok().flatten().and_then(|g| g.parse::<u64>().ok()).unwrap_or(u64::MAX);
                match grace(g) {
                    Ok(g) => projects::rotate(self.app, user, id, g, cx.now_ms, cx.rng).await.map(Some),
                    Err(e) => Err(e),
                }
            }
            "webhook" => {
                let url = f.single("url").ok().flatten().unwrap_or("").trim();
                let set = match webhooks::events_named(f.all("event").iter().copied()) {
                    Ok(events) => webhooks::set(self.app, id, url, events, cx.now_ms, cx.rng).await,
                    Err(e) => Err(e),
                };
                return match set {
                    Ok(w) => self.project_with(200, &client, None, None, Some(webhook_shown(Some(&w), Some(w.secret.clone())))).await,
                    Err(e) if on_form(&e) => {
                        let checked: Vec<&str> = f.all("event").to_vec();
                        let typed = WebhookShown {
                            url: None,
                            active: false,
                            events: EventType::ALL.iter().map(|t| (t.name(), checked.contains(&t.name()))).collect(),
                            secret: None,
                            typed: url.to_string(),
                        };
                        let stored = webhook_shown(webhooks::get(self.app, id).await?.as_ref(), None);
                        let hook = WebhookShown { url: stored.url, active: stored.active, ..typed };
                        self.project_with(e.status(), &client, None, Some(&words(&e)), Some(hook)).await
                    }
                    Err(e) => Err(e),
                };
            }
            "remove-webhook" => {
                webhooks::delete(self.app, id).await?;
                return see_other(&format!("{back}#webhook"));
            }
            "delete" => {
                if f.single("confirm").ok().flatten().map(str::trim) != Some(client.settings.name.as_str()) {
                    let problem = "To delete the project, type its name exactly as shown.";
                    return self.project(400, &client, None, Some(problem)).await;
                }
                projects::delete(self.app, user, id, cx.now_ms, cx.rng).await?;
                return see_other(PATH);
            }
            _ => return Err(OAuthError::NotFound),
        };
        match result {
            Ok(None) => see_other(&back),
            Ok(Some((secret, old_until))) => {
                let client = projects::load(self.app, user, id, cx.now_ms).await?;
                let s = NewSecret { title: "New secret".into(), value: secret.expose().to_string(), old_until: old_until.map(|t| when(t / 1000)) };
                self.project(200, &client, Some(&s), None).await
            }
            Err(e) if on_form(&e) => self.project(e.status(), &client, None, Some(&words(&e))).await,
            Err(e) => Err(e),
        }
    }
}
