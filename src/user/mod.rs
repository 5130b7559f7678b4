//! People who sign in: the user record (kept by the user's own Durable Object, `id:{user_id}`
//! of `USERS`), its admin view, and the admin API's JSON rules for it. Usernames are unique
//! case-insensitively through a claim object per lower-cased name (`name:{username}`), the
//! compare-and-set KV cannot do. A copy of each view sits in KV (`user:{user_id}`) for listing.

pub mod lifecycle;
pub mod store;

use crate::auth::password::{self, Password, PasswordHash};
use crate::client::settings::json_object;
use crate::error::OAuthError;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

pub const MAX_USERNAME: usize = 64;
pub const MAX_NAME: usize = 200;

/// A user, as its object stores it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub user_id: String,
    /// As created; unique case-insensitively.
    pub username: String,
    pub name: String,
    pub created_at: u64,
    pub updated_at: u64,
    pub disabled: bool,
    pub password: PasswordHash,
    /// Raised by every kill (disable, delete, a revoked grant). Tokens, codes and approvals
    /// carry the epoch they were made in; a shard that heard of a kill refuses older ones.
    pub epoch: u32,
    /// Every client ever given tokens for this user: where a kill must reach.
    pub clients: Vec<String>,
    /// Deleted, with the kill not yet confirmed everywhere (a retried DELETE finishes it).
    #[serde(default)]
    pub deleted: bool,
}

impl User {
    /// The admin API's view: never the password or its hash.
    pub fn view(&self) -> Value {
        json!({
            "user_id": self.user_id,
            "username": self.username,
            "name": self.name,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "disabled": self.disabled,
        })
    }
}

/// The object that holds a user.
pub fn object_name(user_id: &str) -> String {
    format!("id:{user_id}")
}

/// The object that claims a username (lower-cased).
pub fn name_object(username: &str) -> String {
    format!("name:{}", username.to_ascii_lowercase())
}

/// 1–64 of `A-Z a-z 0-9 . _ @ -`.
pub fn valid_username(u: &str) -> bool {
    (1..=MAX_USERNAME).contains(&u.len()) && u.bytes().all(|b| b.is_ascii_alphanumeric() || b"._@-".contains(&b))
}

/// `POST /admin/users`.
#[derive(Debug)]
pub struct NewUser {
    pub username: String,
    pub password: Password,
    pub name: String,
}

/// `PATCH /admin/users/{id}`: what to change.
#[derive(Debug, Default)]
pub struct UserPatch {
    pub password: Option<Password>,
    pub name: Option<String>,
    pub disabled: Option<bool>,
}

fn text<'a>(v: &'a Value, field: &str) -> Result<&'a str, OAuthError> {
    v.as_str().ok_or_else(|| OAuthError::field(field, format!("{field} must be a string")))
}

fn password(v: &Value) -> Result<Password, OAuthError> {
    let p = text(v, "password")?;
    if !password::acceptable(p) {
        return Err(OAuthError::field("password", format!("password must have {} to {} characters", password::MIN_LEN, password::MAX_LEN)));
    }
    Ok(Password::new(p))
}

fn name(v: &Value) -> Result<String, OAuthError> {
    let n = text(v, "name")?.trim();
    if n.chars().count() > MAX_NAME || n.chars().any(char::is_control) {
        return Err(OAuthError::field("name", format!("name must be at most {MAX_NAME} characters, without control characters")));
    }
    Ok(n.to_string())
}

pub fn parse_new(body: &[u8]) -> Result<NewUser, OAuthError> {
    let obj = json_object(body, false)?;
    if let Some(k) = obj.keys().find(|k| !["username", "password", "name"].contains(&k.as_str())) {
        return Err(OAuthError::field(k, "unknown field"));
    }
    let username = match obj.get("username") {
        None => return Err(OAuthError::field("username", "username is required")),
        Some(v) => text(v, "username")?,
    };
    if !valid_username(username) {
        return Err(OAuthError::field("username", "username must be 1 to 64 of A-Z a-z 0-9 . _ @ -"));
    }
    let password = match obj.get("password") {
        None => return Err(OAuthError::field("password", "password is required")),
        Some(v) => password(v)?,
    };
    let name = obj.get("name").map(name).transpose()?.unwrap_or_default();
    Ok(NewUser { username: username.to_string(), password, name })
}

pub fn parse_patch(body: &[u8]) -> Result<UserPatch, OAuthError> {
    let obj = json_object(body, false)?;
    let mut patch = UserPatch::default();
    for (k, v) in &obj {
        match k.as_str() {
            "password" => patch.password = Some(password(v)?),
            "name" => patch.name = Some(name(v)?),
            "disabled" => patch.disabled = Some(v.as_bool().ok_or_else(|| OAuthError::field("disabled", "disabled must be true or false"))?),
            "username" | "user_id" => return Err(OAuthError::field(k, format!("{k} cannot be changed"))),
            other => return Err(OAuthError::field(other, "unknown field")),
        }
    }
    Ok(patch)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames() {
        for ok in ["a", "Alice", "alice.smith_2@example.com", "x-y", &"a".repeat(64)] {
            assert!(valid_username(ok), "{ok}");
        }
        for bad in ["", "a b", "ali:ce", "é", "a/b", "a+b", &"a".repeat(65), "<script>"] {
            assert!(!valid_username(bad), "{bad}");
        }
        assert_eq!(name_object("Alice"), name_object("aLICE"));
    }

    #[test]
    fn create_rules() {
        let u = parse_new(br#"{"username":"Alice","password":"correct horse","name":" Alice A. "}"#).unwrap();
        assert_eq!((u.username.as_str(), u.name.as_str()), ("Alice", "Alice A."));
        assert_eq!(parse_new(br#"{"username":"bob","password":"12345678"}"#).unwrap().name, "");
        let cases: &[(&[u8], &str)] = &[
            (b"{", "body"),
            (br#"{"password":"12345678"}"#, "username"),
            (br#"{"username":"a b","password":"12345678"}"#, "username"),
            (br#"{"username":5,"password":"12345678"}"#, "username"),
            (br#"{"username":"bob"}"#, "password"),
            (br#"{"username":"bob","password":"short"}"#, "password"),
            (br#"{"username":"bob","password":12345678}"#, "password"),
            (br#"{"username":"bob","password":"12345678","name":7}"#, "name"),
            (br#"{"username":"bob","password":"12345678","role":"admin"}"#, "role"),
        ];
        for (body, field) in cases {
            assert_eq!(crate::error::field_of(parse_new(body).unwrap_err()), *field, "{}", String::from_utf8_lossy(body));
        }
    }

    #[test]
    fn patch_rules() {
        let p = parse_patch(br#"{"disabled":true,"name":"B","password":"another one"}"#).unwrap();
        assert_eq!((p.disabled, p.name.as_deref(), p.password.is_some()), (Some(true), Some("B"), true));
        for (body, field) in [
            (&br#"{"username":"x"}"#[..], "username"),
            (br#"{"disabled":"yes"}"#, "disabled"),
            (br#"{"password":"short"}"#, "password"),
            (br#"{"colour":1}"#, "colour"),
        ] {
            assert_eq!(crate::error::field_of(parse_patch(body).unwrap_err()), field);
        }
    }
}
