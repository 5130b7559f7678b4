//! What one isolate remembers between requests: client records for a few seconds, and the
//! addresses it has seen blocked for failed authentications. Neither is an authority: the
//! shard gates decide whether a client's tokens live, and the counters decide blocks.

use crate::auth::jwks::Cached;
use crate::client::metadata_document::Problem;
use crate::client::Client;
use crate::issuer::Issuer;
use crate::provider::Provider;
use std::cell::RefCell;
use std::collections::HashMap;

/// Entries kept at most; past it the map is cleared (cheap, and bounded under attack).
const MAX_ENTRIES: usize = 10_000;
/// Metadata documents kept at most; past it the oldest is dropped (each is up to 5 KiB, and
/// anyone can make us fetch one).
pub const MAX_DOCUMENTS: usize = 256;
/// Documents that could not be used, remembered apart (so that junk URLs cannot push the good
/// ones out), at most this many, each for [`crate::client::metadata_document::MIN_CACHE_MS`].
pub const MAX_FAILED_DOCUMENTS: usize = 64;

#[derive(Debug, Default)]
pub struct IsolateCache {
    clients: RefCell<HashMap<String, (Option<Client>, u64)>>,
    blocked: RefCell<HashMap<String, u64>>,
    /// The trusted issuers, and until when this copy may be used.
    issuers: RefCell<Option<(Vec<Issuer>, u64)>>,
    /// The upstream identity providers, and until when this copy may be used.
    providers: RefCell<Option<(Vec<Provider>, u64)>>,
    /// Each trusted issuer's keys, by issuer id (and each provider's, by `provider:{id}`).
    jwks: RefCell<HashMap<String, Cached>>,
    /// Clients read from their metadata documents, by URL.
    documents: RefCell<Recent<Client>>,
    /// Documents that could not be used, with why, by URL.
    failed_documents: RefCell<Recent<Problem>>,
}

/// Values by key, each until its expiry, oldest first: past `max` entries the oldest goes.
#[derive(Debug)]
struct Recent<T>(Vec<(String, T, u64)>);

impl<T> Default for Recent<T> {
    fn default() -> Self {
        Recent(Vec::new())
    }
}

impl<T: Clone> Recent<T> {
    fn get(&self, key: &str, now_ms: u64) -> Option<T> {
        self.0.iter().find(|(k, _, until)| k == key && now_ms < *until).map(|(_, v, _)| v.clone())
    }

    fn put(&mut self, key: &str, value: T, until_ms: u64, max: usize) {
        self.0.retain(|(k, _, _)| k != key);
        if self.0.len() >= max {
            self.0.remove(0);
        }
        self.0.push((key.to_string(), value, until_ms));
    }
}

impl IsolateCache {
    /// A cached client (or cached absence) younger than its expiry.
    pub fn client(&self, id: &str, now_ms: u64) -> Option<Option<Client>> {
        self.client_with(id, now_ms, |c| c.cloned())
    }

    /// `f` of a cached client (or cached absence) younger than its expiry, without a copy of
    /// the record.
    pub fn client_with<R>(&self, id: &str, now_ms: u64, f: impl FnOnce(Option<&Client>) -> R) -> Option<R> {
        let map = self.clients.borrow();
        map.get(id).filter(|(_, until)| now_ms < *until).map(|(c, _)| f(c.as_ref()))
    }

    pub fn put_client(&self, id: &str, client: Option<Client>, until_ms: u64) {
        let mut map = self.clients.borrow_mut();
        if map.len() >= MAX_ENTRIES {
            map.clear();
        }
        map.insert(id.to_string(), (client, until_ms));
    }

    pub fn forget_client(&self, id: &str) {
        self.clients.borrow_mut().remove(id);
    }

    pub fn issuers(&self, now_ms: u64) -> Option<Vec<Issuer>> {
        self.issuers.borrow().as_ref().filter(|(_, until)| now_ms < *until).map(|(i, _)| i.clone())
    }

    pub fn put_issuers(&self, issuers: Option<Vec<Issuer>>, until_ms: u64) {
        *self.issuers.borrow_mut() = issuers.map(|i| (i, until_ms));
    }

