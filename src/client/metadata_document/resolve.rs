//! A metadata-document client for a request: the host blocklist first (one call to its
//! object, so a block takes effect at once, cached copies included), then this isolate's
//! copy, else a fetch under the limits of [`super`]. It takes the seams it uses, not the
//! `App` that holds them: `App::client` calls it.

use super::{cache_ms, document_host, parse, Problem, FETCH_TIMEOUT_MS, MAX_DOCUMENT_BYTES, MIN_CACHE_MS};
use crate::cache::IsolateCache;
use crate::client::Client;
use crate::config::Config;
use crate::error::OAuthError;
use crate::shard::blocklist::{self, IsBlocked};
use crate::shard::call;
use crate::store::{Fetch, Objects};

/// The client the metadata document at `url` describes, or why there is none.
pub async fn document_client(
    objects: &impl Objects,
    fetch: &impl Fetch,
    cache: &IsolateCache,
    config: &Config,
    url: &str,
    now_ms: u64,
) -> Result<Result<Client, Problem>, OAuthError> {
    let Some(host) = document_host(url, config.cimd) else { return Ok(Err(Problem::NotDocument)) };
    if call(objects, blocklist::OBJECT, IsBlocked { host }).await? {
        return Ok(Err(Problem::Blocked));
    }
    if let Some(client) = cache.document(url, now_ms) {
        return Ok(Ok(client));
    }
    // A document that failed is not fetched again for a minute: repeating a request with a
    // bad or slow URL costs one fetch a minute, not one per request.
    if let Some(problem) = cache.failed_document(url, now_ms) {
        return Ok(Err(problem));
    }
    let fetched = fetch.get(url, FETCH_TIMEOUT_MS, MAX_DOCUMENT_BYTES).await;
    let outcome = match fetched {
        Err(_) => Err(Problem::Unreachable),
        Ok(f) if f.status != 200 => Err(Problem::Bad(format!("it answered with status {} (redirects are not followed)", f.status))),
        Ok(f) => parse(url, &f.body, now_ms, config).map(|c| (c, cache_ms(f.cache_control.as_deref()))).map_err(Problem::Bad),
    };
    match outcome {
        Ok((client, keep_ms)) => {
            cache.put_document(url, client.clone(), now_ms + keep_ms);
            Ok(Ok(client))
        }
        Err(problem) => {
            cache.put_failed_document(url, problem.clone(), now_ms + MIN_CACHE_MS);
            Ok(Err(problem))
        }
    }
}
