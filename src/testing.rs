//! What native tests, benchmarks and fuzz targets share: deterministic randomness, a request
//! builder, in-memory fakes of KV and the Durable Objects with the real semantics (the object
//! fake runs the real shard logic, and every request and reply crosses it as JSON, as at the
//! edge), fault injection, and native crypto (RustCrypto) behind the crypto seam.
//!
//! Compiled for unit tests, and for benches and fuzz targets through the `testing` feature.

use crate::app::App;
use crate::config::Config;
use crate::error::StoreError;
use crate::http::{Body, HttpRequest};
use crate::secret::Random;
use crate::shard::memo::Memo;
use crate::shard::{self, keys::TOKEN_PREFIX, ShardStorage};
use crate::store::{Fetch, Fetched, Kv, Namespace, Objects, Outbound, Platform};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;

mod crypto;
mod faults;
pub use crypto::{sign_es256, NativeCrypto, ES256_X, ES256_Y};
pub use faults::{Faults, Step, Sweep, When};

/// Deterministic randomness (splitmix64): reproducible tests, never for production.
pub struct SeqRng(pub u64);

impl Random for SeqRng {
    fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^= z >> 31;
            chunk.copy_from_slice(&z.to_le_bytes()[..chunk.len()]);
        }
    }
}

/// A request, built up step by step.
#[derive(Debug, Clone)]
pub struct Req(pub HttpRequest);

impl Req {
    pub fn new(method: &str, target: &str) -> Req {
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        Req(HttpRequest {
            method: method.to_string(),
            path: path.to_string(),
            query: query.to_string(),
            headers: Vec::new(),
            body: Body::Bytes(Vec::new()),
            client_ip: Some("10.0.0.1".into()),
            origin: "https://auth.test".into(),
        })
    }
    pub fn header(mut self, name: &str, value: &str) -> Req {
        self.0.headers.push((name.to_ascii_lowercase(), value.to_string()));
        self
    }
    pub fn body(mut self, body: impl AsRef<[u8]>) -> Req {
        self.0.body = Body::Bytes(body.as_ref().to_vec());
        self
    }
    pub fn form(self, body: &str) -> Req {
        self.header("content-type", "application/x-www-form-urlencoded").body(body)
    }
    pub fn basic(self, id: &str, secret: &str) -> Req {
        let v = format!("Basic {}", STANDARD.encode(format!("{id}:{secret}")));
        self.header("authorization", &v)
    }
    pub fn bearer(self, token: &str) -> Req {
        self.header("authorization", &format!("Bearer {token}"))
    }
    pub fn ip(mut self, ip: Option<&str>) -> Req {
        self.0.client_ip = ip.map(str::to_string);
        self
    }
    pub fn origin(mut self, origin: &str) -> Req {
        self.0.origin = origin.to_string();
        self
    }
}

/// KV in memory; consistent (tests that need staleness plant old values themselves).
#[derive(Default)]
pub struct MemKv {
    pub map: RefCell<BTreeMap<String, String>>,
    pub faults: Faults,
    pub sweep: Rc<Sweep>,
}

impl Kv for MemKv {
    async fn get(&self, key: &str) -> Result<Option<String>, StoreError> {
        self.faults.check("kv get")?;
        let after = self.sweep.enter(Step::KvGet)?;
        Sweep::lose(after, Step::KvGet, self.map.borrow().get(key).cloned())
    }
    async fn put(&self, key: &str, value: &str) -> Result<(), StoreError> {
        self.faults.check("kv put")?;
        let after = self.sweep.enter(Step::KvPut)?;
        self.map.borrow_mut().insert(key.to_string(), value.to_string());
        Sweep::lose(after, Step::KvPut, ())
    }
    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.faults.check("kv delete")?;
        let after = self.sweep.enter(Step::KvDelete)?;
        self.map.borrow_mut().remove(key);
        Sweep::lose(after, Step::KvDelete, ())
    }
    async fn list(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        self.faults.check("kv list")?;
        let after = self.sweep.enter(Step::KvList)?;
        Sweep::lose(after, Step::KvList, self.map.borrow().keys().filter(|k| k.starts_with(prefix)).cloned().collect())
    }
}

/// One object's storage: key to JSON text, as the Durable Object keeps it.
#[derive(Default)]
pub struct MemStorage {
    pub entries: RefCell<BTreeMap<String, String>>,
    pub alarm: Cell<Option<u64>>,
    pub sweep: Rc<Sweep>,
}

