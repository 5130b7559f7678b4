//! An issuer's keys as this isolate knows them: cached, or fetched (then cached) under the
//! refetch rules of [`jwks::should_fetch`]. Shared by everything that verifies someone else's
//! JWTs: token exchange's trusted issuers and the ID tokens of upstream identity providers.

use super::jwks::{self, Cached, Jwk};
use crate::cache::IsolateCache;
use crate::store::Fetch;

/// The keys at `jwks_uri`, cached under `cache_key`. An unreachable or broken JWKS leaves the
/// cached keys in place; `None` when there are none at all.
pub async fn keys<F: Fetch>(fetch: &F, cache: &IsolateCache, cache_key: &str, jwks_uri: &str, kid: Option<&str>, now_ms: u64) -> Option<Vec<Jwk>> {
    let cached = cache.jwks(cache_key);
    if !jwks::should_fetch(cached.as_ref(), kid, now_ms) {
        return Some(cached.map(|c| c.keys).unwrap_or_default());
    }
    let fetched = fetch.get(jwks_uri, jwks::FETCH_TIMEOUT_MS, jwks::MAX_JWKS_BYTES).await;
    match fetched.ok().filter(|f| f.status == 200).and_then(|f| jwks::parse(&f.body)) {
        Some(keys) => {
            cache.put_jwks(cache_key, Cached { keys: keys.clone(), fetched_ms: now_ms });
            Some(keys)
        }
        // Remember the failed attempt too (keeping what we had), so a flood of unknown kids
        // cannot make us ask more than once a minute.
        None => {
            let keys = cached.map(|c| c.keys).unwrap_or_default();
            cache.put_jwks(cache_key, Cached { keys: keys.clone(), fetched_ms: now_ms });
            (!keys.is_empty()).then_some(keys)
        }
    }
}