    pub fn providers(&self, now_ms: u64) -> Option<Vec<Provider>> {
        self.providers.borrow().as_ref().filter(|(_, until)| now_ms < *until).map(|(p, _)| p.clone())
    }

    pub fn put_providers(&self, providers: Option<Vec<Provider>>, until_ms: u64) {
        *self.providers.borrow_mut() = providers.map(|p| (p, until_ms));
    }

    pub fn jwks(&self, issuer_id: &str) -> Option<Cached> {
        self.jwks.borrow().get(issuer_id).cloned()
    }

    pub fn put_jwks(&self, issuer_id: &str, keys: Cached) {
        let mut map = self.jwks.borrow_mut();
        if map.len() >= MAX_ENTRIES {
            map.clear();
        }
        map.insert(issuer_id.to_string(), keys);
    }

    pub fn forget_jwks(&self, issuer_id: &str) {
        self.jwks.borrow_mut().remove(issuer_id);
    }

    /// A metadata-document client fetched less than its cache lifetime ago.
    pub fn document(&self, url: &str, now_ms: u64) -> Option<Client> {
        self.documents.borrow().get(url, now_ms)
    }

    /// Keep a fetched document's client until `until_ms`, dropping the oldest past
    /// [`MAX_DOCUMENTS`].
    pub fn put_document(&self, url: &str, client: Client, until_ms: u64) {
        self.documents.borrow_mut().put(url, client, until_ms, MAX_DOCUMENTS);
    }

    /// Why the document at `url` could not be used, if that was found out less than a minute ago.
    pub fn failed_document(&self, url: &str, now_ms: u64) -> Option<Problem> {
        self.failed_documents.borrow().get(url, now_ms)
    }

    /// Remember that the document at `url` could not be used, until `until_ms`.
    pub fn put_failed_document(&self, url: &str, problem: Problem, until_ms: u64) {
        self.failed_documents.borrow_mut().put(url, problem, until_ms, MAX_FAILED_DOCUMENTS);
    }

    /// Seconds left on a block this isolate has seen for `key`.
    pub fn blocked(&self, key: &str, now_ms: u64) -> Option<u64> {
        let until = *self.blocked.borrow().get(key)?;
        (now_ms < until).then(|| (until - now_ms).div_ceil(1000))
    }

    pub fn block(&self, key: &str, until_ms: u64) {
        let mut map = self.blocked.borrow_mut();
        if map.len() >= MAX_ENTRIES {
            map.clear();
        }
        map.insert(key.to_string(), until_ms);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_of_entries() {
        let c = IsolateCache::default();
        c.put_client("a", None, 1_000);
        assert_eq!(c.client("a", 999), Some(None));
        assert_eq!(c.client("a", 1_000), None);
        c.block("ip:1", 5_000);
        assert_eq!(c.blocked("ip:1", 1_000), Some(4));
        assert_eq!(c.blocked("ip:1", 5_000), None);
        assert_eq!(c.blocked("ip:2", 0), None);
    }

    #[test]
    fn documents_expire_and_the_oldest_goes_first() {
        let c = IsolateCache::default();
        let client = |id: &str| Client::public(id.into(), Default::default(), 0);
        c.put_document("https://a.example/c", client("a"), 1_000);
        assert_eq!(c.document("https://a.example/c", 999).map(|c| c.client_id), Some("a".into()));
        assert_eq!(c.document("https://a.example/c", 1_000), None, "expired");
        assert_eq!(c.document("https://b.example/c", 0), None);
        c.put_document("https://a.example/c", client("a2"), 2_000);
        assert_eq!(c.document("https://a.example/c", 1_500).map(|c| c.client_id), Some("a2".into()), "replaced, not duplicated");
        for i in 0..MAX_DOCUMENTS {
            c.put_document(&format!("https://x.example/{i}"), client("x"), 5_000);
        }
        assert_eq!(c.documents.borrow().0.len(), MAX_DOCUMENTS, "bounded");
        assert_eq!(c.document("https://a.example/c", 1_500), None, "the oldest was dropped");
        assert!(c.document("https://x.example/0", 0).is_some() && c.document(&format!("https://x.example/{}", MAX_DOCUMENTS - 1), 0).is_some());
    }
}
