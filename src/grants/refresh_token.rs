//! The refresh token grant at `/token` (RFC 6749 §6), decided in the family's shard
//! ([`crate::shard::refresh`]): rotation, a 30 s retry window, reuse detection.
//!
//! The retry window must hand out the successor again, yet refresh tokens are stored only as
//! hashes. So the successor is kept *sealed under its predecessor*: its 256 secret bits XOR
//! SHA-256("edge-oauth retry window\0" ‖ predecessor), a pad that differs from the stored hash
//! of the predecessor (plain SHA-256) by the domain prefix. Only a holder of the predecessor can
//! open it, so storage alone reveals nothing usable. The sealed successor is replaced at the
//! next rotation and dies with the family.

use super::TokenResponse;
use crate::alerts::EventType;
use crate::app::{App, Cx};
use crate::auth::client_auth::Authenticated;
use crate::error::OAuthError;
use crate::form::Params;
use crate::http::HttpRequest;
use crate::notify;
use crate::scope::parse_scope;
use crate::secret::{AccessToken, RefreshToken};
use crate::shard::refresh::{Refresh, Refreshed};
use crate::shard::route::{generate_in, route};
use crate::shard::tokens::TokenRecord;
use crate::store::Platform;
use base64::prelude::{Engine as _, BASE64_URL_SAFE_NO_PAD as B64URL};
use serde_json::json;
use sha2::{Digest, Sha256};

fn pad(key: &RefreshToken) -> [u8; 32] {
    Sha256::new().chain_update(b"edge-oauth retry window\0").chain_update(key.expose()).finalize().into()
}

/// The secret part of `successor`, sealed under `key`.
pub fn seal(key: &RefreshToken, successor: &RefreshToken) -> String {
    let secret = successor.expose().split_once('.').map_or("", |(_, s)| s);
    let bytes = B64URL.decode(secret).unwrap_or_default();
    let sealed: Vec<u8> = bytes.iter().zip(pad(key)).map(|(a, b)| a ^ b).collect();
    B64URL.encode(sealed)
}

/// Open a sealed successor with the token it was sealed under.
pub fn unseal(key: &RefreshToken, sealed: &str, client_id: &str) -> Option<RefreshToken> {
    let bytes = B64URL.decode(sealed).ok().filter(|b| b.len() == 32)?;
    let secret: Vec<u8> = bytes.iter().zip(pad(key)).map(|(a, b)| a ^ b).collect();
    // The token's prefix, not the id: a metadata-document client's id is a URL.
    Some(RefreshToken::new(format!("{}.{}", crate::shard::route::prefix(client_id), B64URL.encode(secret))))
}

pub async fn grant<P: Platform>(
    app: &App<P>,
    req: &HttpRequest,
    params: &Params,
    auth: &Authenticated,
    via_header: bool,
    cx: &mut Cx<'_>,
) -> Result<TokenResponse, OAuthError> {
    let presented = RefreshToken::new(params.required("refresh_token")?);
    let scope = params.single("scope")?.map(|raw| parse_scope(raw).map_err(OAuthError::InvalidScope)).transpose()?;
    let invalid = || OAuthError::InvalidGrant("the refresh token is invalid, expired, revoked, or was issued to another client".into());
    let client = &auth.client;
    let at = route(&AccessToken::new(presented.expose())).filter(|r| r.is_of(&client.client_id)).ok_or_else(invalid)?;
    let successor = RefreshToken::new(generate_in(&client.client_id, at.shard, cx.rng).expose());
    let access_token = generate_in(&client.client_id, at.shard, cx.rng);
    let op = Refresh {
        hash: presented.hash(),
        client_id: client.client_id.clone(),
        generation: auth.generation,
        scope,
        successor: successor.hash(),
        sealed_successor: seal(&presented, &successor),
        access: access_token.hash(),
        template: TokenRecord::new(client, auth.generation, Vec::new(), req.client_ip.as_deref(), cx.now_ms),
        resources: super::req_resources(params),
    };
    let (scope, expires_at_ms, refresh_token) = match app.call(&at.shard_name(), op).await? {
        Refreshed::Rotated { scope, expires_at_ms } => (scope, expires_at_ms, successor),
        Refreshed::Retried { scope, expires_at_ms, sealed_successor } => {
            let same =
                unseal(&presented, &sealed_successor, &client.client_id).ok_or_else(|| OAuthError::ServerError("a sealed successor did not open".into()))?;
            (scope, expires_at_ms, same)
        }
        Refreshed::InvalidGrant => return Err(invalid()),
        Refreshed::Reused => {
            // Someone else holds a token of this grant: the family is dead; the client hears
            // only `invalid_grant`, the project's webhook (and the operator's) hear why.
            let ip = req.client_ip.as_deref();
            notify::event(app, &client.client_id, EventType::RefreshReuseDetected, json!({ "ip": ip }), cx.now_ms).await;
            return Err(invalid());
        }
        Refreshed::InvalidScope => return Err(OAuthError::InvalidScope("a refresh may narrow the scope of the grant, never widen it".into())),
        Refreshed::ClientGone => return Err(OAuthError::InvalidClient { challenge: via_header }),
        Refreshed::InvalidTarget => return Err(super::not_authorized_resource()),
    };
    Ok(TokenResponse::new(access_token, Some(refresh_token), scope, expires_at_ms, cx.now_ms))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::SeqRng;

    #[test]
    fn sealed_successors_open_only_with_their_predecessor() {
        let mut rng = SeqRng(11);
        let old = RefreshToken::new(generate_in("cid", 3, &mut rng).expose());
        let new = RefreshToken::new(generate_in("cid", 3, &mut rng).expose());
        let sealed = seal(&old, &new);
        assert_eq!(sealed.len(), 43);
        assert!(!new.expose().contains(&sealed) && !sealed.contains(new.expose().split_once('.').unwrap().1));
        assert_eq!(unseal(&old, &sealed, "cid"), Some(new.clone()));
        assert_ne!(unseal(&new, &sealed, "cid"), Some(new.clone()), "another key opens it to garbage");
        assert_eq!(unseal(&old, "short", "cid"), None);
        let url = "https://app.example.com/client.json";
        let (old, new) = (RefreshToken::new(generate_in(url, 1, &mut rng).expose()), RefreshToken::new(generate_in(url, 1, &mut rng).expose()));
        assert_eq!(unseal(&old, &seal(&old, &new), url), Some(new), "a URL id opens to its Bearer-safe prefix");
    }
}
