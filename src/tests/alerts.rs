//! Where the `key.*` alerts are raised, through the handlers: every way a key is disabled
//! (the admin API, the Account API, its owner disabled by an operator) raises `key.disabled`
//! once, when it happens; a secret presented after its rotation's grace raises
//! `key.old_secret_used`, the same secret within its grace does not. The operator's webhook
//! (`ALERT_WEBHOOK_URL`) hears every project's events, so the Queue shows them all.

use super::*;
use crate::alerts::COOLDOWN_MS;
use crate::notify::Message;

fn with_operator_webhook() -> Harness {
    let mut h = Harness::new();
    h.app.config.alert_webhook = Some(("https://ops.example/alerts".into(), "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".into()));
    h
}

/// The events of `kind` queued so far for the operator's webhook: `(client_id, data)`.
fn queued(h: &Harness, kind: &str) -> Vec<(String, serde_json::Value)> {
    let all: Vec<Message> = h.app.outbox.sent.borrow().iter().map(|m| serde_json::from_str(m).unwrap()).collect();
    all.into_iter()
        .filter(|m| m.operator && m.kind.name() == kind)
        .map(|m| {
            let body: serde_json::Value = serde_json::from_str(&m.body).unwrap();
            (m.client_id, body["data"].clone())
        })
        .collect()
}

fn project(h: &mut Harness, token: &str, api: &str) -> (String, String) {
    let v = h.acct("POST", "/account/projects", token, &json!({"name": "P", "apis": [api]}).to_string()).body_json();
    (v["client_id"].as_str().unwrap().to_string(), v["client_secret"].as_str().unwrap().to_string())
}

fn admin_patch(h: &mut Harness, id: &str, body: &str) -> HttpResponse {
    h.send(Req::new("PATCH", &format!("/admin/clients/{id}")).bearer(ADMIN).body(body))
}

