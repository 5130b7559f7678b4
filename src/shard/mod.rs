//! The token shard: the logic of the Durable Object `{client_id}/{n}` (n < [`SHARDS`]) that
//! holds a share of one client's live tokens, that client's authoritative liveness (its
//! [`gate`]), and named [`counters`].
//!
//! Every operation is a type implementing [`Op`]: the keys it reads, a pure `decide` from
//! what was read to a typed reply and the [`Effects`] to write, and nothing else. [`execute`]
//! does the read, the decision and one batched commit; the Durable Object's input and output
//! gates make that atomic, so concurrent requests to one shard apply one after another and
//! none is lost. Storage sits behind [`ShardStorage`]; the Durable Object and the in-memory
//! fake of `testing` both implement it.
//!
//! - [`route`](mod@route): which shard a token lives in, and the token format.
//! - [`keys`]: where a shard keeps its records (a leaf: every record module names it).
//! - [`tokens`]: issue, validate (a use), introspect (not a use), revoke.
//! - [`gate`]: client-wide changes (disable, enable, delete, rotate) and the liveness check.
//! - [`codes`]: authorization codes: issued after consent, redeemed once.
//! - [`families`]: what one authorization issued (access and refresh tokens), killed as one;
//!   the user gate that keeps a killed user's older codes and tokens dead.
//! - [`start`]: starting a family, shared by codes, device grants and token exchange.
//! - [`refresh`]: rotation, the retry window and reuse detection.
//! - [`devices`]: the device grant: a flow in the object named by its user code, its approval
//!   in the user's shard.
//! - [`counters`]: sliding-window counters for brute-force protection and rate limits.
//! - [`sweep`]: the alarm that deletes what has expired.
//! - [`intents`]: changes spanning objects, recorded before their steps (both classes).
//! - [`blocklist`]: the metadata-document hosts refused, in the one object `cimd-blocklist`.
//! - [`registration`]: initial access tokens for RFC 7591 registration, in the one object
//!   `registration-tokens`.
//!
//! The same machinery runs the second class of object, `UserObject` (`USERS`):
//! - [`users`]: the user object `id:{user_id}`: record, sessions, grants.
//! - [`names`]: the username claim `name:{username}`.
//! - [`users::projects`]: a person's owner index of projects, in the user object.
//! - [`apis`]: an API of the catalogue `api:{api_id}` and the index of the projects using it.
//!
//! [`requests`] lists every operation of both classes on the wire and is each class's entry
//! point. The layers, each naming only those before it: this module's machinery and
//! [`keys`]; [`gate`] and [`families`]; [`tokens`]; [`start`]; [`codes`] and [`refresh`];
//! [`devices`]; [`sweep`] and [`requests`] (checked: `src/tests/import_graph.rs`).

pub mod apis;
pub mod blocklist;
pub mod codes;
pub mod counters;
pub mod devices;
pub mod families;
pub mod gate;
pub mod intents;
pub mod keys;
pub mod memo;
pub mod names;
pub mod refresh;
pub mod registration;
pub mod requests;
pub mod route;
pub mod start;
pub mod sweep;
pub mod tokens;
pub mod usage;
pub mod users;
pub mod webhooks;

pub use route::{route, shard_name, Route, SHARDS};

use crate::error::StoreError;
use crate::store::{decode_reply, Namespace, Objects};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::collections::BTreeMap;

