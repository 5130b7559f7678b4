//! `POST /revoke` (RFC 7009): a client ends one of its own tokens.

use super::introspect::token_about;
use super::Outcome;
use crate::app::{App, Cx};
use crate::http::{HttpRequest, HttpResponse};
use crate::shard::route::route;
use crate::shard::tokens::Revoke;
use crate::store::Platform;

pub async fn handle<P: Platform>(app: &App<P>, req: &HttpRequest, cx: &mut Cx<'_>) -> Outcome {
    let (caller, token) = token_about(app, req, cx.now_ms).await?;
    // RFC 7009 §2.2: 200 whether or not the token existed. Another client's token is left
    // alone, with the same answer, so revocation reveals nothing.
    let client_id = caller.client.client_id;
    if let Some(at) = route(&token).filter(|r| r.is_of(&client_id)) {
        app.call(&at.shard_name(), Revoke { hash: at.hash.clone(), client_id }).await?;
    }
    Ok(HttpResponse::new(200).no_store())
}
