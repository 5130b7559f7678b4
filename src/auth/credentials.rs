//! The credentials a request carries: HTTP Basic client authentication (RFC 6749 §2.3.1,
//! RFC 7617), `client_secret_post`, and Bearer tokens (RFC 6750 §2.1).

use crate::error::OAuthError;
use crate::form::{decode_component, Params};
use crate::http::MAX_AUTHORIZATION;
use crate::secret::{AccessToken, ClientSecret};
use crate::shard::route::has_token_shape;
use base64::alphabet::STANDARD;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine as _;

/// Standard base64 (RFC 4648 §4) for Basic credentials, padded or not: some clients drop the
/// padding. Strict otherwise: no other alphabet, no non-zero trailing bits.
const BASIC: GeneralPurpose = GeneralPurpose::new(&STANDARD, GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent));

/// A parsed `Authorization` header.
#[derive(Debug, PartialEq, Eq)]
pub enum Authorization {
    Basic {
        client_id: String,
        secret: ClientSecret,
    },
    Bearer(AccessToken),
    /// A scheme we do not speak (the name is kept for nothing but tests).
    Other(String),
}

/// Parse an `Authorization` header. The scheme is case-insensitive (RFC 7235 §2.1).
/// `Ok(None)` when there is no header.
pub fn parse_authorization(value: Option<&str>) -> Result<Option<Authorization>, OAuthError> {
    let Some(value) = value else { return Ok(None) };
    if value.len() > MAX_AUTHORIZATION {
        return Err(OAuthError::invalid_request("Authorization header too long"));
    }
    let value = value.trim_matches(|c| c == ' ' || c == '\t');
    let (scheme, rest) = match value.find([' ', '\t']) {
        Some(i) => (&value[..i], value[i..].trim_start_matches([' ', '\t'])),
        None => (value, ""),
    };
    if scheme.eq_ignore_ascii_case("basic") {
        parse_basic(rest).map(Some)
    } else if scheme.eq_ignore_ascii_case("bearer") {
        parse_bearer(rest).map(Some)
    } else if scheme.is_empty() {
        Err(OAuthError::invalid_request("empty Authorization header"))
    } else if rest.is_empty() {
        // Seed 004 sends `Authorization: <token>` with no scheme: a value of our access-token
        // shape, alone, is a bearer token; any other lone value is malformed
        // (docs/http.md#bare-tokens), not a scheme we merely do not speak.
        if has_token_shape(scheme) {
            Ok(Some(Authorization::Bearer(AccessToken::new(scheme))))
        } else {
            Err(OAuthError::invalid_request("malformed Authorization header: a value without a scheme must be an access token"))
        }
    } else {
        Ok(Some(Authorization::Other(scheme.to_string())))
    }
}

fn parse_basic(b64: &str) -> Result<Authorization, OAuthError> {
    let malformed = |why: &str| OAuthError::invalid_request(format!("malformed Basic credentials: {why}"));
    if b64.is_empty() {
        return Err(malformed("empty"));
    }
    let raw = BASIC.decode(b64).map_err(|_| malformed("not base64"))?;
    let colon = raw.iter().position(|&b| b == b':').ok_or_else(|| malformed("no ':'"))?;
    // RFC 6749 §2.3.1: id and secret are form-urlencoded before they are joined with ':'.
    let client_id = decode_component(&raw[..colon]).map_err(&malformed)?;
    let secret = decode_component(&raw[colon + 1..]).map_err(&malformed)?;
    if client_id.is_empty() {
        return Err(malformed("empty client id"));
    }
    Ok(Authorization::Basic { client_id, secret: ClientSecret::new(secret) })
}

/// RFC 6750 §2.1: `b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`.
fn parse_bearer(token: &str) -> Result<Authorization, OAuthError> {
    let body = token.trim_end_matches('=');
    let ok = !body.is_empty() && body.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~+/".contains(&b));
    if !ok {
        return Err(OAuthError::invalid_request("malformed Bearer token"));
    }
    Ok(Authorization::Bearer(AccessToken::new(token)))
}

/// How a client authenticated at a token-style endpoint.
#[derive(Debug, PartialEq, Eq)]
pub struct ClientCredentials {
    pub client_id: String,
    /// `None`: a `client_id` in the body and nothing else, as a public client authenticates
    /// (`token_endpoint_auth_method` `none`).
    pub secret: Option<ClientSecret>,
    /// True for `client_secret_basic`: failures then carry a Basic challenge (RFC 6749 §5.2).
    pub via_header: bool,
}

