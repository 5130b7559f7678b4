//! Scopes (RFC 6749 §3.3): space-separated, case-sensitive tokens of `%x21 / %x23-5B / %x5D-7E`.

use crate::error::OAuthError;

pub const MAX_SCOPE_LEN: usize = 128;
pub const MAX_SCOPES: usize = 64;

/// Is `s` one scope-token?
pub fn is_scope_token(s: &str) -> bool {
    !s.is_empty() && s.len() <= MAX_SCOPE_LEN && s.bytes().all(|b| b == 0x21 || (0x23..=0x5b).contains(&b) || (0x5d..=0x7e).contains(&b))
}

/// Parse a `scope` parameter into distinct tokens, in the order given. Runs of spaces are
/// tolerated; any other separator or character is an error.
pub fn parse_scope(raw: &str) -> Result<Vec<String>, String> {
    let mut out: Vec<String> = Vec::new();
    for tok in raw.split(' ').filter(|t| !t.is_empty()) {
        if !is_scope_token(tok) {
            return Err("scope contains an invalid scope token".into());
        }
        if !out.iter().any(|s| s == tok) {
            out.push(tok.to_string());
        }
        if out.len() > MAX_SCOPES {
            return Err("too many scopes".into());
        }
    }
    Ok(out)
}

/// The scopes to grant for a token request: the requested ones if each is allowed, or all the
/// client's scopes when none is requested (RFC 6749 §3.3 lets the server pick a default).
pub fn grant(requested: Option<&str>, allowed: &[String]) -> Result<Vec<String>, OAuthError> {
    let Some(raw) = requested else { return Ok(allowed.to_vec()) };
    let requested = parse_scope(raw).map_err(OAuthError::InvalidScope)?;
    if let Some(bad) = requested.iter().find(|s| !allowed.contains(s)) {
        let shown: String = bad.chars().take(40).collect();
        return Err(OAuthError::InvalidScope(format!("scope {shown} is not allowed for this client")));
    }
    Ok(requested)
}

/// A scope in words, for the consent page: the operator's description (`SCOPE_DESCRIPTIONS`),
/// else a description of a well-known scope, else the scope's own name in a sentence.
pub fn describe(scope: &str, configured: &[(String, String)]) -> String {
    if let Some((_, d)) = configured.iter().find(|(s, _)| s == scope) {
        return d.clone();
    }
    let known = match scope {
        "read" => "Read your data",
        "write" => "Create, change and delete your data",
        "profile" => "See your name and username",
        "email" => "See your email address",
        "offline_access" => "Keep access while you are away",
        "openid" => "Confirm who you are",
        // The Account API (the console's operations for scripts).
        "account" => "Manage your projects and API keys",
        _ => return format!("Use the \u{201c}{scope}\u{201d} permission"),
    };
    known.to_string()
}

/// Parse `SCOPE_DESCRIPTIONS`: a JSON object of scope → description. Anything else is ignored.
pub fn parse_descriptions(json: &str) -> Vec<(String, String)> {
    match crate::json::parse(json) {
        Ok(serde_json::Value::Object(m)) => m.into_iter().filter_map(|(k, v)| Some((k, v.as_str()?.to_string()))).collect(),
        _ => Vec::new(),
    }
}

/// Is every scope in `asked` among `granted`?
pub fn covers(granted: &[String], asked: &[String]) -> bool {
    asked.iter().all(|s| granted.contains(s))
}

/// Space-joined, as scopes travel on the wire.
pub fn join(scopes: &[String]) -> String {
    scopes.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &[&str]) -> Vec<String> {
        s.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn token_charset() {
        assert!(is_scope_token("read:users"));
        assert!(is_scope_token("a!#[]~"));
        assert!(!is_scope_token("a\"b"));
        assert!(!is_scope_token("a\\b"));
        assert!(!is_scope_token("é"));
        assert!(!is_scope_token(""));
        assert!(!is_scope_token(&"a".repeat(129)));
    }

    #[test]
    fn parse_dedups_and_rejects() {
        assert_eq!(parse_scope("a  b a").unwrap(), v(&["a", "b"]));
        assert!(parse_scope("a\tb").is_err());
        assert_eq!(parse_scope("").unwrap(), Vec::<String>::new());
    }

    #[test]
    fn descriptions() {
        let configured = parse_descriptions(r#"{"read":"See your photos","x":5}"#);
        assert_eq!(configured, vec![("read".to_string(), "See your photos".to_string())]);
        assert_eq!(describe("read", &configured), "See your photos");
        assert_eq!(describe("write", &configured), "Create, change and delete your data");
        assert_eq!(describe("billing:view", &[]), "Use the \u{201c}billing:view\u{201d} permission");
        assert_eq!(describe("account", &[]), "Manage your projects and API keys", "the contract names it so");
        assert!(parse_descriptions("[1]").is_empty() && parse_descriptions("nope").is_empty());
        assert!(covers(&v(&["a", "b"]), &v(&["b"])) && covers(&v(&["a"]), &[]) && !covers(&v(&["a"]), &v(&["a", "c"])));
    }

    #[test]
    fn grant_subset() {
        let allowed = v(&["read", "write"]);
        assert_eq!(grant(None, &allowed).unwrap(), allowed);
        assert_eq!(grant(Some("write"), &allowed).unwrap(), v(&["write"]));
        assert_eq!(grant(Some("admin"), &allowed).unwrap_err().code(), "invalid_scope");
        assert_eq!(grant(Some("read \"x"), &allowed).unwrap_err().code(), "invalid_scope");
    }
}