/// Storage of one shard: string keys, JSON text values.
#[allow(async_fn_in_trait)]
pub trait ShardStorage {
    /// The values of those `keys` that exist.
    async fn get(&self, keys: &[String]) -> Result<Vec<(String, String)>, StoreError>;
    /// Every entry whose key starts with `prefix` (full keys).
    async fn list(&self, prefix: &str) -> Result<Vec<(String, String)>, StoreError>;
    /// Apply writes and deletions as one atomic batch.
    async fn commit(&self, puts: &[(String, String)], deletes: &[String]) -> Result<(), StoreError>;
    /// [`commit`](Self::commit), with `lazy` writes that may reach storage late (a
    /// [`memo::Memo`] defers them; plain storage writes them at once).
    async fn commit_lazy(&self, puts: &[(String, String)], lazy: &[Lazy], deletes: &[String], _now_ms: u64) -> Result<(), StoreError> {
        let all: Vec<(String, String)> = puts.iter().cloned().chain(lazy.iter().map(|l| (l.key.clone(), l.value.clone()))).collect();
        self.commit(&all, deletes).await
    }
    async fn alarm(&self) -> Result<Option<u64>, StoreError>;
    async fn set_alarm(&self, at_ms: u64) -> Result<(), StoreError>;
    /// A record's deadline (its end, a grace's end, an intent's due time): the object's sweep
    /// is due by `at_ms`. A [`memo::Memo`] keeps the earliest; plain storage forgets it (and an
    /// alarm always sweeps).
    fn sweep_due(&self, _at_ms: u64) {}
    /// A sweep ran; the next is due at `next_ms` (`None`: nothing is).
    fn swept(&self, _next_ms: Option<u64>) {}
    /// These keys, just written or deleted, are not worth keeping in memory (history: a
    /// family's member rows, a rotated refresh token, what a sweep deleted). A
    /// [`memo::Memo`] drops them; plain storage keeps nothing anyway.
    fn forget(&self, _keys: &[String]) {}
}

/// One operation on an object.
pub trait Op: Sized {
    type Reply: Serialize + DeserializeOwned;
    /// The keys to read before deciding.
    fn keys(&self) -> Vec<String>;
    /// Every entry under these prefixes is read as well.
    fn prefixes(&self) -> Vec<String> {
        Vec::new()
    }
    /// Keys named by what the first read found (a code names its user's gate); read next.
    fn more_keys(&self, _loaded: &Loaded) -> Result<Vec<String>, StoreError> {
        Ok(Vec::new())
    }
    /// The decision, from what was read: pure. Only a corrupt record makes it fail.
    fn decide(self, loaded: &Loaded, now_ms: u64) -> Result<(Self::Reply, Effects), StoreError>;
}

/// What an operation read: raw JSON by key, decoded on demand.
#[derive(Debug, Default, Clone)]
pub struct Loaded(BTreeMap<String, String>);

impl Loaded {
    /// The record under `key`, if there is one.
    pub fn get<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, StoreError> {
        self.text(key).map(|text| decode(key, text)).transpose()
    }

    /// (The lookup apart from the generic [`get`](Self::get): one copy in the wasm.)
    #[inline(never)]
    fn text(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }

    /// Every record read under `prefix`, with its key.
    pub fn under<T: DeserializeOwned>(&self, prefix: &str) -> Result<Vec<(String, T)>, StoreError> {
        self.0.range(prefix.to_string()..).take_while(|(k, _)| k.starts_with(prefix)).map(|(k, text)| Ok((k.clone(), decode(k, text)?))).collect()
    }

    /// For tests: a state with `value` stored under `key`.
    pub fn with<T: Serialize>(mut self, key: impl Into<String>, value: &T) -> Self {
        self.0.insert(key.into(), to_json(value));
        self
    }
}

/// How far a lazily written record may run ahead of storage (see [`memo`]).
pub const LAG_MS: u64 = 10_000;

/// A write that may reach storage late (a slid expiry, a count; see [`memo`] and
/// [`Effects::defer`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lazy {
    pub key: String,
    pub value: String,
}

/// What an operation writes.
#[derive(Debug, Default, PartialEq)]
pub struct Effects {
    pub puts: Vec<(String, String)>,
    /// Writes that may reach storage late (a slid expiry; see [`memo`]).
    pub lazy: Vec<Lazy>,
    pub deletes: Vec<String>,
    /// Delete every key under these prefixes.
    pub purge: Vec<&'static str>,
    /// Families' access-token rows (`m:{family}:{hash}`) under these prefixes: each row and the
    /// token it names are deleted (a family's kill; see [`families`]).
    pub members: Vec<String>,
    /// An alarm must fire no later than this, and sweep (a record's deadline).
    pub alarm_by: Option<u64>,
    /// An alarm must fire no later than this, to write what memory holds (usage counts); no
    /// sweep is due for it.
    pub flush_by: Option<u64>,
    /// Keys to drop from the object's memory once the commit has landed (see
    /// [`ShardStorage::forget`]): memory follows what is live, not what happened.
    pub forget: Vec<String>,
}

impl Effects {
    pub fn put<T: Serialize>(&mut self, key: String, value: &T) {
        self.puts.push((key, to_json(value)));
    }