/// Find the client's credentials in the header or the body, refusing more than one method
/// (RFC 6749 §2.3: "MUST NOT use more than one authentication method in each request").
pub fn client_credentials(authorization: Option<&str>, body: &Params) -> Result<ClientCredentials, OAuthError> {
    let body_id = body.single("client_id")?;
    let body_secret = body.single("client_secret")?;
    match parse_authorization(authorization)? {
        Some(Authorization::Basic { client_id, secret }) => {
            if body.contains("client_secret") {
                return Err(OAuthError::invalid_request("use one client authentication method: Basic header or client_secret in the body, not both"));
            }
            // A client_id in the body beside Basic is tolerated (some libraries send it), but
            // it must name the same client.
            if body_id.is_some_and(|id| id != client_id) {
                return Err(OAuthError::invalid_request("client_id in the body differs from the Basic credentials"));
            }
            Ok(ClientCredentials { client_id, secret: Some(secret), via_header: true })
        }
        // Any other scheme on a token endpoint is a failed client authentication through the
        // header: 401 with the Basic challenge (RFC 6749 §5.2).
        Some(_) => Err(OAuthError::InvalidClient { challenge: true }),
        None => match (body_id, body_secret) {
            (Some(id), secret) => Ok(ClientCredentials { client_id: id.to_string(), secret: secret.map(ClientSecret::new), via_header: false }),
            // No authentication at all: challenge with the scheme we prefer.
            (None, None) => Err(OAuthError::InvalidClient { challenge: true }),
            (None, Some(_)) => Err(OAuthError::InvalidClient { challenge: false }),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::STANDARD;
    use base64::Engine;

    fn basic(s: &str) -> String {
        format!("Basic {}", STANDARD.encode(s))
    }

    #[test]
    fn basic_parses_and_decodes_form_encoding() {
        let a = parse_authorization(Some(&basic("my%3Aid:p+w%2B"))).unwrap().unwrap();
        assert_eq!(a, Authorization::Basic { client_id: "my:id".into(), secret: ClientSecret::new("p w+") });
        // Lower-case scheme is the same scheme (RFC 7235 §2.1); padding is optional.
        let a = parse_authorization(Some("basic YTpi")).unwrap().unwrap();
        assert!(matches!(a, Authorization::Basic { .. }));
        let a = parse_authorization(Some("Basic YTpiYw")).unwrap().unwrap();
        assert_eq!(a, Authorization::Basic { client_id: "a".into(), secret: ClientSecret::new("bc") });
        // The secret may contain ':'; only the first one splits.
        let a = parse_authorization(Some(&basic("id:a:b"))).unwrap().unwrap();
        assert_eq!(a, Authorization::Basic { client_id: "id".into(), secret: ClientSecret::new("a:b") });
    }

    #[test]
    fn basic_malformed() {
        for bad in [
            "Basic".to_string(),
            "Basic !!!".to_string(),
            basic("no-colon"),
            basic(":secret"),
            basic("id%zz:secret"),
            format!("Basic {}", STANDARD.encode(b"id:\xff\xfe")),
            "Basic".to_string() + &" ".repeat(10),
            "   ".to_string(),
            format!("Basic {}", "A".repeat(5000)),
        ] {
            let e = parse_authorization(Some(&bad)).unwrap_err();
            assert_eq!(e.code(), "invalid_request", "{bad:?}");
        }
    }

    #[test]
    fn bearer_syntax() {
        assert!(matches!(parse_authorization(Some("Bearer abc.DEF-_~+/==")), Ok(Some(Authorization::Bearer(_)))));
        assert!(matches!(parse_authorization(Some("bearer abc")), Ok(Some(Authorization::Bearer(_)))));
        for bad in ["Bearer", "Bearer ", "Bearer a b", "Bearer ===", "Bearer a=b", "Bearer é"] {
            assert_eq!(parse_authorization(Some(bad)).unwrap_err().code(), "invalid_request", "{bad:?}");
        }
        assert!(matches!(parse_authorization(Some("Digest x")), Ok(Some(Authorization::Other(_)))));
    }

    #[test]
    fn bare_tokens_of_our_shape() {
        let t = format!("cid.{}", "A".repeat(43));
        assert_eq!(parse_authorization(Some(&t)).unwrap(), Some(Authorization::Bearer(AccessToken::new(t.clone()))));
        assert_eq!(parse_authorization(Some(&format!("  {t} "))).unwrap(), Some(Authorization::Bearer(AccessToken::new(t.clone()))));
        // Anything else without a scheme is not a token.
        for other in [format!("cid.{}", "A".repeat(42)), "cid".to_string(), format!("{t}x"), format!("{t} extra")] {
            assert!(!matches!(parse_authorization(Some(&other)), Ok(Some(Authorization::Bearer(_)))), "{other}");
        }
    }

    #[test]
    fn one_method_only() {
        let p = Params::parse(b"client_id=a&client_secret=b").unwrap();
        let e = client_credentials(Some(&basic("a:b")), &p).unwrap_err();
        assert_eq!(e.code(), "invalid_request");
        let p = Params::parse(b"client_id=other").unwrap();
        assert_eq!(client_credentials(Some(&basic("a:b")), &p).unwrap_err().code(), "invalid_request");
        let p = Params::parse(b"client_id=a").unwrap();
        assert!(client_credentials(Some(&basic("a:b")), &p).unwrap().via_header);
    }

    #[test]
    fn post_and_missing() {
        let p = Params::parse(b"client_id=a&client_secret=b").unwrap();
        let c = client_credentials(None, &p).unwrap();
        assert_eq!((c.client_id.as_str(), c.via_header, c.secret), ("a", false, Some(ClientSecret::new("b"))));
        assert_eq!(client_credentials(None, &Params::default()).unwrap_err(), OAuthError::InvalidClient { challenge: true });
        let p = Params::parse(b"client_id=a").unwrap();
        let public = client_credentials(None, &p).unwrap();
        assert_eq!((public.client_id.as_str(), public.secret, public.via_header), ("a", None, false));
        let p = Params::parse(b"client_secret=b").unwrap();
        assert_eq!(client_credentials(None, &p).unwrap_err(), OAuthError::InvalidClient { challenge: false });
        assert_eq!(client_credentials(Some("Bearer x"), &Params::default()).unwrap_err(), OAuthError::InvalidClient { challenge: true });
    }
}