impl MemStorage {
    pub fn count(&self, prefix: &str) -> usize {
        self.entries.borrow().keys().filter(|k| k.starts_with(prefix)).count()
    }
}

impl ShardStorage for MemStorage {
    async fn get(&self, keys: &[String]) -> Result<Vec<(String, String)>, StoreError> {
        let after = self.sweep.enter(Step::Get)?;
        let map = self.entries.borrow();
        Sweep::lose(after, Step::Get, keys.iter().filter_map(|k| map.get(k).map(|v| (k.clone(), v.clone()))).collect())
    }
    async fn list(&self, prefix: &str) -> Result<Vec<(String, String)>, StoreError> {
        let after = self.sweep.enter(Step::List)?;
        let map = self.entries.borrow();
        let listed = map.range(prefix.to_string()..).take_while(|(k, _)| k.starts_with(prefix)).map(|(k, v)| (k.clone(), v.clone())).collect();
        Sweep::lose(after, Step::List, listed)
    }
    async fn commit(&self, puts: &[(String, String)], deletes: &[String]) -> Result<(), StoreError> {
        let after = self.sweep.enter(Step::Commit)?;
        let mut map = self.entries.borrow_mut();
        for (k, v) in puts {
            map.insert(k.clone(), v.clone());
        }
        for k in deletes {
            map.remove(k);
        }
        Sweep::lose(after, Step::Commit, ())
    }
    async fn alarm(&self) -> Result<Option<u64>, StoreError> {
        let after = self.sweep.enter(Step::Alarm)?;
        Sweep::lose(after, Step::Alarm, self.alarm.get())
    }
    async fn set_alarm(&self, at_ms: u64) -> Result<(), StoreError> {
        let after = self.sweep.enter(Step::SetAlarm)?;
        self.alarm.set(Some(at_ms));
        Sweep::lose(after, Step::SetAlarm, ())
    }
}

/// Every Durable Object, by name (user objects under `users/{name}`), with a shared clock
/// standing in for each object's `Date.now()`. Each object has its memory in front of its
/// storage ([`Memo`]), as at the edge; `storage()` is what storage holds.
#[derive(Default)]
pub struct MemObjects {
    pub shards: RefCell<HashMap<String, Rc<Memo<MemStorage>>>>,
    pub now_ms: Cell<u64>,
    pub faults: Faults,
    /// Shared with every object's storage (and, in [`mem_app`], with KV).
    pub sweep: Rc<Sweep>,
}

impl MemObjects {
    pub fn shard(&self, name: &str) -> Rc<Memo<MemStorage>> {
        self.shards
            .borrow_mut()
            .entry(name.to_string())
            .or_insert_with(|| Rc::new(Memo::new(MemStorage { sweep: self.sweep.clone(), ..MemStorage::default() })))
            .clone()
    }

    /// Every object is evicted: memory is gone, storage stays (a restart).
    pub fn evict_all(&self) {
        let mut map = self.shards.borrow_mut();
        for s in map.values_mut() {
            let storage = MemStorage { sweep: self.sweep.clone(), ..MemStorage::default() };
            *storage.entries.borrow_mut() = s.storage().entries.borrow().clone();
            storage.alarm.set(s.storage().alarm.get());
            *s = Rc::new(Memo::new(storage));
        }
    }

    /// Fire every alarm that is due, as the runtime would. Returns how many entries the
    /// sweeps deleted.
    pub async fn fire_alarms(&self) -> usize {
        self.try_fire_alarms().await.expect("memory alarms")
    }

