//! JWT checks, as tables, against RFC 7515's published signatures and RFC 6979 signatures made
//! here with A.3's key.

use super::*;
use crate::block_on;
use crate::testing::{sign_es256, NativeCrypto, ES256_X, ES256_Y};
use serde_json::json;

fn ec_key(kid: &str) -> Jwk {
    Jwk { kid: Some(kid.into()), alg: None, key: PublicKey::Ec { crv: "P-256".into(), x: ES256_X.into(), y: ES256_Y.into() } }
}

fn rsa_key(kid: &str) -> Jwk {
    Jwk { kid: Some(kid.into()), alg: None, key: PublicKey::Rsa { n: "AQAB".into(), e: "AQAB".into() } }
}

fn b64j(v: &Value) -> String {
    use base64::prelude::{Engine as _, BASE64_URL_SAFE_NO_PAD};
    BASE64_URL_SAFE_NO_PAD.encode(v.to_string())
}

#[test]
fn parse_refuses_bad_shapes_and_algorithms() {
    let claims = b64j(&json!({"sub": "x"}));
    let with = |header: Value| format!("{}.{claims}.c2ln", b64j(&header));
    assert!(matches!(parse(&with(json!({"alg": "ES256", "kid": "k"}))), Ok(p) if p.alg == SigAlg::Es256 && p.kid.as_deref() == Some("k")));
    assert!(matches!(parse(&with(json!({"alg": "RS256"}))), Ok(p) if p.alg == SigAlg::Rs256 && p.kid.is_none()));
    for alg in ["none", "HS256", "RS384", "ES384", "PS256", "EdDSA", "rs256", ""] {
        assert_eq!(parse(&with(json!({"alg": alg}))).unwrap_err(), JwtError::Algorithm, "{alg}");
    }
    // RFC 7515 §4.1.11: `crit` lists extensions the verifier must understand; we understand
    // none, so `crit` in any form (even `null` or the forbidden empty list) is refused.
    for crit in [json!(["exp"]), json!([]), Value::Null, json!("x"), json!({}), json!(false)] {
        assert_eq!(parse(&with(json!({"alg": "ES256", "crit": crit}))).unwrap_err(), JwtError::Malformed("crit"), "crit: {crit}");
    }
    for bad in ["a.b", "a.b.c.d", "", "..", "!!!.e30.e30", &format!("{}.{claims}.sig", b64j(&json!([1])))] {
        assert!(matches!(parse(bad), Err(JwtError::Malformed(_))), "{bad}");
    }
    let not_object = format!("{}.{}.c2ln", b64j(&json!({"alg": "ES256"})), b64j(&json!("str")));
    assert!(matches!(parse(&not_object), Err(JwtError::Malformed(_))));
    let huge = format!("{}.{}.c2ln", b64j(&json!({"alg": "ES256"})), "A".repeat(MAX_JWT));
    assert_eq!(parse(&huge).unwrap_err(), JwtError::Malformed("too long"), "refused before parsing");
    // 8 KiB exactly is not too long (it fails later, here as a part that is not base64url); a
    // byte more is.
    let sized = |n: usize| {
        let head = format!("{}.", b64j(&json!({"alg": "ES256"})));
        format!("{head}{}.c2ln", "A".repeat(n - head.len() - 5))
    };
    assert_eq!(sized(8192).len(), 8192);
    assert_ne!(parse(&sized(8192)).unwrap_err(), JwtError::Malformed("too long"));
    assert_eq!(parse(&sized(8193)).unwrap_err(), JwtError::Malformed("too long"));
}

