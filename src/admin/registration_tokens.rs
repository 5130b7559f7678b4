//! `/admin/registration-tokens`: initial access tokens for `POST /register` when
//! `REGISTRATION=token` (RFC 7591 §3). A token's value is shown once, in the `201`; the object
//! that counts its uses keeps only its SHA-256 ([`crate::shard::registration`]). Timestamps
//! are milliseconds since the epoch, like every `created_at` of the admin API.

use super::{authorize, body, segments};
use crate::app::{App, Cx};
use crate::client::settings::json_object;
use crate::endpoints::Outcome;
use crate::error::OAuthError;
use crate::http::{HttpRequest, HttpResponse};
use crate::secret::{generate_client_id, random_string, InitialAccessToken, SECRET_BYTES};
use crate::shard::registration::{CreateToken, DeleteToken, ListTokens, RegistrationToken, OBJECT};
use crate::store::Platform;
use serde_json::{json, Value};

pub const PATH: &str = "/admin/registration-tokens";

pub const DEFAULT_EXPIRES_IN: u64 = 86_400;
pub const MIN_EXPIRES_IN: u64 = 60;
pub const MAX_EXPIRES_IN: u64 = 31_536_000;
pub const DEFAULT_MAX_USES: u64 = 1;
pub const MAX_MAX_USES: u64 = 1_000;

pub async fn handle<P: Platform>(app: &App<P>, req: &HttpRequest, cx: &mut Cx<'_>) -> Outcome {
    authorize(app, req)?;
    match (req.method.as_str(), segments(req, PATH).as_slice()) {
        ("GET", []) => {
            let tokens = crate::store::oldest_first(app.call(OBJECT, ListTokens {}).await?, |t| (t.created_ms, &t.id));
            let tokens: Vec<Value> = tokens.iter().map(view).collect();
            Ok(HttpResponse::json(200, &json!({ "registration_tokens": tokens })).no_store())
        }
        ("POST", []) => create(app, body(req)?, cx).await,
        (_, []) => Err(OAuthError::MethodNotAllowed("GET, POST")),
        ("DELETE", [id]) => match app.call(OBJECT, DeleteToken { id: id.to_string() }).await? {
            true => Ok(HttpResponse::new(204)),
            false => Err(OAuthError::NotFound),
        },
        (_, [_]) => Err(OAuthError::MethodNotAllowed("DELETE")),
        _ => Err(OAuthError::NotFound),
    }
}

/// What the admin sees of a token: never its value or its hash.
pub fn view(t: &RegistrationToken) -> Value {
    json!({ "id": t.id, "created_at": t.created_ms, "expires_at": t.expires_ms, "max_uses": t.max_uses, "uses": t.uses })
}

/// `{"expires_in": 60–31536000 (default 86400), "max_uses": 1–1000 (default 1)}`; the body is
/// optional.
pub fn parse_new(body: &[u8]) -> Result<(u64, u32), OAuthError> {
    let obj = json_object(body, true)?;
    if let Some(k) = obj.keys().find(|k| *k != "expires_in" && *k != "max_uses") {
        let short: String = k.chars().filter(|c| !c.is_control()).take(40).collect();
        return Err(OAuthError::field(k, format!("unknown field \"{short}\"")));
    }
    let int_in = |field: &str, default: u64, min: u64, max: u64| match obj.get(field) {
        None => Ok(default),
        Some(v) => {
            v.as_u64().filter(|n| (min..=max).contains(n)).ok_or_else(|| OAuthError::field(field, format!("{field} must be an integer from {min} to {max}")))
        }
    };
    let expires_in = int_in("expires_in", DEFAULT_EXPIRES_IN, MIN_EXPIRES_IN, MAX_EXPIRES_IN)?;
    let max_uses = int_in("max_uses", DEFAULT_MAX_USES, 1, MAX_MAX_USES)? as u32;
    Ok((expires_in, max_uses))
}

async fn create<P: Platform>(app: &App<P>, body: &[u8], cx: &mut Cx<'_>) -> Outcome {
    let (expires_in, max_uses) = parse_new(body)?;
    let token = InitialAccessToken::new(random_string(cx.rng, SECRET_BYTES));
    let record = RegistrationToken { id: generate_client_id(cx.rng), created_ms: cx.now_ms, expires_ms: cx.now_ms + expires_in * 1000, max_uses, uses: 0 };
    if !app.call(OBJECT, CreateToken { hash: token.hash(), record: record.clone() }).await? {
        return Err(OAuthError::ServerError("an initial access token collided".into()));
    }
    let mut v = view(&record);
    v["token"] = json!(token.expose());
    Ok(HttpResponse::json(201, &v).no_store())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_token_fields() {
        assert_eq!(parse_new(b"").unwrap(), (86_400, 1));
        assert_eq!(parse_new(b"{}").unwrap(), (86_400, 1));
        assert_eq!(parse_new(br#"{"expires_in":60,"max_uses":1000}"#).unwrap(), (60, 1000));
        assert_eq!(parse_new(br#"{"expires_in":31536000}"#).unwrap(), (31_536_000, 1));
        let field_of = |b: &[u8]| match parse_new(b).unwrap_err() {
            OAuthError::InvalidField { field, .. } => field,
            e => panic!("{e:?}"),
        };
        for (body, field) in [
            (&br#"{"expires_in":59}"#[..], "expires_in"),
            (br#"{"expires_in":31536001}"#, "expires_in"),
            (br#"{"expires_in":"60"}"#, "expires_in"),
            (br#"{"expires_in":60.5}"#, "expires_in"),
            (br#"{"max_uses":0}"#, "max_uses"),
            (br#"{"max_uses":1001}"#, "max_uses"),
            (br#"{"max_uses":-1}"#, "max_uses"),
            (br#"{"uses":3}"#, "uses"),
            (b"[]", "body"),
            (b"{", "body"),
        ] {
            assert_eq!(field_of(body), field, "{}", String::from_utf8_lossy(body));
        }
    }

    #[test]
    fn the_view_has_no_secret() {
        let t = RegistrationToken { id: "i".into(), created_ms: 1, expires_ms: 2, max_uses: 3, uses: 1 };
        assert_eq!(view(&t), json!({"id": "i", "created_at": 1, "expires_at": 2, "max_uses": 3, "uses": 1}));
    }
}
