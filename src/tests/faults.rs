//! Faults in storage (issue 24): every flow, with each storage step it takes failing in turn.
//!
//! A [`Sweep`](crate::testing::Sweep) counts every step the fakes take (KV get, put, delete,
//! list; a Durable Object call; an object's storage get, list, commit, alarm read and alarm
//! write). For each flow, a clean run records its steps; then, for each step `n`, a fresh run
//! fails step `n` before it takes effect, and for a write also after it took effect (the write
//! landed, the answer was lost: for an object call, the object committed and the caller sees an
//! error). After every answer the sweep checks that it is RFC-shaped (a 5xx only as
//! `temporarily_unavailable` or `server_error`, never a panic), that the flow's invariants
//! hold (what was handed out still works, what was revoked stays refused, a refresh family has
//! one usable refresh token, nothing is half-made), and that repeating the failed request (or,
//! where the contract makes a lost answer final, starting that part again) completes the flow.
//!
//! `cargo test --lib faults -- --nocapture` prints the steps swept per flow.

use super::browser::*;
use super::*;
use crate::secret::SecretHash;
use crate::shard::families::Family;
use crate::testing::{Step, Sweep, When};
use std::collections::BTreeMap;
use std::rc::Rc;

/// A flow under the sweep: its setup (never faulted) and its requests, in order.
trait Flow: Sized {
    const NAME: &'static str;
    /// How many requests the flow makes.
    const STEPS: usize;
    /// The KV prefixes under which the flow may add records; every record there before
    /// (clients, people, APIs, issuers) must be exactly as it was, whatever failed.
    const KV_WRITES: &'static [&'static str] = &[];
    /// Whether the sweep also restarts every object right after the failure (memory gone,
    /// storage kept), as the runtime may reset an object whose storage failed.
    const RESTART: bool = true;
    fn setup(h: &mut Harness) -> Self;
    /// Make request `i`.
    fn request(&mut self, h: &mut Harness, i: usize) -> HttpResponse;
    /// Whether `r` is request `i`'s expected answer; keep what it handed out.
    fn accept(&mut self, h: &mut Harness, i: usize, r: &HttpResponse) -> bool;
    /// After request `i` failed and was repeated with the answer `r`: recover when the
    /// contract makes the lost answer final (a single-use code consumed); false if `r` is not
    /// acceptable. By default the repeat must simply succeed.
    fn recover(&mut self, h: &mut Harness, i: usize, r: &HttpResponse) -> bool {
        self.accept(h, i, r)
    }
    /// What must hold after any answer; `done` requests have succeeded so far.
    fn invariants(&mut self, h: &mut Harness, done: usize);
    /// What must hold once every request succeeded.
    fn complete(&mut self, h: &mut Harness);
}

fn sweep_of(h: &Harness) -> Rc<Sweep> {
    h.app.objects.sweep.clone()
}

/// A response's body for a message: a page's main text without its markup.
fn body(r: &HttpResponse) -> String {
    let text = String::from_utf8_lossy(&r.body).into_owned();
    let Some(main) = text.find("<main") else { return text };
    let mut out = String::new();
    let mut in_tag = false;
    for c in text[main..].chars() {
        match c {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                out.push(' ');
            }
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Whether the failure was an object's answer lost after its commit landed: the one failure
/// that may leave a single-use thing used (any other failure writes nothing).
fn lost_answer(h: &Harness) -> bool {
    let sweep = sweep_of(h);
    sweep.fired_after() && matches!(sweep.fired(), Some((_, Step::Call | Step::Commit)))
}

/// An answer a client can act on: a 5xx only as 500 `server_error` or 503
/// `temporarily_unavailable` (a page's 5xx is HTML, with the same status).
fn shaped(what: &str, r: &HttpResponse) {
    if r.status < 500 {
        return;
    }
    assert!(matches!(r.status, 500 | 503), "{what}: status {}: {}", r.status, body(r));
    if r.header("content-type").is_some_and(|c| c.starts_with("application/json")) {
        let e = err(r);
        assert!(
            (r.status, e.as_str()) == (503, "temporarily_unavailable") || (r.status, e.as_str()) == (500, "server_error"),
            "{what}: {} {}",
            r.status,
            body(r)
        );
    }
}

/// What one sweep of a flow covered.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Covered {
    /// Steps of a clean run.
    steps: usize,
    /// Faulted runs: every step failed before, every write also after.
    runs: usize,
    /// Of those, runs where the failure reached the client (the request was repeated).
    repeated: usize,
    /// Runs where the request succeeded all the same (a best-effort write: an alert, or the
    /// fault hit a side request whose answer the flow does not need).
    absorbed: usize,
}

/// How a faulted run went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// The failure reached the client, which repeated the request.
    Repeated,
    /// The request succeeded all the same.
    Absorbed,
    /// No fault (a clean run).
    Clean,
}

/// Run the flow's requests in a fresh harness, with step `fault` failing (none: a clean run).
/// Returns how it went, the steps, and the step that failed.
/// With `restart`, every object restarts right after the failure.
fn run<F: Flow>(fault: Option<(usize, When)>, restart: bool) -> (Outcome, Vec<Step>, Option<(usize, Step)>) {
    let mut h = Harness::new();
    let mut f = F::setup(&mut h);
    let before = h.app.kv.map.borrow().clone();
    let sweep = sweep_of(&h);
    match fault {
        Some((n, when)) => sweep.arm(n, when),
        None => sweep.record(),
    }
    let at = |i: usize| format!("{} request {i}, fault {fault:?}, restart {restart}", F::NAME);
    // Shown with a failure: the run it happened in.
    println!("run: {} fault {fault:?}, restart {restart}", F::NAME);
    let mut outcome = Outcome::Clean;
    for i in 0..F::STEPS {
        let fired_before = sweep.fired().is_some();
        let r = f.request(&mut h, i);
        let fired = !fired_before && sweep.fired().is_some();
        if fired && restart {
            h.app.objects.evict_all();
        }
        shaped(&at(i), &r);
        if f.accept(&mut h, i, &r) {
            if fired {
                println!("absorbed: {} request {i}: {:?}", F::NAME, sweep.fired());
                outcome = Outcome::Absorbed;
                f.invariants(&mut h, i + 1);
            }
            continue;
        }
        assert!(fired, "{}: failed without a fault: {} {}", at(i), r.status, body(&r));
        assert!(r.status >= 500, "{}: a storage failure answered as the client's fault: {} {}", at(i), r.status, body(&r));
        println!("failed: {} {} {}", F::NAME, r.status, if r.header("content-type").is_some_and(|c| c.contains("json")) { err(&r) } else { "page".into() });
        f.invariants(&mut h, i);
        outcome = Outcome::Repeated;
        let again = f.request(&mut h, i);
        shaped(&format!("{} (repeated)", at(i)), &again);
        assert!(f.recover(&mut h, i, &again), "{}: the repeat failed: {} {}", at(i), again.status, body(&again));
        f.invariants(&mut h, i + 1);
    }
    sweep.disarm();
    let trace = sweep.trace();
    match fault {
        None => println!("run: {} clean: steps {trace:?}", F::NAME),
        Some(_) => println!("run: {} fault {fault:?}: fired at {:?}", F::NAME, sweep.fired()),
    }
    f.invariants(&mut h, F::STEPS);
    for (k, v) in h.app.kv.map.borrow().iter() {
        match before.get(k) {
            Some(was) => assert_eq!(v, was, "{}: a stored record changed", F::NAME),
            None => assert!(F::KV_WRITES.iter().any(|p| k.starts_with(p)), "{}: a record added to KV: {k}", F::NAME),
        }
    }
    assert!(before.keys().all(|k| h.app.kv.map.borrow().contains_key(k)), "{}: a stored record was lost", F::NAME);
    f.complete(&mut h);
    (outcome, trace, sweep.fired())
}

