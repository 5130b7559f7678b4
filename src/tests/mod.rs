//! Handler tests against the in-memory platform: every endpoint, every error, and the
//! consistency rules, natively and fast.

mod abuse;
mod account;
mod admin;
mod alerts;
mod browser;
mod cimd;
mod console;
mod device;
mod exchange;
mod faults;
mod import_graph;
mod intents;
mod person;
mod refresh;
mod register;
mod resources;
mod token;
mod upstream;
mod usage;
mod validate;

pub use crate::app::App;
pub use crate::block_on;
pub use crate::config::{Config, Limits};
pub use crate::http::{Body, HttpResponse};
pub use crate::secret::AdminToken;
pub use crate::shard::gate::{ChangeGate, GateChange};
pub use crate::shard::{self, shard_name, SHARDS};
pub use crate::testing::{mem_app, MemPlatform, Req, SeqRng};
pub use serde_json::json;

pub const ADMIN: &str = "admin-secret";
pub const T0: u64 = 1_700_000_000_000;

pub struct Harness {
    pub app: App<MemPlatform>,
    pub rng: SeqRng,
    pub now: u64,
}

impl Harness {
    pub fn new() -> Harness {
        // No isolate cache by default, so that tests which plant a stale KV record see it.
        // Few PBKDF2 iterations: the tests check the rules, not the cost (the edge runs 100,000).
        let config = Config { admin_token: Some(AdminToken::new(ADMIN)), client_cache_ms: 0, pbkdf2_iterations: 100, ..Config::default() };
        Harness { app: mem_app(config, T0), rng: SeqRng(0), now: T0 }
    }

    pub fn advance(&mut self, ms: u64) {
        self.now += ms;
        self.app.objects.now_ms.set(self.now);
    }

    /// Fire every alarm that is due, as the edge does: the object's sweep, then the intents it
    /// keeps (`crate::intent::resume`), setting the alarm again for those left. Returns how
    /// many intents were completed.
    pub fn alarms(&mut self) -> usize {
        let now = self.now;
        let due: Vec<String> =
            self.app.objects.shards.borrow().iter().filter(|(_, s)| s.storage().alarm.get().is_some_and(|a| a <= now)).map(|(n, _)| n.clone()).collect();
        block_on(self.app.objects.fire_alarms());
        let mut completed = 0;
        for name in due {
            let s = self.app.objects.shard(&name);
            let r = block_on(crate::intent::resume(&self.app, &*s, name.starts_with("users/"), now, crate::shard::intents::INTENT_RETRY_MS)).expect("resume");
            completed += r.completed;
            if let Some(at) = r.again {
                if let Some(at) = shard::earlier_alarm(s.storage().alarm.get(), at) {
                    s.storage().alarm.set(Some(at));
                }
            }
        }
        completed
    }

    pub fn send(&mut self, r: Req) -> HttpResponse {
        block_on(self.app.handle(&r.0, self.now, &mut self.rng))
    }

    pub fn create(&mut self, json: &str) -> (String, String) {
        let r = self.send(Req::new("POST", "/admin/clients").bearer(ADMIN).body(json));
        assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
        let v = r.body_json();
        (v["client_id"].as_str().unwrap().into(), v["client_secret"].as_str().unwrap().into())
    }

    pub fn token(&mut self, id: &str, secret: &str) -> String {
        let r = self.send(Req::new("POST", "/token").form("grant_type=client_credentials").basic(id, secret));
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
        r.body_json()["access_token"].as_str().unwrap().to_string()
    }

    pub fn validate(&mut self, token: &str, ip: &str) -> HttpResponse {
        self.send(Req::new("GET", "/validate").bearer(token).ip(Some(ip)))
    }
}

pub fn err(r: &HttpResponse) -> String {
    r.body_json()["error"].as_str().unwrap_or("").to_string()
}