#[test]
fn the_key_decides() {
    let es = parse(&sign_es256(&json!({"alg": "ES256", "kid": "e"}), &json!({}))).unwrap();
    let keys = vec![rsa_key("r"), ec_key("e"), rsa_key("e2")];
    assert!(select(&es, &keys).is_some());
    // A kid that names a key of another type is no key for this token.
    let confused = parse(&sign_es256(&json!({"alg": "ES256", "kid": "r"}), &json!({}))).unwrap();
    assert_eq!(select(&confused, &keys), None);
    let unknown = parse(&sign_es256(&json!({"alg": "ES256", "kid": "nope"}), &json!({}))).unwrap();
    assert_eq!(select(&unknown, &keys), None);
    // No kid: only when exactly one key fits.
    let bare = parse(&sign_es256(&json!({"alg": "ES256"}), &json!({}))).unwrap();
    assert!(select(&bare, &keys).is_some());
    assert_eq!(select(&bare, &[ec_key("a"), ec_key("b")]), None);
    // A key that names its algorithm serves only that one.
    let pinned = Jwk { alg: Some("RS256".into()), ..ec_key("e") };
    assert_eq!(select(&es, &[pinned]), None);
    assert!(select(&es, &[Jwk { alg: Some("ES256".into()), ..ec_key("e") }]).is_some());
    let rs = parse(&format!("eyJhbGciOiJSUzI1NiJ9.{}.c2ln", b64j(&json!({})))).unwrap();
    assert!(select(&rs, &[Jwk { alg: Some("RS256".into()), ..rsa_key("r") }]).is_some());
    assert_eq!(select(&rs, &[Jwk { alg: Some("ES256".into()), ..rsa_key("r") }]), None);
}

#[test]
fn signatures_rfc_7515_and_rfc_6979() {
    let a3 = format!("eyJhbGciOiJFUzI1NiJ9.{}.{}", crate::testing::tests::PAYLOAD, crate::testing::tests::A3_SIG);
    let t = parse(&a3).unwrap();
    assert_eq!(block_on(verify_signature(&NativeCrypto, &t, &ec_key("k").key)), Ok(()));
    let a2 = format!("eyJhbGciOiJSUzI1NiJ9.{}.{}", crate::testing::tests::PAYLOAD, crate::testing::tests::A2_SIG);
    let t = parse(&a2).unwrap();
    let rsa = PublicKey::Rsa { n: crate::testing::tests::A2_N.into(), e: "AQAB".into() };
    assert_eq!(block_on(verify_signature(&NativeCrypto, &t, &rsa)), Ok(()));
    // Another payload under the same signature fails.
    let tampered = format!("eyJhbGciOiJSUzI1NiJ9.{}.{}", b64j(&json!({"iss": "joe"})), crate::testing::tests::A2_SIG);
    assert_eq!(block_on(verify_signature(&NativeCrypto, &parse(&tampered).unwrap(), &rsa)), Err(JwtError::BadSignature));
    let mine = sign_es256(&json!({"alg": "ES256"}), &json!({"sub": "alice"}));
    assert_eq!(block_on(verify_signature(&NativeCrypto, &parse(&mine).unwrap(), &ec_key("k").key)), Ok(()));
}

#[test]
fn claims_table() {
    const NOW: u64 = 1_800_000_000;
    let base = || json!({"iss": "https://idp.example", "sub": "alice", "exp": NOW + 300, "aud": "edge"});
    let with = |f: &dyn Fn(&mut Value)| {
        let mut c = base();
        f(&mut c);
        c
    };
    type Case<'a> = (&'a str, Value, &'a str, Result<(), JwtError>);
    let cases: Vec<Case> = vec![
        ("good", base(), "edge", Ok(())),
        ("audience in a list", with(&|c| c["aud"] = json!(["x", "edge"])), "edge", Ok(())),
        ("wrong audience", base(), "other", Err(JwtError::WrongAudience)),
        ("audience not in the list", with(&|c| c["aud"] = json!(["x", "y"])), "edge", Err(JwtError::WrongAudience)),
        ("audience not a string", with(&|c| c["aud"] = json!({"edge": true})), "edge", Err(JwtError::WrongAudience)),
        ("audience null", with(&|c| c["aud"] = json!(null)), "edge", Err(JwtError::WrongAudience)),
        (
            "no audience claim",
            with(&|c| {
                c.as_object_mut().unwrap().remove("aud");
            }),
            "edge",
            Err(JwtError::WrongAudience),
        ),
        ("wrong issuer", with(&|c| c["iss"] = json!("https://evil.example")), "edge", Err(JwtError::WrongIssuer)),
        ("issuer with a slash", with(&|c| c["iss"] = json!("https://idp.example/")), "edge", Err(JwtError::WrongIssuer)),
        (
            "no exp",
            with(&|c| {
                c.as_object_mut().unwrap().remove("exp");
            }),
            "edge",
            Err(JwtError::Malformed("exp is required")),
        ),
        ("expired beyond the skew", with(&|c| c["exp"] = json!(NOW - SKEW_S)), "edge", Err(JwtError::Expired)),
        ("expired within the skew", with(&|c| c["exp"] = json!(NOW - SKEW_S + 1)), "edge", Ok(())),
        ("nbf in the future", with(&|c| c["nbf"] = json!(NOW + SKEW_S + 1)), "edge", Err(JwtError::NotYetValid)),
        ("nbf within the skew", with(&|c| c["nbf"] = json!(NOW + SKEW_S)), "edge", Ok(())),
        ("nbf not a number", with(&|c| c["nbf"] = json!("soon")), "edge", Err(JwtError::Malformed("nbf"))),
        (
            "no sub",
            with(&|c| {
                c.as_object_mut().unwrap().remove("sub");
            }),
            "edge",
            Err(JwtError::Malformed("sub is required")),
        ),
        ("empty sub", with(&|c| c["sub"] = json!("")), "edge", Err(JwtError::Malformed("sub is required"))),
    ];
    for (name, claims, audience, want) in cases {
        assert_eq!(check_claims(&claims, "https://idp.example", audience, NOW).map(|_| ()), want, "{name}");
    }
    assert_eq!(check_claims(&base(), "https://idp.example", "edge", NOW).unwrap(), Subject { sub: "alice".into(), exp: NOW + 300 });
}