#[test]
fn key_disabled_is_raised_when_an_operator_or_the_owner_disables_a_key() {
    let mut h = with_operator_webhook();
    let api = h.api("Maps", r#"["maps:read"]"#, None);
    let (user_id, token) = h.account("ada");
    let (by_owner, _) = project(&mut h, &token, &api);
    let (id, _) = project(&mut h, &token, &api);

    // The Account API (the console's disable form goes the same way), once.
    let path = format!("/account/projects/{by_owner}");
    assert_eq!(h.acct("PATCH", &path, &token, r#"{"name":"renamed"}"#).status, 200);
    assert!(queued(&h, "key.disabled").is_empty(), "another change is no disable");
    assert_eq!(h.acct("PATCH", &path, &token, r#"{"disabled":true}"#).status, 200);
    assert_eq!(queued(&h, "key.disabled"), vec![(by_owner.clone(), json!({"client_id": by_owner, "count": 1, "by": "owner"}))]);
    assert_eq!(h.acct("PATCH", &path, &token, r#"{"disabled":false}"#).status, 200);

    // The admin API: once, when it happens; a repeat or an enable is no new event.
    assert_eq!(admin_patch(&mut h, &id, r#"{"name":"renamed"}"#).status, 200);
    assert_eq!(admin_patch(&mut h, &id, r#"{"disabled":true}"#).status, 200);
    assert_eq!(queued(&h, "key.disabled")[1], (id.clone(), json!({"client_id": id, "count": 1, "by": "operator"})));
    h.advance(COOLDOWN_MS);
    assert_eq!(admin_patch(&mut h, &id, r#"{"disabled":true}"#).status, 200);
    assert_eq!(admin_patch(&mut h, &id, r#"{"disabled":false}"#).status, 200);
    assert_eq!(queued(&h, "key.disabled").len(), 2, "already disabled, then enabled: nothing new");

    // The owner disabled by an operator: each of their projects' keys stopped.
    let user = format!("/admin/users/{user_id}");
    assert_eq!(h.send(Req::new("PATCH", &user).bearer(ADMIN).body(r#"{"disabled":true}"#)).status, 200);
    let q = queued(&h, "key.disabled");
    let mut ids: Vec<&str> = q[2..].iter().map(|(c, _)| c.as_str()).collect();
    ids.sort();
    let mut want = vec![id.as_str(), by_owner.as_str()];
    want.sort();
    assert_eq!(ids, want);
    assert!(q[2..].iter().all(|(_, d)| d["owner_disabled"] == json!(true) && d["by"] == "operator"));
    h.advance(COOLDOWN_MS);
    assert_eq!(h.send(Req::new("PATCH", &user).bearer(ADMIN).body(r#"{"disabled":true}"#)).status, 200);
    assert_eq!(queued(&h, "key.disabled").len(), 4, "a repeated disable of the person is no new event");
}

#[test]
fn key_old_secret_used_is_raised_after_the_grace_not_within_it() {
    let mut h = with_operator_webhook();
    let api = h.api("Maps", r#"["maps:read"]"#, None);
    let (_, token) = h.account("bea");
    let (id, old) = project(&mut h, &token, &api);
    let r = h.acct("POST", &format!("/account/projects/{id}/rotate"), &token, r#"{"grace":3600}"#);
    assert_eq!(r.status, 201);
    let new = r.body_json()["client_secret"].as_str().unwrap().to_string();
    let attempt = |h: &mut Harness, secret: &str| h.send(Req::new("POST", "/token").form("grant_type=client_credentials").basic(&id, secret)).status;

    assert_eq!(attempt(&mut h, &old), 200, "within its grace the old secret works");
    assert_eq!(attempt(&mut h, "wrong"), 401);
    assert!(queued(&h, "key.old_secret_used").is_empty(), "neither the grace nor a wrong secret is an old secret used");
    h.advance(3_600_000);
    assert_eq!(attempt(&mut h, &new), 200);
    assert_eq!(attempt(&mut h, &old), 401, "after its grace the old secret is refused");
    let q = queued(&h, "key.old_secret_used");
    assert_eq!(q, vec![(id.clone(), json!({"client_id": id, "count": 1, "ip": "10.0.0.1"}))]);

    // Rotated without grace: the secret just replaced is an old secret used at once.
    h.advance(COOLDOWN_MS);
    let r = h.send(Req::new("POST", &format!("/admin/clients/{id}/secret")).bearer(ADMIN).body(r#"{"grace":0}"#));
    assert_eq!((r.status, r.body_json()["previous_secret_valid_until"].clone()), (201, json!(null)));
    assert_eq!(attempt(&mut h, &new), 401, "no grace: refused at once");
    assert_eq!(queued(&h, "key.old_secret_used").len(), 2);
}

#[test]
fn key_rotated_says_when_the_old_secret_stops_and_is_raised_by_a_cut_rotation_completed_later() {
    let mut h = with_operator_webhook();
    let (id, _) = h.create(r#"{"name":"m2m","scopes":["read"],"grant_types":["client_credentials"]}"#);
    let rotate =
        |h: &mut Harness, grace: u64| h.send(Req::new("POST", &format!("/admin/clients/{id}/secret")).bearer(ADMIN).body(format!(r#"{{"grace":{grace}}}"#)));
    assert_eq!(rotate(&mut h, 60).status, 201);
    let until = (h.now + 60_000) / 1000;
    assert_eq!(queued(&h, "key.rotated"), vec![(id.clone(), json!({"client_id": id, "count": 1, "old_secret_expires_at": until}))]);
    h.advance(COOLDOWN_MS);
    assert_eq!(rotate(&mut h, 0).status, 201);
    assert_eq!(queued(&h, "key.rotated")[1].1["old_secret_expires_at"], json!(null), "no grace: it stopped at once");
    // A rotation cut after its intent (the read's and the record's pending intents, the
    // intent, then the first gate fails): no alert yet; the alarm completes it, and raises it.
    h.advance(COOLDOWN_MS);
    h.app.objects.faults.fail_nth(4);
    assert_eq!(rotate(&mut h, 0).status, 503);
    assert_eq!(queued(&h, "key.rotated").len(), 2);
    h.advance(crate::shard::intents::INTENT_DELAY_MS);
    assert_eq!(h.alarms(), 1);
    assert_eq!(queued(&h, "key.rotated").len(), 3, "the completed rotation is announced");
}
