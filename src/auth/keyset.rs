//! An issuer's keys as this isolate knows them: cached, or fetched (then cached) under the
//! refetch rules of [`jwks::should_fetch`]. Shared by everything that verifies someone else's
//! JWTs: token exchange's trusted issuers and the ID tokens of upstream identity providers.

use super::jwks::{self, Cached, Jwk};
use crate::cache::IsolateCache;
use crate::store::Fetch;

/// The keys at `jwks_uri`, cached under `cache_key`. An unreachable or broken JWKS leaves the
/// cached keys in place, but only until a day after the last successful fetch
/// ([`jwks::MAX_UNCONFIRMED_MS`]): a key removed upstream is not trusted for ever while the
/// JWKS cannot be reached. `None` when no keys are usable.
pub async fn keys<F: Fetch>(fetch: &F, cache: &IsolateCache, cache_key: &str, jwks_uri: &str, kid: Option<&str>, now_ms: u64) -> Option<Vec<Jwk>> {
    let mut cached = cache.jwks(cache_key);
    if jwks::should_fetch(cached.as_ref(), kid, now_ms) {
        let fetched = fetch.get(jwks_uri, jwks::FETCH_TIMEOUT_MS, jwks::MAX_JWKS_BYTES).await;
        let keys = fetched.ok().filter(|f| f.status == 200).and_then(|f| jwks::parse(&f.body));
        // A failed attempt is remembered too, so a flood of unknown kids cannot make us ask
        // more than once a minute; it does not vouch for the keys we had.
        let next = Cached::after_fetch(cached, keys, now_ms);
        cache.put_jwks(cache_key, next.clone());
        cached = Some(next);
    }
    cached.as_ref().and_then(|c| c.usable(now_ms)).filter(|k| !k.is_empty()).map(<[Jwk]>::to_vec)
}