#[test]
fn exp_and_nbf_never_overflow() {
    const NOW: u64 = 1_800_000_000;
    let claims = |exp: Value, nbf: Option<Value>| {
        let mut c = json!({"iss": "https://idp.example", "sub": "alice", "exp": exp, "aud": "edge"});
        if let Some(nbf) = nbf {
            c["nbf"] = nbf;
        }
        c
    };
    let check = |c: &Value| check_claims(c, "https://idp.example", "edge", NOW);
    // Beyond the last second of the year 9999 (or not a number at all): refused, never wrapped.
    for exp in [json!(1e20), json!(18_446_744_073_709_552u64), json!(u64::MAX), json!(i64::MAX), json!(MAX_EXP + 1), json!(1.7976931348623157e308)] {
        assert_eq!(check(&claims(exp.clone(), None)).unwrap_err(), JwtError::Malformed("exp is out of range"), "exp {exp}");
    }
    assert_eq!(check(&claims(json!(MAX_EXP), None)).unwrap().exp, MAX_EXP, "the last second of 9999 is still a date");
    assert_eq!(check(&claims(json!(MAX_EXP as f64 + 0.5), None)).unwrap().exp, MAX_EXP, "a fraction of the last second too");
    // In the past, however far: expired.
    for exp in [json!(i64::MIN), json!(-1), json!(-1e20), json!(0), json!(0.5)] {
        assert_eq!(check(&claims(exp.clone(), None)).unwrap_err(), JwtError::Expired, "exp {exp}");
    }
    // A fraction counts down to its second (RFC 7519 §2 NumericDate).
    assert_eq!(check(&claims(json!(NOW as f64 + 300.75), None)).unwrap().exp, NOW + 300);
    assert_eq!(check(&claims(json!((NOW - SKEW_S) as f64 + 0.5), None)).unwrap_err(), JwtError::Expired);
    for exp in [json!("1800000300"), json!(true), json!(null), json!([1]), json!({})] {
        assert_eq!(check(&claims(exp.clone(), None)).unwrap_err(), JwtError::Malformed("exp is required"), "exp {exp}");
    }
    // nbf at any extreme: in the future, or the past; never a panic.
    for (nbf, ok) in [
        (json!(1e20), false),
        (json!(u64::MAX), false),
        (json!(i64::MAX), false),
        (json!(i64::MIN), true),
        (json!(-1e20), true),
        (json!(NOW as f64 + 60.5), true),
    ] {
        assert_eq!(check(&claims(json!(NOW + 300), Some(nbf.clone()))).is_ok(), ok, "nbf {nbf}");
    }
    // The clock at its own extreme does not wrap either.
    assert_eq!(check_claims(&claims(json!(MAX_EXP), None), "https://idp.example", "edge", u64::MAX).unwrap_err(), JwtError::Expired);
}