    /// [`fire_alarms`](Self::fire_alarms), where an alarm handler may fail (a storage fault):
    /// that object's alarm stays set, as the runtime retries a failed alarm, the others run,
    /// and the first failure is returned.
    pub async fn try_fire_alarms(&self) -> Result<usize, StoreError> {
        let now = self.now_ms.get();
        let mut due: Vec<(String, Rc<Memo<MemStorage>>)> =
            self.shards.borrow().iter().filter(|(_, s)| s.storage().alarm.get().is_some_and(|a| a <= now)).map(|(n, s)| (n.clone(), s.clone())).collect();
        // In a fixed order, so that a run can be repeated step by step.
        due.sort_by(|a, b| a.0.cmp(&b.0));
        let mut deleted = 0;
        let mut failed = None;
        for (name, s) in due {
            let at = s.storage().alarm.get();
            s.storage().alarm.set(None);
            s.alarm_fired();
            // As `TokenShardCore::alarm` does: the deferred writes first, then the sweep if due.
            let swept = async {
                if name.starts_with("users/") {
                    shard::users::sessions::sweep(&*s, now).await
                } else {
                    shard::sweep::alarm(&s, now).await
                }
            }
            .await;
            match swept {
                Ok(n) => deleted += n,
                Err(e) => {
                    // Retried: due again at once (or earlier, if the handler set one).
                    s.storage().alarm.set(Some(s.storage().alarm.get().map_or(now, |a| a.min(now)).min(at.unwrap_or(now))));
                    failed.get_or_insert(e);
                }
            }
        }
        failed.map_or(Ok(deleted), Err)
    }

    /// Access-token records in the storage of all shards.
    pub fn stored_tokens(&self) -> usize {
        self.shards.borrow().values().map(|s| s.storage().count(TOKEN_PREFIX)).sum()
    }
}

impl Objects for MemObjects {
    async fn send(&self, ns: Namespace, name: &str, request: &str) -> Result<String, StoreError> {
        self.faults.check("durable object")?;
        let after = self.sweep.enter(Step::Call)?;
        let reply = match ns {
            Namespace::Tokens => shard::requests::handle(&*self.shard(name), request, self.now_ms.get()).await,
            Namespace::Users => shard::requests::handle_users(&*self.shard(&format!("users/{name}")), request, self.now_ms.get()).await,
        }?;
        Sweep::lose(after, Step::Call, reply)
    }
}

/// Outbound HTTP in memory: answers by URL, a count of requests, the requests sent with
/// [`Fetch::send`], and failure injection.
#[derive(Default)]
pub struct MemFetch {
    pub answers: RefCell<HashMap<String, Fetched>>,
    pub requests: Cell<u32>,
    pub down: Cell<bool>,
    pub sent: RefCell<Vec<Outbound>>,
}

impl MemFetch {
    /// Answer `url` with `status` and this JSON.
    pub fn answer_json(&self, url: &str, status: u16, body: &serde_json::Value) {
        self.answers.borrow_mut().insert(url.to_string(), Fetched { status, body: body.to_string().into_bytes(), cache_control: None });
    }
}

impl Fetch for MemFetch {
    async fn send(&self, req: &Outbound, timeout_ms: u64, max_bytes: usize) -> Result<Fetched, String> {
        self.sent.borrow_mut().push(req.clone());
        self.get(&req.url, timeout_ms, max_bytes).await
    }

    async fn get(&self, url: &str, _timeout_ms: u64, max_bytes: usize) -> Result<Fetched, String> {
        self.requests.set(self.requests.get() + 1);
        if self.down.get() {
            return Err("connection refused".into());
        }
        match self.answers.borrow().get(url) {
            Some(f) if f.body.len() > max_bytes => Err("too large".into()),
            Some(f) => Ok(f.clone()),
            None => Ok(Fetched { status: 404, body: Vec::new(), cache_control: None }),
        }
    }
}

/// The Queue in memory: every message sent, in order.
#[derive(Default)]
pub struct MemOutbox {
    pub sent: RefCell<Vec<String>>,
}

impl crate::store::Outbox for MemOutbox {
    async fn send(&self, message: &str) -> Result<(), StoreError> {
        self.sent.borrow_mut().push(message.to_string());
        Ok(())
    }
}

/// The in-memory platform.
pub struct MemPlatform;

impl Platform for MemPlatform {
    type Kv = MemKv;
    type Objects = MemObjects;
    type Crypto = NativeCrypto;
    type Fetch = MemFetch;
    type Outbox = MemOutbox;
}

/// An app on the in-memory platform, its clock at `now_ms`.
pub fn mem_app(config: Config, now_ms: u64) -> App<MemPlatform> {
    let sweep = Rc::new(Sweep::default());
    let kv = MemKv { sweep: sweep.clone(), ..MemKv::default() };
    let objects = MemObjects { sweep, ..MemObjects::default() };
    let app: App<MemPlatform> = App::new(config, kv, objects, NativeCrypto, MemFetch::default(), MemOutbox::default(), Default::default());
    app.objects.now_ms.set(now_ms);
    app
}

#[cfg(test)]
pub mod tests;