/// Sweep the flow: each step of a clean run failed before, and each write after, in turn;
/// each with and without a restart of every object right after the failure.
fn sweep<F: Flow>() -> Covered {
    let (_, trace, _) = run::<F>(None, false);
    let mut c = Covered { steps: trace.len(), ..Covered::default() };
    let restarts: &[bool] = if F::RESTART { &[false, true] } else { &[false] };
    for (n, step) in trace.iter().enumerate() {
        let whens: &[When] = if step.writes() { &[When::Before, When::After] } else { &[When::Before] };
        for (when, restart) in whens.iter().flat_map(|w| restarts.iter().map(move |r| (w, *r))) {
            let (outcome, _, fired) = run::<F>(Some((n + 1, *when)), restart);
            assert_eq!(fired, Some((n + 1, *step)), "{}: the faulted run took the clean run's steps", F::NAME);
            c.runs += 1;
            c.repeated += usize::from(outcome == Outcome::Repeated);
            c.absorbed += usize::from(outcome == Outcome::Absorbed);
        }
    }
    println!("faults: {:<28} {:>3} steps {:>4} faulted runs: {:>3} repeated, {:>2} absorbed", F::NAME, c.steps, c.runs, c.repeated, c.absorbed);
    c
}

// ---------------------------------------------------------------------------------------
// Checkers.

fn valid(h: &mut Harness, token: &str) -> bool {
    let r = h.validate(token, "10.0.0.1");
    shaped("validate", &r);
    assert!(matches!(r.status, 200 | 401), "validate answered {} {}", r.status, body(&r));
    r.status == 200
}

/// Every family stored in any shard, with the shard's name.
fn families(h: &Harness) -> Vec<(String, Family)> {
    let mut out = Vec::new();
    for (name, s) in h.app.objects.shards.borrow().iter() {
        for (k, v) in s.storage().entries.borrow().iter() {
            if k.starts_with("f:") {
                out.push((name.clone(), serde_json::from_str(v).unwrap_or_else(|e| panic!("family {k}: {e}"))));
            }
        }
    }
    out
}

/// Of the refresh tokens a client was handed, how many a family would rotate: its current
/// one, or, when the answer that carried the current one was lost, the one just rotated away
/// while its retry window lasts (a retry gets that same successor). Never two in a family.
fn usable_refresh(h: &Harness, handed: &[String]) -> usize {
    use crate::shard::refresh::RETRY_WINDOW_MS;
    let hashes: Vec<SecretHash> = handed.iter().map(|t| SecretHash::of(t)).collect();
    let mut usable = 0;
    for (shard, fam) in families(h) {
        let Some(chain) = &fam.refresh else { continue };
        let current = hashes.iter().filter(|x| **x == chain.current).count();
        assert!(current <= 1, "{shard}: a family with {current} usable refresh tokens");
        let rows = h.app.objects.shard(&shard).storage().entries.borrow().contains_key(&format!("r:{}", chain.current.as_str()));
        assert!(rows, "{shard}: the family's current refresh token has no record");
        let retry = chain.previous.as_ref().is_some_and(|p| h.now < p.rotated_ms + RETRY_WINDOW_MS && hashes.contains(&p.hash));
        usable += usize::from(current == 1 || retry);
    }
    usable
}

/// The KV record of each client, as JSON.
fn kv_clients(h: &Harness) -> BTreeMap<String, String> {
    h.app.kv.map.borrow().iter().filter(|(k, _)| k.starts_with("client:")).map(|(k, v)| (k.clone(), v.clone())).collect()
}

fn form_of(page: &HttpResponse, names: &[&str]) -> String {
    let mut form = String::new();
    for name in names {
        if let Some(v) = input(page, name) {
            form.push_str(&format!("{name}={}&", crate::form::encode_component(&v)));
        }
    }
    form
}

// ---------------------------------------------------------------------------------------
// The flows.

/// `client_credentials` issuance.
struct ClientCredentials {
    client: (String, String),
    earlier: String,
    got: Vec<String>,
    kv: BTreeMap<String, String>,
}