    /// A write made at `now_ms` that memory holds and the alarm brings to storage within
    /// [`memo::LAG_MS`] (a slide, a count): no storage write of its own, and writes deferred
    /// in the same 10 s reach storage in one batch. A crash loses at most the last `LAG_MS`.
    pub fn defer<T: Serialize>(&mut self, key: String, value: &T, now_ms: u64) {
        self.lazy.push(Lazy { key, value: to_json(value) });
        self.flush_alarm(now_ms + LAG_MS);
    }

    pub fn delete(&mut self, key: String) {
        self.deletes.push(key);
    }

    /// A write that is history rather than hot state (read only should its family die):
    /// written, then not kept in the object's memory.
    pub fn put_cold<T: Serialize>(&mut self, key: String, value: &T) {
        self.put(key.clone(), value);
        self.forget.push(key);
    }

    /// Delete the access tokens of the family rows under `prefix`, and the rows.
    pub fn kill_members(&mut self, prefix: String) {
        self.members.push(prefix);
    }

    /// Ask for an alarm (and a sweep) by `at`, keeping the earliest of several asks.
    pub fn alarm(&mut self, at: u64) {
        self.alarm_by = Some(self.alarm_by.map_or(at, |a| a.min(at)));
    }

    /// Ask for an alarm by `at` only to write what memory holds: not a sweep (which reads
    /// every record the object has).
    pub fn flush_alarm(&mut self, at: u64) {
        self.flush_by = Some(self.flush_by.map_or(at, |a| a.min(at)));
    }

    async fn apply<S: ShardStorage>(mut self, s: &S, now_ms: u64) -> Result<(), StoreError> {
        for prefix in &self.purge {
            self.deletes.extend(s.list(prefix).await?.into_iter().map(|(k, _)| k));
        }
        for prefix in &self.members {
            for (row, _) in s.list(prefix).await? {
                // `m:{family}:{hash}`: a hash has no ':'.
                if let Some((_, hash)) = row.rsplit_once(':') {
                    self.deletes.push(format!("{}{hash}", keys::TOKEN_PREFIX));
                }
                self.deletes.push(row);
            }
        }
        // The alarm before the commit: the commit is the last step, so an error means nothing
        // was written (an alarm that finds nothing due only re-arms). Set after the commit, a
        // failed alarm answered an error for writes that had landed: a code redeemed, its
        // answer lost.
        if let Some(at) = self.alarm_by {
            s.sweep_due(at);
        }
        if let Some(at) = self.alarm_by.into_iter().chain(self.flush_by).min() {
            if let Some(at) = earlier_alarm(s.alarm().await?, at) {
                s.set_alarm(at).await?;
            }
        }
        if !self.puts.is_empty() || !self.lazy.is_empty() || !self.deletes.is_empty() {
            s.commit_lazy(&self.puts, &self.lazy, &self.deletes, now_ms).await?;
        }
        s.forget(&self.forget);
        Ok(())
    }
}

/// The alarm to set when `wanted` is asked for and `current` is scheduled: only ever earlier
/// (a later deadline is met by the earlier alarm, whose sweep re-arms for what remains).
pub fn earlier_alarm(current: Option<u64>, wanted: u64) -> Option<u64> {
    match current {
        Some(current) if current <= wanted => None,
        _ => Some(wanted),
    }
}

/// Our own types always serialise.
pub(crate) fn to_json<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

pub(crate) fn decode<T: DeserializeOwned>(key: &str, text: &str) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(|e| corrupt(key, e))
}

/// (Apart from the generic [`decode`]: one copy in the wasm.)
fn corrupt(key: &str, e: serde_json::Error) -> StoreError {
    StoreError(format!("corrupt record {key}: {e}"))
}

/// An operation with its types erased, so that the read → decide → commit loop below exists
/// once in the wasm rather than once per operation (each copy of an async loop is kilobytes).
trait AnyOp {
    fn keys(&self) -> Vec<String>;
    fn prefixes(&self) -> Vec<String>;
    fn more_keys(&self, loaded: &Loaded) -> Result<Vec<String>, StoreError>;
    fn decide(self: Box<Self>, loaded: &Loaded, now_ms: u64) -> Result<(String, Effects), StoreError>;
}

