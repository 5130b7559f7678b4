//! Where a token lives. An access token is `{client_id}.{256 random bits, base64url}`: the
//! client id is a routing hint (ids are public) and the 43 random characters are the secret.
//! Each client's tokens are spread over [`SHARDS`] Durable Objects `{client_id}/{n}`, `n`
//! taken from the token's SHA-256, so that no object sits on every token's path and a
//! client-wide change (delete, disable, rotate) reaches all of a client's tokens by visiting a
//! fixed, small set of objects.

use crate::secret::{random_string, AccessToken, Random, SecretHash, SECRET_BYTES};

pub const SHARDS: u8 = 8;

/// What stands for a client in its tokens and object names: the client id itself, except
/// for a metadata-document client, whose id is a URL (not allowed in a Bearer token, RFC 6750
/// §2.1): `m` and the base64url SHA-256 of the URL.
pub fn prefix(client_id: &str) -> std::borrow::Cow<'_, str> {
    if client_id.contains("://") {
        format!("m{}", SecretHash::of(client_id).as_str()).into()
    } else {
        client_id.into()
    }
}

/// The name of a shard object.
pub fn shard_name(client_id: &str, shard: u8) -> String {
    format!("{}/{shard}", prefix(client_id))
}

/// A new access token for `client_id`.
pub fn generate(client_id: &str, rng: &mut dyn Random) -> AccessToken {
    AccessToken::new(format!("{}.{}", prefix(client_id), random_string(rng, SECRET_BYTES)))
}

/// The shard that holds everything one person authorized one client to do: their codes,
/// families and tokens. One place per (client, user), so a kill is one call per client.
pub fn user_shard(user_id: &str) -> u8 {
    SecretHash::of(user_id).first_byte() % SHARDS
}

/// A new secret of the access-token shape whose route is `shard` of `client_id` (rejection
/// sampling: on average 8 draws; each draw is 256 random bits, of which the route fixes 3).
pub fn generate_in(client_id: &str, shard: u8, rng: &mut dyn Random) -> AccessToken {
    loop {
        let t = generate(client_id, rng);
        if t.hash().first_byte() % SHARDS == shard {
            return t;
        }
    }
}

/// Where a presented token would be stored, if it has our shape at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// The client's [`prefix`]: its id, unless that is a URL.
    pub prefix: String,
    pub shard: u8,
    pub hash: SecretHash,
}

impl Route {
    pub fn shard_name(&self) -> String {
        format!("{}/{}", self.prefix, self.shard)
    }

    /// Is this a token of `client_id`'s?
    pub fn is_of(&self, client_id: &str) -> bool {
        self.prefix == prefix(client_id)
    }
}

/// Is `s` of edge-oauth's access-token shape: `<client_id>.<43 base64url characters>`?
pub fn has_token_shape(s: &str) -> bool {
    let b64url = |s: &str| s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    match s.split_once('.') {
        Some((client_id, secret)) => !client_id.is_empty() && client_id.len() <= 64 && b64url(client_id) && secret.len() == 43 && b64url(secret),
        None => false,
    }
}

pub fn route(token: &AccessToken) -> Option<Route> {
    if !has_token_shape(token.expose()) {
        return None;
    }
    let (prefix, _) = token.expose().split_once('.')?;
    let hash = token.hash();
    Some(Route { prefix: prefix.to_string(), shard: hash.first_byte() % SHARDS, hash })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::SeqRng;

    #[test]
    fn token_shape_and_route() {
        let mut rng = SeqRng(7);
        let t = generate("cid", &mut rng);
        assert!(t.expose().starts_with("cid."));
        let r = route(&t).unwrap();
        assert_eq!(r.prefix, "cid");
        assert!(r.is_of("cid") && !r.is_of("cid2"));
        assert!(r.shard < SHARDS);
        assert_eq!(r.hash, t.hash());
        assert_eq!(r.shard_name(), format!("cid/{}", r.shard));
        let long_id = format!("{}.{}", "a".repeat(65), "A".repeat(43));
        for bad in ["nodot", ".x", "cid.short", "c d.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", &long_id] {
            assert!(route(&AccessToken::new(bad)).is_none(), "{bad}");
        }
        assert!(route(&AccessToken::new(format!("{}.{}", "a".repeat(64), "A".repeat(43)))).is_some());
    }

    #[test]
    fn a_url_client_id_is_routed_by_its_hash() {
        let url = "https://app.example.com/oauth/client.json";
        let p = prefix(url);
        assert_eq!(p.len(), 44);
        assert!(p.starts_with('m') && p != prefix("https://app.example.com/oauth/client2.json"));
        let mut rng = SeqRng(3);
        let t = generate(url, &mut rng);
        assert!(has_token_shape(t.expose()), "a Bearer-safe token: {}", t.expose());
        let r = route(&t).unwrap();
        assert!(r.is_of(url) && !r.is_of("cid"));
        assert_eq!(shard_name(url, r.shard), r.shard_name());
        assert_eq!(prefix("cid"), "cid", "other ids are their own prefix");
    }

    #[test]
    fn generated_in_a_chosen_shard() {
        let mut rng = SeqRng(5);
        for shard in 0..SHARDS {
            let t = generate_in("cid", shard, &mut rng);
            assert_eq!(route(&t).unwrap().shard, shard);
        }
        assert!(user_shard("someone") < SHARDS);
        assert_eq!(user_shard("someone"), user_shard("someone"));
    }

    #[test]
    fn shards_spread() {
        let mut rng = SeqRng(0);
        let mut seen = [0u32; SHARDS as usize];
        for _ in 0..800 {
            seen[route(&generate("c", &mut rng)).unwrap().shard as usize] += 1;
        }
        assert!(seen.iter().all(|&n| n > 50), "{seen:?}");
        // People too: one client's people are spread over its shards.
        let mut seen = [0u32; SHARDS as usize];
        for i in 0..800 {
            seen[user_shard(&format!("user-{i}")) as usize] += 1;
        }
        assert!(seen.iter().all(|&n| n > 50), "{seen:?}");
    }
}