impl Flow for ClientCredentials {
    const NAME: &'static str = "client_credentials";
    const STEPS: usize = 1;
    fn setup(h: &mut Harness) -> Self {
        let client = h.create(r#"{"name":"svc","scopes":["read"],"token_ttl":600}"#);
        let earlier = h.token(&client.0, &client.1);
        ClientCredentials { client, earlier, got: Vec::new(), kv: kv_clients(h) }
    }
    fn request(&mut self, h: &mut Harness, _: usize) -> HttpResponse {
        h.send(Req::new("POST", "/token").form("grant_type=client_credentials").basic(&self.client.0, &self.client.1))
    }
    fn accept(&mut self, _: &mut Harness, _: usize, r: &HttpResponse) -> bool {
        if r.status != 200 {
            return false;
        }
        self.got.push(r.body_json()["access_token"].as_str().unwrap().to_string());
        true
    }
    fn invariants(&mut self, h: &mut Harness, _: usize) {
        assert_eq!(kv_clients(h), self.kv, "the client's record is unchanged");
        for t in [vec![self.earlier.clone()], self.got.clone()].concat() {
            assert!(valid(h, &t), "an issued token validates");
        }
    }
    fn complete(&mut self, h: &mut Harness) {
        assert_eq!(self.got.len(), 1);
        let again = h.token(&self.client.0, &self.client.1);
        assert!(valid(h, &again));
    }
}

/// Validation with sliding expiry: uses 12 s apart, each slide written by the alarm that
/// comes within `LAG_MS` of it (the alarm's own steps are faulted too), a refused use between
/// them (it slides nothing), and the sweep.
struct Validation {
    token: String,
    client: (String, String),
    /// When each use that answered 200 was.
    used: Vec<u64>,
    /// When the latest use was tried.
    tried: u64,
    /// The requests whose time has come (a repeat is at the same time).
    advanced: usize,
}

/// Long enough that a use lost to a restart (the one in the failing request) leaves the token
/// live: 12 + 10 + 12 s from the use before it.
const TTL_MS: u64 = 60_000;

impl Validation {
    /// The token's expiry by `/introspect` (a look, not a use), if it is live.
    fn exp(&self, h: &mut Harness) -> Option<u64> {
        let r = h.send(Req::new("POST", "/introspect").form(&format!("token={}", self.token)).basic(&self.client.0, &self.client.1));
        assert_eq!(r.status, 200, "{}", body(&r));
        r.body_json()["exp"].as_u64()
    }
}

impl Flow for Validation {
    const NAME: &'static str = "validation (sliding)";
    const STEPS: usize = 3;
    fn setup(h: &mut Harness) -> Self {
        let (id, secret) = h.create(r#"{"name":"svc","scopes":["read"],"token_ttl":60,"max_lifetime":3600}"#);
        let token = h.token(&id, &secret);
        Validation { token, client: (id, secret), used: vec![h.now], tried: h.now, advanced: 0 }
    }
    fn request(&mut self, h: &mut Harness, i: usize) -> HttpResponse {
        if self.advanced == i {
            // 12 s on: the runtime has fired the alarm the last use asked for (by 10 s after
            // it). A failed alarm stays set, as the runtime retries it.
            h.advance(12_000);
            let _ = block_on(h.app.objects.try_fire_alarms());
            self.advanced += 1;
        }
        if i == 2 {
            // A refused use between: it changes nothing (invariant 5).
            let r = h.send(Req::new("GET", "/validate?scope=admin").bearer(&self.token));
            shaped("a refused use", &r);
        }
        self.tried = h.now;
        h.validate(&self.token, "10.0.0.1")
    }
    fn accept(&mut self, h: &mut Harness, _: usize, r: &HttpResponse) -> bool {
        if r.status != 200 {
            return false;
        }
        assert_eq!(r.body_json()["expires_in"], TTL_MS / 1000);
        self.used.push(h.now);
        true
    }
    fn invariants(&mut self, h: &mut Harness, _: usize) {
        // A use reaches storage with the alarm within `LAG_MS`, and then survives a restart:
        // the token lives `ttl` after it. A use within `LAG_MS` of a restart may be lost, by
        // design (`shard::memo`): here at most the last one, cut by the failure's restart;
        // a lost use can only end the token earlier, never later.
        h.advance(crate::shard::memo::LAG_MS);
        block_on(h.app.objects.fire_alarms());
        h.app.objects.evict_all();
        let exp = self.exp(h).expect("a token whose use the alarm wrote is live after a restart");
        // (A use whose answer was lost may have slid too: the latest try bounds it.)
        assert!(exp <= (self.tried + TTL_MS) / 1000, "never later than ttl after the last use");
        let [.., before, _] = self.used[..] else { return };
        assert!(exp >= (before + TTL_MS) / 1000, "at most the use the restart cut is lost: {exp}, uses {:?}", self.used);
    }
    fn complete(&mut self, h: &mut Harness) {
        let token = self.token.clone();
        // The token dies ttl after its last use, as storage has it after the alarm; the
        // alarm's sweep deletes nothing live, then the expired token.
        assert!(valid(h, &token));
        let last = h.now;
        h.advance(crate::shard::memo::LAG_MS);
        block_on(h.app.objects.fire_alarms());
        h.app.objects.evict_all();
        assert_eq!(self.exp(h), Some((last + TTL_MS) / 1000), "the last use, written by the alarm");
        h.advance(TTL_MS - crate::shard::memo::LAG_MS - 1);
        block_on(h.app.objects.fire_alarms());
        assert!(self.exp(h).is_some(), "live until ttl after its last use");
        h.advance(1);
        block_on(h.app.objects.fire_alarms());
        assert_eq!(h.app.objects.stored_tokens(), 0, "the alarm swept the expired token");
        assert!(!valid(h, &token));
    }
}

/// `/introspect` (not a use) of a live token, then of a revoked one.
struct Introspection {
    client: (String, String),
    token: String,
    dead: String,
}

impl Flow for Introspection {
    const NAME: &'static str = "introspection";
    const STEPS: usize = 2;
    fn setup(h: &mut Harness) -> Self {
        let client = h.create(r#"{"name":"svc","scopes":["read"],"token_ttl":600}"#);
        let token = h.token(&client.0, &client.1);
        let dead = h.token(&client.0, &client.1);
        let r = h.send(Req::new("POST", "/revoke").form(&format!("token={dead}")).basic(&client.0, &client.1));
        assert_eq!(r.status, 200);
        Introspection { client, token, dead }
    }
    fn request(&mut self, h: &mut Harness, i: usize) -> HttpResponse {
        let t = if i == 0 { &self.token } else { &self.dead };
        h.send(Req::new("POST", "/introspect").form(&format!("token={t}")).basic(&self.client.0, &self.client.1))
    }
    fn accept(&mut self, _: &mut Harness, i: usize, r: &HttpResponse) -> bool {
        r.status == 200 && r.body_json()["active"] == json!(i == 0)
    }
    fn invariants(&mut self, h: &mut Harness, _: usize) {
        assert!(valid(h, &self.token.clone()));
        assert!(!valid(h, &self.dead.clone()));
    }
    fn complete(&mut self, _: &mut Harness) {}
}

/// `/revoke` of an access token: refused at once once answered; the others untouched.
struct Revocation {
    client: (String, String),
    target: String,
    other: String,
    answered: bool,
}

impl Flow for Revocation {
    const NAME: &'static str = "revocation";
    const STEPS: usize = 1;
    fn setup(h: &mut Harness) -> Self {
        let client = h.create(r#"{"name":"svc","scopes":["read"],"token_ttl":600}"#);
        let target = h.token(&client.0, &client.1);
        let other = h.token(&client.0, &client.1);
        Revocation { client, target, other, answered: false }
    }
    fn request(&mut self, h: &mut Harness, _: usize) -> HttpResponse {
        h.send(Req::new("POST", "/revoke").form(&format!("token={}", self.target)).basic(&self.client.0, &self.client.1))
    }
    fn accept(&mut self, _: &mut Harness, _: usize, r: &HttpResponse) -> bool {
        self.answered = r.status == 200;
        self.answered
    }
    fn invariants(&mut self, h: &mut Harness, _: usize) {
        if self.answered {
            assert!(!valid(h, &self.target.clone()), "a revocation answered 200 is in force");
        }
        assert!(valid(h, &self.other.clone()), "another token is untouched");
    }
    fn complete(&mut self, h: &mut Harness) {
        h.app.objects.evict_all();
        assert!(!valid(h, &self.target.clone()), "and survives a restart");
    }
}

/// `/revoke` of a refresh token: its whole family (every access token, the refresh token) dies
/// in one step, or nothing does.
struct RevokeFamily {
    client: (String, String),
    access: Vec<String>,
    refresh: String,
    answered: bool,
}

impl Flow for RevokeFamily {
    const NAME: &'static str = "revocation (refresh family)";
    const STEPS: usize = 1;
    fn setup(h: &mut Harness) -> Self {
        h.user("rita", "12345678");
        let client = h.web_client(r#","token_ttl":3600"#);
        let mut b = Browser::new();
        let code = code_for(h, &mut b, &client.0, ("rita", "12345678"));
        let v = redeem_basic(h, &client, &code);
        let r = h.send(
            Req::new("POST", "/token")
                .basic(&client.0, &client.1)
                .form(&format!("grant_type=refresh_token&refresh_token={}", v["refresh_token"].as_str().unwrap())),
        );
        let w = r.body_json();
        let access = vec![v["access_token"].as_str().unwrap().to_string(), w["access_token"].as_str().unwrap().to_string()];
        RevokeFamily { client, access, refresh: w["refresh_token"].as_str().unwrap().into(), answered: false }
    }
    fn request(&mut self, h: &mut Harness, _: usize) -> HttpResponse {
        h.send(Req::new("POST", "/revoke").form(&format!("token={}&token_type_hint=refresh_token", self.refresh)).basic(&self.client.0, &self.client.1))
    }
    fn accept(&mut self, _: &mut Harness, _: usize, r: &HttpResponse) -> bool {
        self.answered = r.status == 200;
        self.answered
    }
    fn invariants(&mut self, h: &mut Harness, _: usize) {
        let dead = families(h).is_empty();
        assert!(dead || !self.answered, "a revocation answered 200 is in force");
        for t in self.access.clone() {
            assert_eq!(valid(h, &t), !dead, "the family and its access tokens die together");
        }
    }
    fn complete(&mut self, h: &mut Harness) {
        let r =
            h.send(Req::new("POST", "/token").basic(&self.client.0, &self.client.1).form(&format!("grant_type=refresh_token&refresh_token={}", self.refresh)));
        assert_eq!(err(&r), "invalid_grant");
    }
}

/// The alarm: deferred slides written, expired tokens swept, the alarm set again for what
/// is left. A failed alarm is retried by the runtime (the repeat here).
struct Alarm {
    live: String,
    expired: Vec<String>,
}

impl Flow for Alarm {
    const NAME: &'static str = "alarm (flush + sweep)";
    const STEPS: usize = 1;
    /// A restart before the alarm writes the deferred slide loses it, by design
    /// (`shard::memo`): the checks below assume the slide survives.
    const RESTART: bool = false;
    fn setup(h: &mut Harness) -> Self {
        let (id, secret) = h.create(r#"{"name":"svc","scopes":["read"],"token_ttl":5,"max_lifetime":3600}"#);
        let live = h.token(&id, &secret);
        let expired = (0..3).map(|_| h.token(&id, &secret)).collect();
        // A use 3 s in: its slide waits in memory (less than LAG_MS); the others expire at 5 s.
        h.advance(3_000);
        assert!(valid(h, &live));
        h.advance(3_000);
        Alarm { live, expired }
    }
    fn request(&mut self, h: &mut Harness, _: usize) -> HttpResponse {
        match block_on(h.app.objects.try_fire_alarms()) {
            Ok(_) => HttpResponse::new(200),
            Err(_) => HttpResponse::new(503),
        }
    }
    fn accept(&mut self, _: &mut Harness, _: usize, r: &HttpResponse) -> bool {
        r.status == 200
    }
    fn invariants(&mut self, h: &mut Harness, _: usize) {
        // (No restart here: a restart before the alarm writes the deferred slide loses it,
        // by design.)
        for t in self.expired.clone() {
            assert!(!valid(h, &t), "an expired token stays refused");
        }
    }
    fn complete(&mut self, h: &mut Harness) {
        assert_eq!(h.app.objects.stored_tokens(), 1, "the expired tokens are swept");
        // The slide made in memory reached storage (a restart keeps the token live to 8 s).
        h.app.objects.evict_all();
        h.advance(1_500);
        assert!(valid(h, &self.live.clone()), "the deferred slide was written");
        h.advance(60_000);
        block_on(h.app.objects.fire_alarms());
        assert_eq!(h.app.objects.stored_tokens(), 0, "the alarm was set again for the live token");
    }
}

/// A person's code flow: the login page, sign-in, consent, approval, and redemption with PKCE.
struct CodeFlow {
    client: (String, String),
    b: Browser,
    url: String,
    page: Option<HttpResponse>,
    code: Option<String>,
    access: Vec<String>,
    refresh: Vec<String>,
}

impl Flow for CodeFlow {
    const NAME: &'static str = "authorization code + PKCE";
    const STEPS: usize = 5;
    fn setup(h: &mut Harness) -> Self {
        h.user("rita", "12345678");
        let client = h.web_client("");
        let url = authorize_url(&client.0, "");
        CodeFlow { client, b: Browser::new(), url, page: None, code: None, access: Vec::new(), refresh: Vec::new() }
    }
    fn request(&mut self, h: &mut Harness, i: usize) -> HttpResponse {
        match i {
            // The login page, then signing in on it.
            0 | 2 => self.b.send(h, Req::new("GET", &self.url)),
            1 => {
                let page = self.page.as_ref().unwrap();
                let form = format!(
                    "username=rita&password=12345678&csrf_token={}&return_to={}",
                    input(page, "csrf_token").unwrap(),
                    crate::form::encode_component(&input(page, "return_to").unwrap())
                );
                self.b.send(h, Req::new("POST", "/login").form(&form))
            }
            3 => {
                let page = self.page.as_ref().unwrap();
                let mut form =
                    form_of(page, &["response_type", "client_id", "redirect_uri", "scope", "state", "code_challenge", "code_challenge_method", "csrf_token"]);
                form.push_str("decision=approve");
                self.b.send(h, Req::new("POST", "/authorize").form(&form))
            }
            _ => {
                let body = format!(
                    "grant_type=authorization_code&code={}&redirect_uri=https%3A%2F%2Fapp.example%2Fcb&code_verifier={VERIFIER}",
                    self.code.as_ref().unwrap()
                );
                h.send(Req::new("POST", "/token").basic(&self.client.0, &self.client.1).form(&body))
            }
        }
    }
    fn accept(&mut self, _: &mut Harness, i: usize, r: &HttpResponse) -> bool {
        match i {
            0 => {
                let ok = r.status == 200 && input(r, "password").is_none() && text(r).contains("name=\"password\"");
                self.page = Some(r.clone()).filter(|_| ok);
                ok
            }
            1 => r.status == 303,
            2 => {
                let ok = r.status == 200 && text(r).contains(r#"name="decision" value="approve""#);
                self.page = Some(r.clone()).filter(|_| ok);
                ok
            }
            3 => {
                let ok = r.status == 302 && redirect_query(r).contains_key("code");
                self.code = ok.then(|| redirect_query(r)["code"].clone());
                ok
            }
            _ => {
                if r.status != 200 {
                    return false;
                }
                let v = r.body_json();
                self.access.push(v["access_token"].as_str().unwrap().into());
                self.refresh.push(v["refresh_token"].as_str().unwrap().into());
                true
            }
        }
    }
    fn recover(&mut self, h: &mut Harness, i: usize, r: &HttpResponse) -> bool {
        if self.accept(h, i, r) {
            return true;
        }
        // RFC 6749 §4.1.2: a code is used once; a redemption whose answer was lost leaves it
        // used, and the client starts the authorization again (its session and consent stand).
        if i == 4 && err(r) == "invalid_grant" {
            println!("restarted: {} (the code was used by the lost redemption)", Self::NAME);
            assert!(lost_answer(h), "only a redemption that committed leaves the code used: {:?}", sweep_of(h).fired());
            let again = self.b.send(h, Req::new("GET", &self.url));
            let ok = again.status == 302
                || (self.accept(h, 2, &again) && {
                    let r = self.request(h, 3);
                    self.accept(h, 3, &r)
                });
            if again.status == 302 {
                self.code = Some(redirect_query(&again)["code"].clone());
            }
            let r = self.request(h, 4);
            return ok && self.accept(h, 4, &r);
        }
        false
    }
    fn invariants(&mut self, h: &mut Harness, _: usize) {
        for t in self.access.clone() {
            assert!(valid(h, &t));
        }
        assert!(usable_refresh(h, &self.refresh) <= 1);
    }
    fn complete(&mut self, h: &mut Harness) {
        assert_eq!(self.access.len(), 1);
        assert_eq!(usable_refresh(h, &self.refresh), 1, "the refresh token handed out is the family's");
        assert_eq!(families(h).len(), 1, "one authorization, one family (a lost one is dead)");
    }
}

/// Refresh rotation, a retry within the window, and reuse detection killing the family. A
/// rotation whose answer was lost is recovered by the plain repeat: a retry within the window
/// gets the successor the lost answer carried.
struct Refresh {
    client: (String, String),
    access: Vec<String>,
    refresh: Vec<String>,
    killed: bool,
}

impl Refresh {
    fn send(&self, h: &mut Harness, token: &str) -> HttpResponse {
        h.send(Req::new("POST", "/token").basic(&self.client.0, &self.client.1).form(&format!("grant_type=refresh_token&refresh_token={token}")))
    }
}

impl Flow for Refresh {
    const NAME: &'static str = "refresh rotation + reuse";
    const STEPS: usize = 4;
    fn setup(h: &mut Harness) -> Self {
        h.user("rita", "12345678");
        let client = h.web_client(r#","token_ttl":3600"#);
        let mut b = Browser::new();
        let code = code_for(h, &mut b, &client.0, ("rita", "12345678"));
        let v = redeem_basic(h, &client, &code);
        Refresh { client, access: vec![v["access_token"].as_str().unwrap().into()], refresh: vec![v["refresh_token"].as_str().unwrap().into()], killed: false }
    }
    fn request(&mut self, h: &mut Harness, i: usize) -> HttpResponse {
        match i {
            // Rotate, rotate again, then (in the window) the previous token again: the same
            // successor; then, after the window, the first token: reuse.
            0 | 1 => self.send(h, &self.refresh.last().unwrap().clone()),
            2 => {
                h.advance(1_000);
                self.send(h, &self.refresh[1].clone())
            }
            _ => {
                h.advance(31_000);
                self.send(h, &self.refresh[0].clone())
            }
        }
    }
    fn accept(&mut self, _: &mut Harness, i: usize, r: &HttpResponse) -> bool {
        if i == 3 {
            self.killed = r.status == 400 && err(r) == "invalid_grant";
            return self.killed;
        }
        if r.status != 200 {
            return false;
        }
        let v = r.body_json();
        let (a, rt) = (v["access_token"].as_str().unwrap().to_string(), v["refresh_token"].as_str().unwrap().to_string());
        if i == 2 {
            assert_eq!(&rt, self.refresh.last().unwrap(), "a retry in the window gets the same successor");
        } else {
            assert!(!self.refresh.contains(&rt));
            self.refresh.push(rt);
        }
        self.access.push(a);
        true
    }
    fn invariants(&mut self, h: &mut Harness, _: usize) {
        let usable = usable_refresh(h, &self.refresh);
        // A reuse whose answer was lost may have killed the family: then wholly.
        if self.killed || families(h).is_empty() {
            assert_eq!(usable, 0);
            assert!(families(h).is_empty(), "reuse killed the family");
            for t in self.access.clone() {
                assert!(!valid(h, &t), "reuse killed every access token of the family");
            }
        } else {
            assert_eq!(usable, 1, "the family's latest refresh token, handed out, is the usable one");
            let chain = families(h)[0].1.refresh.clone().unwrap();
            let last = SecretHash::of(self.refresh.last().unwrap());
            assert!(
                last == chain.current || chain.previous.is_some_and(|p| p.hash == last),
                "the latest refresh token handed out is the current one, or its retry gets the current one"
            );
            for t in self.access.clone() {
                assert!(valid(h, &t));
            }
        }
    }
    fn complete(&mut self, h: &mut Harness) {
        assert!(self.killed);
        let r = self.send(h, &self.refresh.last().unwrap().clone());
        assert_eq!(err(&r), "invalid_grant", "the family's current token died with it");
    }
}

const DEVICE: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// The device grant: the person signs in on `/device` and approves; the device polls.
struct DeviceFlow {
    cid: String,
    device_code: String,
    user_code: String,
    b: Browser,
    page: Option<HttpResponse>,
    access: Vec<String>,
    /// A poll's answer was lost, and the device started again.
    restarted: bool,
}

impl DeviceFlow {
    fn start(&mut self, h: &mut Harness) {
        let r = h.send(Req::new("POST", "/device_authorization").form(&format!("client_id={}&scope=read", self.cid)));
        assert_eq!(r.status, 200, "{}", text(&r));
        let d = r.body_json();
        self.device_code = d["device_code"].as_str().unwrap().into();
        self.user_code = d["user_code"].as_str().unwrap().into();
    }
}

impl Flow for DeviceFlow {
    const NAME: &'static str = "device grant";
    const STEPS: usize = 5;
    fn setup(h: &mut Harness) -> Self {
        h.user("tess", "12345678");
        let r = h.send(
            Req::new("POST", "/admin/clients")
                .bearer(ADMIN)
                .body(format!(r#"{{"name":"TV","client_type":"public","scopes":["read"],"grant_types":["{DEVICE}","refresh_token"]}}"#)),
        );
        let cid = r.body_json()["client_id"].as_str().unwrap().to_string();
        let mut f =
            DeviceFlow { cid, device_code: String::new(), user_code: String::new(), b: Browser::new(), page: None, access: Vec::new(), restarted: false };
        f.start(h);
        f
    }
    fn request(&mut self, h: &mut Harness, i: usize) -> HttpResponse {
        let url = format!("/device?user_code={}", self.user_code);
        match i {
            0 | 2 => self.b.send(h, Req::new("GET", &url)),
            1 => {
                let page = self.page.as_ref().unwrap();
                let form = format!(
                    "username=tess&password=12345678&csrf_token={}&return_to={}",
                    input(page, "csrf_token").unwrap(),
                    crate::form::encode_component(&url)
                );
                self.b.send(h, Req::new("POST", "/login").form(&form))
            }
            3 => {
                let page = self.page.as_ref().unwrap();
                let form = format!("user_code={}&csrf_token={}&decision=approve", input(page, "user_code").unwrap(), input(page, "csrf_token").unwrap());
                self.b.send(h, Req::new("POST", "/device").form(&form))
            }
            _ => {
                h.advance(5_000);
                h.send(Req::new("POST", "/token").form(&format!("client_id={}&device_code={}&grant_type={DEVICE}", self.cid, self.device_code)))
            }
        }
    }
    fn accept(&mut self, _: &mut Harness, i: usize, r: &HttpResponse) -> bool {
        match i {
            0 => {
                let ok = r.status == 200 && input(r, "return_to").is_some();
                self.page = Some(r.clone()).filter(|_| ok);
                ok
            }
            1 => r.status == 303,
            2 => {
                let ok = r.status == 200 && text(r).contains(r#"name="decision" value="approve""#);
                self.page = Some(r.clone()).filter(|_| ok);
                ok
            }
            3 => r.status == 200 && text(r).contains("Device connected"),
            _ => {
                if r.status != 200 {
                    return false;
                }
                self.access.push(r.body_json()["access_token"].as_str().unwrap().into());
                true
            }
        }
    }
    fn recover(&mut self, h: &mut Harness, i: usize, r: &HttpResponse) -> bool {
        if self.accept(h, i, r) {
            return true;
        }
        // RFC 8628 §3.5: a device code is used once; a poll whose answer was lost leaves it
        // used (`invalid_grant`), and the device starts again.
        if i == 4 && err(r) == "invalid_grant" {
            println!("restarted: {} (the device code was used by the lost poll)", Self::NAME);
            assert!(lost_answer(h), "only a poll that committed leaves the device code used: {:?}", sweep_of(h).fired());
            self.restarted = true;
            self.start(h);
            for step in 2..=4 {
                let r = self.request(h, step);
                if !self.accept(h, step, &r) {
                    return false;
                }
            }
            return true;
        }
        false
    }
    fn invariants(&mut self, h: &mut Harness, _: usize) {
        for t in self.access.clone() {
            assert!(valid(h, &t));
        }
    }
    fn complete(&mut self, h: &mut Harness) {
        assert_eq!(self.access.len(), 1);
        h.advance(10_000);
        let r = h.send(Req::new("POST", "/token").form(&format!("client_id={}&device_code={}&grant_type={DEVICE}", self.cid, self.device_code)));
        assert_eq!(err(&r), "invalid_grant", "once only");
        // A poll whose answer was lost created a family nobody holds: it stays (unlike a
        // code's, RFC 6749 §4.1.2, the contract does not kill it on a second use) until its
        // tokens and refresh token expire. Not observable: no client has its tokens.
        assert_eq!(families(h).len(), 1 + usize::from(self.restarted), "one family per redeemed approval");
    }
}

const EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
const AT: &str = "urn:ietf:params:oauth:token-type:access_token";
const JWKS: &str = "https://idp.example/jwks.json";

/// Token exchange (RFC 8693) of a trusted issuer's JWT, authenticated with the client's own
/// token (seed 004).
struct Exchange {
    own: String,
    subject: String,
    got: Vec<String>,
}

impl Flow for Exchange {
    const NAME: &'static str = "token exchange";
    const STEPS: usize = 1;
    fn setup(h: &mut Harness) -> Self {
        use crate::testing::{sign_es256, ES256_X, ES256_Y};
        let doc = json!({"keys": [{"kty": "EC", "crv": "P-256", "x": ES256_X, "y": ES256_Y, "kid": "k1", "use": "sig"}]});
        h.app.fetch.answers.borrow_mut().insert(JWKS.into(), crate::store::Fetched { status: 200, body: doc.to_string().into_bytes(), cache_control: None });
        let r = h.send(
            Req::new("POST", "/admin/issuers").bearer(ADMIN).body(format!(r#"{{"issuer":"https://idp.example","jwks_uri":"{JWKS}","audience":"edge"}}"#)),
        );
        assert_eq!(r.status, 201, "{}", text(&r));
        let (id, secret) = h.create(&format!(r#"{{"name":"svc","scopes":["read","write"],"grant_types":["client_credentials","{EXCHANGE}"]}}"#));
        let own = h.token(&id, &secret);
        let claims = json!({"iss": "https://idp.example", "sub": "ext-user-7", "exp": h.now / 1000 + 600, "aud": "edge"});
        let subject = sign_es256(&json!({"alg": "ES256", "kid": "k1", "typ": "JWT"}), &claims);
        Exchange { own, subject, got: Vec::new() }
    }
    fn request(&mut self, h: &mut Harness, _: usize) -> HttpResponse {
        let body = format!("grant_type={EXCHANGE}&actor_token_type={AT}&actor_token={}&subject_token_type={AT}&subject_token={}", self.own, self.subject);
        h.send(Req::new("POST", "/token").header("authorization", &self.own).form(&body))
    }
    fn accept(&mut self, _: &mut Harness, _: usize, r: &HttpResponse) -> bool {
        if r.status != 200 {
            return false;
        }
        self.got.push(r.body_json()["access_token"].as_str().unwrap().into());
        true
    }
    fn invariants(&mut self, h: &mut Harness, _: usize) {
        for t in [vec![self.own.clone()], self.got.clone()].concat() {
            assert!(valid(h, &t));
        }
    }
    fn complete(&mut self, h: &mut Harness) {
        let who = h.validate(&self.got[0], "10.0.0.1").body_json();
        assert_eq!(who["sub"], "ext-user-7");
    }
}

/// The people an operator sees, by username.
fn listed_users(h: &mut Harness) -> Vec<(String, String)> {
    let r = h.send(Req::new("GET", "/admin/users").bearer(ADMIN));
    assert_eq!(r.status, 200, "{}", text(&r));
    r.body_json()["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| (u["username"].as_str().unwrap().to_string(), u["user_id"].as_str().unwrap().to_string()))
        .collect()
}

/// Signing in works for this person (the login page, the form, a session).
fn signs_in(h: &mut Harness, username: &str, password: &str) -> bool {
    let mut b = Browser::new();
    let page = b.send(h, Req::new("GET", "/login"));
    assert_eq!(page.status, 200, "{}", text(&page));
    let form = format!("username={username}&password={password}&csrf_token={}&return_to=%2F", input(&page, "csrf_token").unwrap());
    let r = b.send(h, Req::new("POST", "/login").form(&form));
    r.status == 303
}

/// Making a person: the username's claim, the person's object, the KV copy.
struct UserCreate {
    made: Option<String>,
}

impl Flow for UserCreate {
    const NAME: &'static str = "user create";
    const STEPS: usize = 1;
    const KV_WRITES: &'static [&'static str] = &["user:"];
    fn setup(h: &mut Harness) -> Self {
        h.user("bob", "12345678");
        UserCreate { made: None }
    }
    fn request(&mut self, h: &mut Harness, _: usize) -> HttpResponse {
        h.send(Req::new("POST", "/admin/users").bearer(ADMIN).body(r#"{"username":"Ada","password":"correct horse","name":"Ada"}"#))
    }
    fn accept(&mut self, _: &mut Harness, _: usize, r: &HttpResponse) -> bool {
        if r.status != 201 {
            return false;
        }
        self.made = Some(r.body_json()["user_id"].as_str().unwrap().into());
        true
    }
    fn invariants(&mut self, h: &mut Harness, _: usize) {
        let users = listed_users(h);
        let adas: Vec<&(String, String)> = users.iter().filter(|(n, _)| n == "Ada").collect();
        assert!(adas.len() <= 1, "one person per name: {users:?}");
        if let Some(id) = &self.made {
            assert_eq!(adas.first().map(|(_, i)| i), Some(id), "the person made is listed");
        }
        for (_, id) in adas {
            // Whoever is listed is whole: their record and their sign-in work.
            let r = h.send(Req::new("GET", &format!("/admin/users/{id}")).bearer(ADMIN));
            assert_eq!(r.status, 200, "{}", text(&r));
            assert!(signs_in(h, "ada", "correct horse"), "a listed person can sign in");
        }
        assert!(users.iter().any(|(n, _)| n == "bob"));
    }
    fn complete(&mut self, h: &mut Harness) {
        assert!(signs_in(h, "ADA", "correct horse"));
        let r = self.request(h, 0);
        assert_eq!(r.status, 409, "the name is taken once");
    }
}

/// Signing in: the login page, the form, the session's first use.
struct SignIn {
    b: Browser,
    page: Option<HttpResponse>,
}

impl Flow for SignIn {
    const NAME: &'static str = "sign-in + session";
    const STEPS: usize = 3;
    fn setup(h: &mut Harness) -> Self {
        h.user("rita", "12345678");
        SignIn { b: Browser::new(), page: None }
    }
    fn request(&mut self, h: &mut Harness, i: usize) -> HttpResponse {
        match i {
            0 => self.b.send(h, Req::new("GET", "/login")),
            1 => {
                let page = self.page.as_ref().unwrap();
                let form = format!("username=rita&password=12345678&csrf_token={}", input(page, "csrf_token").unwrap());
                self.b.send(h, Req::new("POST", "/login").form(&form))
            }
            _ => self.b.send(h, Req::new("GET", "/login")),
        }
    }
    fn accept(&mut self, _: &mut Harness, i: usize, r: &HttpResponse) -> bool {
        match i {
            0 => {
                let ok = r.status == 200;
                self.page = Some(r.clone()).filter(|_| ok);
                ok
            }
            1 => r.status == 303,
            _ => r.status == 200 && text(r).contains("rita"),
        }
    }
    fn invariants(&mut self, _: &mut Harness, _: usize) {}
    fn complete(&mut self, h: &mut Harness) {
        // The session survives a restart.
        h.app.objects.evict_all();
        let r = self.b.send(h, Req::new("GET", "/login"));
        assert!(text(&r).contains("rita"));
    }
}

/// `/signup`: the form, the person made and signed in, the console.
struct SignUp {
    b: Browser,
    page: Option<HttpResponse>,
    /// The account was made but the session did not start: sign in first.
    sign_in: bool,
}

impl Flow for SignUp {
    const NAME: &'static str = "sign-up";
    const STEPS: usize = 3;
    const KV_WRITES: &'static [&'static str] = &["user:"];
    fn setup(h: &mut Harness) -> Self {
        h.app.config.signup = true;
        SignUp { b: Browser::new(), page: None, sign_in: false }
    }
    fn request(&mut self, h: &mut Harness, i: usize) -> HttpResponse {
        match i {
            0 => self.b.send(h, Req::new("GET", "/signup")),
            1 => {
                let page = self.page.as_ref().unwrap();
                let form = format!("csrf_token={}&username=ann&name=Ann&password=correct%20horse", input(page, "csrf_token").unwrap());
                self.b.send(h, Req::new("POST", "/signup").form(&form))
            }
            _ => {
                if self.sign_in {
                    let page = self.b.send(h, Req::new("GET", crate::account::signup::SIGN_IN_AFTER));
                    let form = format!("username=ann&password=correct%20horse&csrf_token={}&return_to=%2Fconsole", input(&page, "csrf_token").unwrap());
                    let r = self.b.send(h, Req::new("POST", "/login").form(&form));
                    assert_eq!((r.status, r.header("location")), (303, Some("/console")), "{}", body(&r));
                    self.sign_in = false;
                }
                self.b.send(h, Req::new("GET", "/console"))
            }
        }
    }
    fn accept(&mut self, _: &mut Harness, i: usize, r: &HttpResponse) -> bool {
        match i {
            0 => {
                let ok = r.status == 200;
                self.page = Some(r.clone()).filter(|_| ok);
                ok
            }
            1 => {
                // Made and signed in; or made, and sent to sign in.
                self.sign_in = r.status == 303 && r.header("location") == Some(crate::account::signup::SIGN_IN_AFTER);
                r.status == 303 && (r.header("location") == Some("/console") || self.sign_in)
            }
            _ => r.status == 200 && text(r).contains("ann"),
        }
    }
    fn invariants(&mut self, h: &mut Harness, _: usize) {
        let users = listed_users(h);
        assert!(users.len() <= 1, "{users:?}");
        if !users.is_empty() {
            assert!(signs_in(h, "ann", "correct horse"), "a listed person can sign in");
        }
    }
    fn complete(&mut self, h: &mut Harness) {
        assert_eq!(listed_users(h).len(), 1);
    }
}

/// A person's projects as the Account API lists them, each checked whole: its own page, its
/// client record, its key working.
fn projects(h: &mut Harness, token: &str) -> Vec<String> {
    let r = h.acct("GET", "/account/projects", token, "");
    assert_eq!(r.status, 200, "{}", text(&r));
    r.body_json()["projects"].as_array().unwrap().iter().map(|p| p["client_id"].as_str().unwrap().to_string()).collect()
}

/// Account API: a project created (the owner's index, the API's index, the client record).
struct ProjectCreate {
    api: String,
    token: String,
    made: Vec<(String, String)>,
}

impl Flow for ProjectCreate {
    const NAME: &'static str = "account project create";
    const STEPS: usize = 1;
    const KV_WRITES: &'static [&'static str] = &["client:"];
    fn setup(h: &mut Harness) -> Self {
        let api = h.api("Maps API", r#"["maps:read"]"#, None);
        let (_, token) = h.account("alice");
        ProjectCreate { api, token, made: Vec::new() }
    }
    fn request(&mut self, h: &mut Harness, _: usize) -> HttpResponse {
        let body = json!({"name": "Shop", "apis": [self.api]}).to_string();
        h.acct("POST", "/account/projects", &self.token.clone(), &body)
    }
    fn accept(&mut self, _: &mut Harness, _: usize, r: &HttpResponse) -> bool {
        if r.status != 201 {
            return false;
        }
        let v = r.body_json();
        self.made.push((v["client_id"].as_str().unwrap().into(), v["client_secret"].as_str().unwrap().into()));
        true
    }
    fn invariants(&mut self, h: &mut Harness, _: usize) {
        let listed = projects(h, &self.token.clone());
        for (id, _) in &self.made {
            assert!(listed.contains(id), "a project answered 201 is listed");
        }
        for id in &listed {
            let r = h.acct("GET", &format!("/account/projects/{id}"), &self.token.clone(), "");
            assert_eq!(r.status, 200, "a listed project is whole: {}", text(&r));
            assert_eq!(h.send(Req::new("GET", &format!("/admin/clients/{id}")).bearer(ADMIN)).status, 200);
        }
        for (id, secret) in self.made.clone() {
            let t = h.token(&id, &secret);
            assert!(valid(h, &t));
        }
        // Every client record with this owner is listed; none is half-made.
        let owned = kv_clients(h).values().filter(|v| v.contains("\"owner\"")).count();
        assert_eq!(owned, listed.len(), "every stored project is listed: {listed:?}");
    }
    fn complete(&mut self, h: &mut Harness) {
        // The API's index holds exactly the projects that have it: deleting them frees it.
        for id in projects(h, &self.token.clone()) {
            assert_eq!(h.acct("DELETE", &format!("/account/projects/{id}"), &self.token.clone(), "").status, 204);
        }
        let r = h.send(Req::new("DELETE", &format!("/admin/apis/{}", self.api)).bearer(ADMIN));
        assert_eq!(r.status, 204, "no project left in the API's index: {}", text(&r));
    }
}

/// Account API: a project's webhook set.
struct WebhookSet {
    token: String,
    path: String,
    set: bool,
}

impl Flow for WebhookSet {
    const NAME: &'static str = "webhook set";
    const STEPS: usize = 1;
    fn setup(h: &mut Harness) -> Self {
        let api = h.api("Maps", r#"["maps:read"]"#, None);
        let (_, token) = h.account("ada");
        let r = h.acct("POST", "/account/projects", &token, &json!({"name": "P", "apis": [api]}).to_string());
        let id = r.body_json()["client_id"].as_str().unwrap().to_string();
        WebhookSet { token, path: format!("/account/projects/{id}/webhook"), set: false }
    }
    fn request(&mut self, h: &mut Harness, _: usize) -> HttpResponse {
        h.acct("PUT", &self.path.clone(), &self.token.clone(), &json!({"url": "https://hooks.example/in", "events": ["key.rotated"]}).to_string())
    }
    fn accept(&mut self, _: &mut Harness, _: usize, r: &HttpResponse) -> bool {
        self.set = matches!(r.status, 200 | 201) && r.body_json()["secret"].as_str().is_some_and(|s| s.starts_with("whsec_"));
        self.set
    }
    fn invariants(&mut self, h: &mut Harness, _: usize) {
        let r = h.acct("GET", &self.path.clone(), &self.token.clone(), "");
        assert!(matches!(r.status, 200 | 404), "{}", text(&r));
        if self.set {
            assert_eq!(r.status, 200);
        }
        if r.status == 200 {
            assert_eq!(r.body_json()["url"], "https://hooks.example/in");
        }
    }
    fn complete(&mut self, _: &mut Harness) {}
}

macro_rules! sweeps {
    ($($name:ident: $flow:ty,)*) => {$(
        #[test]
        fn $name() {
            let c = sweep::<$flow>();
            assert!(c.steps > 0 && c.runs >= c.steps);
            assert_eq!(c.repeated + c.absorbed, c.runs, "every fault fired");
        }
    )*};
}

sweeps! {
    faults_client_credentials: ClientCredentials,
    faults_validation: Validation,
    faults_introspection: Introspection,
    faults_revocation: Revocation,
    faults_revoke_family: RevokeFamily,
    faults_alarm: Alarm,
    faults_code_flow: CodeFlow,
    faults_refresh: Refresh,
    faults_device: DeviceFlow,
    faults_exchange: Exchange,
    faults_user_create: UserCreate,
    faults_sign_in: SignIn,
    faults_sign_up: SignUp,
    faults_project_create: ProjectCreate,
    faults_webhook_set: WebhookSet,
}

// ---------------------------------------------------------------------------------------
// Two faults in one request: the undo steps are best effort, so a second failure during an
// undo can leave something behind. Known residuals, kept as reproductions.

#[test]
#[ignore = "residual (two faults): a name claim whose answer was lost, then a failed release during the undo, keeps the name claimed and every retry answers 409; needs a claim that lapses unless confirmed (a durable intent)"]
fn two_faults_a_lost_claim_and_a_failed_release_keep_the_name() {
    let mut h = Harness::new();
    let sweep = sweep_of(&h);
    // Step 1 is the call to the name's object (which reads and commits the claim, steps 2 and
    // 3; its answer is lost); the undo then deletes the KV copy (step 4) and releases the
    // name (step 5, which fails).
    sweep.arm(1, When::After);
    sweep.also(5, When::Before);
    let mut f = UserCreate { made: None };
    let r = f.request(&mut h, 0);
    assert_eq!(r.status, 503);
    assert_eq!(sweep.trace()[..5], [Step::Call, Step::Get, Step::Commit, Step::KvDelete, Step::Call]);
    sweep.disarm();
    let again = f.request(&mut h, 0);
    assert_eq!(again.status, 201, "the name is free again: {}", text(&again));
}

#[test]
#[ignore = "residual (two faults): an API attach whose answer was lost, then a failed detach during the undo, leaves the project in the API's index (DELETE /admin/apis answers 409 api_in_use); needs the attach recorded as an intent the project's creation completes or undoes"]
fn two_faults_a_lost_attach_and_a_failed_detach_leave_the_api_in_use() {
    let mut h = Harness::new();
    let mut f = ProjectCreate::setup(&mut h);
    let sweep = sweep_of(&h);
    // Steps: the token's check, KV, the owner index (call, list, commit), then the attach
    // (step 6, committing at 7; its answer is lost) and its undo's detach (step 8, which fails).
    sweep.arm(6, When::After);
    sweep.also(8, When::Before);
    let r = f.request(&mut h, 0);
    assert_eq!(r.status, 503);
    assert_eq!(sweep.trace()[5..8], [Step::Call, Step::Commit, Step::Call]);
    sweep.disarm();
    assert!(projects(&mut h, &f.token.clone()).is_empty(), "no project is listed");
    let r = h.send(Req::new("DELETE", &format!("/admin/apis/{}", f.api)).bearer(ADMIN));
    assert_eq!(r.status, 204, "no project holds the API: {}", text(&r));
}