impl<O: Op> AnyOp for O {
    fn keys(&self) -> Vec<String> {
        Op::keys(self)
    }
    fn prefixes(&self) -> Vec<String> {
        Op::prefixes(self)
    }
    fn more_keys(&self, loaded: &Loaded) -> Result<Vec<String>, StoreError> {
        Op::more_keys(self, loaded)
    }
    fn decide(self: Box<Self>, loaded: &Loaded, now_ms: u64) -> Result<(String, Effects), StoreError> {
        let (reply, effects) = Op::decide(*self, loaded, now_ms)?;
        Ok((to_json(&reply), effects))
    }
}

/// Read, decide, commit; the reply as JSON.
async fn run<S: ShardStorage>(s: &S, op: Box<dyn AnyOp>, now_ms: u64) -> Result<String, StoreError> {
    let loaded = read(s, &*op).await?;
    let (reply, effects) = op.decide(&loaded, now_ms)?;
    effects.apply(s, now_ms).await?;
    Ok(reply)
}

/// What `op` names: its keys, everything under its prefixes, then the keys named by what
/// those reads found.
async fn read<S: ShardStorage>(s: &S, op: &dyn AnyOp) -> Result<Loaded, StoreError> {
    let mut loaded = Loaded(s.get(&op.keys()).await?.into_iter().collect());
    for prefix in op.prefixes() {
        loaded.0.extend(s.list(&prefix).await?);
    }
    let more = op.more_keys(&loaded)?;
    if !more.is_empty() {
        loaded.0.extend(s.get(&more).await?);
    }
    Ok(loaded)
}

/// Run `op` on an object's own storage (its alarm), with the typed reply.
pub async fn local<S: ShardStorage, O: Op + 'static>(s: &S, op: O, now_ms: u64) -> Result<O::Reply, StoreError> {
    let text = run(s, Box::new(op), now_ms).await?;
    decode("reply", &text)
}

/// For the table tests of `decide`: [`Checked::checked`] decides on a state directly *and*
/// on what the operation reads from storage that holds exactly that state, and insists that
/// both agree. So a table test also proves that `keys`, `prefixes` and `more_keys` name
/// everything `decide` looks at.
#[cfg(test)]
pub trait Checked: Op + Clone + 'static {
    fn checked(self, loaded: &Loaded, now_ms: u64) -> Result<(Self::Reply, Effects), StoreError> {
        let storage = crate::testing::MemStorage::default();
        storage.entries.borrow_mut().extend(loaded.0.clone());
        let read = crate::block_on(read(&storage, &self)).expect("memory storage reads");
        let via_storage = self.clone().decide(&read, now_ms);
        let direct = self.decide(loaded, now_ms);
        match (&direct, &via_storage) {
            (Ok((a, fa)), Ok((b, fb))) => {
                assert_eq!(to_json(a), to_json(b), "the reply differs when only what the op names is read");
                assert_eq!(fa, fb, "the effects differ when only what the op names is read");
            }
            (Err(a), Err(b)) => assert_eq!(a.0, b.0),
            _ => panic!("decide gives {:?} directly but {:?} through storage", direct.as_ref().err(), via_storage.as_ref().err()),
        }
        direct
    }
}

#[cfg(test)]
impl<O: Op + Clone + 'static> Checked for O {}

/// An operation's address: which class of object runs it, and in which request enum it
/// travels there.
pub trait Addressed: Op {
    type Request: Serialize + From<Self>;
    const NS: Namespace;
}

fn parse<R: DeserializeOwned>(request: &str) -> Result<R, StoreError> {
    serde_json::from_str(request).map_err(bad_request)
}

fn bad_request(e: serde_json::Error) -> StoreError {
    StoreError(format!("bad request to a durable object: {e}"))
}

/// The caller's side: run `op` in the object named `name` and return its typed reply.
pub async fn call<O: Objects, R: Addressed>(objects: &O, name: &str, op: R) -> Result<R::Reply, StoreError> {
    let text = send(objects, R::NS, name, to_json(&R::Request::from(op))).await?;
    decode_reply(&text)
}

/// The transport's future, boxed: one copy in the wasm, not one inlined into every call site.
fn send<'a, O: Objects>(
    objects: &'a O,
    ns: Namespace,
    name: &'a str,
    request: String,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<String, StoreError>> + 'a>> {
    Box::pin(async move { objects.send(ns, name, &request).await })
}

#[cfg(test)]
mod tests;
