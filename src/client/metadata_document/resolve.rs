//! A metadata-document client for a request: the host blocklist first (one call to its
//! object, so a block takes effect at once, cached copies included), then this isolate's
//! copy, else a fetch under the limits of [`super`].

use super::{cache_ms, document_host, parse, FETCH_TIMEOUT_MS, MAX_DOCUMENT_BYTES, MIN_CACHE_MS};
use crate::app::App;
use crate::client::Client;
use crate::error::OAuthError;
use crate::http::HttpResponse;
use crate::pages;
use crate::shard::blocklist::{self, IsBlocked};
use crate::store::{Fetch, Platform};

/// Why a metadata-document client cannot be used. `/authorize` shows it (a page, never a
/// redirect: the redirect URIs come from the document); `/token` answers `invalid_client`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// Not a metadata-document URL under the current `CIMD`.
    NotDocument,
    /// An operator blocked the URL's host.
    Blocked,
    /// No answer in time, an answer too large, or no connection.
    Unreachable,
    /// An answer other than 200 (a redirect included), or a document breaking a rule.
    Bad(String),
}

impl Problem {
    /// The `/authorize` page for this problem with the client `url` (400).
    pub fn page(&self, url: &str) -> HttpResponse {
        let host = crate::client::redirect::web_uri(url).map_or("", |u| u.host);
        match self {
            Problem::NotDocument => pages::error(400, "Unknown application", "The application that sent you here is not registered, or is disabled."),
            Problem::Blocked => pages::error(400, "Application blocked", &format!("Applications that identify themselves by a document at {host} are blocked here.")),
            Problem::Unreachable => pages::error(
                400,
                "Application document unreachable",
                &format!("The application identifies itself by a document at {host}, which could not be fetched (no answer within 5 seconds, larger than 5 KiB, or no connection)."),
            ),
            Problem::Bad(why) => {
                pages::error(400, "Bad application document", &format!("The application identifies itself by a document at {host}, which is not valid: {why}."))
            }
        }
    }
}

impl<P: Platform> App<P> {
    /// The client the metadata document at `url` describes, or why there is none.
    pub async fn document_client(&self, url: &str, now_ms: u64) -> Result<Result<Client, Problem>, OAuthError> {
        let Some(host) = document_host(url, self.config.cimd) else { return Ok(Err(Problem::NotDocument)) };
        if self.call(blocklist::OBJECT, IsBlocked { host }).await? {
            return Ok(Err(Problem::Blocked));
        }
        if let Some(client) = self.cache.document(url, now_ms) {
            return Ok(Ok(client));
        }
        // A document that failed is not fetched again for a minute: repeating a request with a
        // bad or slow URL costs one fetch a minute, not one per request.
        if let Some(problem) = self.cache.failed_document(url, now_ms) {
            return Ok(Err(problem));
        }
        let fetched = self.fetch.get(url, FETCH_TIMEOUT_MS, MAX_DOCUMENT_BYTES).await;
        let outcome = match fetched {
            Err(_) => Err(Problem::Unreachable),
            Ok(f) if f.status != 200 => Err(Problem::Bad(format!("it answered with status {} (redirects are not followed)", f.status))),
            Ok(f) => parse(url, &f.body, now_ms, &self.config).map(|c| (c, cache_ms(f.cache_control.as_deref()))).map_err(Problem::Bad),
        };
        match outcome {
            Ok((client, keep_ms)) => {
                self.cache.put_document(url, client.clone(), now_ms + keep_ms);
                Ok(Ok(client))
            }
            Err(problem) => {
                self.cache.put_failed_document(url, problem.clone(), now_ms + MIN_CACHE_MS);
                Ok(Err(problem))
            }
        }
    }
}
