//! Usage counts through the handlers (the contract's "Usage", invariant 11): exact numbers
//! after a known sequence, the hour they fall in, the loss bound on a restart, and the reads.

use super::browser::*;
use super::*;
use crate::shard::memo::LAG_MS;
use crate::shard::usage::{HourRecord, USAGE_KEY};

fn usage(h: &mut Harness, id: &str, query: &str) -> serde_json::Value {
    let r = h.send(Req::new("GET", &format!("/admin/clients/{id}/usage{query}")).bearer(ADMIN));
    assert_eq!(r.status, 200, "{}", text(&r));
    r.body_json()
}

fn totals(h: &mut Harness, id: &str) -> serde_json::Value {
    usage(h, id, "")["totals"].clone()
}

/// What storage (not memory) holds of the current hour, summed over the client's shards.
fn stored_validations(h: &Harness, id: &str) -> u64 {
    (0..SHARDS)
        .filter_map(|n| h.app.objects.shards.borrow().get(&shard_name(id, n)).cloned())
        .filter_map(|s| s.storage().entries.borrow().get(USAGE_KEY).cloned())
        .map(|t| serde_json::from_str::<HourRecord>(&t).unwrap().c.validations)
        .sum()
}

#[test]
fn a_known_sequence_gives_exact_counts() {
    let mut h = Harness::new();
    let (id, secret) = h.create(r#"{"name":"svc","scopes":["read"],"rate_limit":4,"api_key":true}"#);
    let t1 = h.token(&id, &secret);
    let t2 = h.token(&id, &secret);
    for t in [&t1, &t2, &t1] {
        assert_eq!(h.validate(t, "10.0.0.1").status, 200);
    }
    assert_eq!(h.validate(&t1, "10.0.0.9").status, 401, "another address");
    assert_eq!(h.send(Req::new("GET", "/validate?scope=write").bearer(&t2).ip(Some("10.0.0.1"))).status, 403);
    assert_eq!(h.send(Req::new("GET", &format!("/validate?key={id}"))).status, 200, "an API key: the fourth of 4 a minute");
    assert_eq!(h.validate(&t1, "10.0.0.1").status, 429, "over the rate limit: not a validation");
    for _ in 0..2 {
        let r = h.send(Req::new("POST", "/token").form("grant_type=client_credentials").basic(&id, "wrong"));
        assert_eq!(r.status, 401);
    }
    // Revoked: refused as an unknown token of the project's shape.
    h.send(Req::new("POST", "/revoke").form(&format!("token={t2}")).basic(&id, &secret));
    assert_eq!(h.validate(&t2, "10.0.0.1").status, 401);
    let want = json!({"tokens_issued": 2, "validations": 4, "rejected_token": 1, "rejected_ip": 1, "rejected_scope": 1, "rate_limited": 1, "auth_failures": 2});
    assert_eq!(totals(&mut h, &id), want);
    let v = usage(&mut h, &id, "?days=1");
    assert_eq!(v["client_id"], id.as_str());
    assert_eq!(v["generated_at"], T0 / 1000);
    let hours = v["hours"].as_array().unwrap();
    assert_eq!(hours.len(), 1, "one hour: {v}");
    let mut hour = want.clone();
    hour["hour"] = json!(crate::usage::rfc3339(T0 / 3_600_000 * 3600));
    assert_eq!(hours[0], hour);
}

#[test]
fn counts_fall_in_their_utc_hour_and_leave_after_90_days() {
    let mut h = Harness::new();
    let (id, secret) = h.create(r#"{"name":"svc","token_ttl":86400,"max_lifetime":86400,"ip_binding":false}"#);
    let t = h.token(&id, &secret);
    // To the last millisecond of T0's hour, then the first of the next.
    let next_hour = (T0 / 3_600_000 + 1) * 3_600_000;
    h.advance(next_hour - 1 - T0);
    assert_eq!(h.validate(&t, "x").status, 200);
    h.advance(1);
    assert_eq!(h.validate(&t, "x").status, 200);
    assert_eq!(h.validate(&t, "x").status, 200);
    let v = usage(&mut h, &id, "");
    let hours: Vec<(String, u64, u64)> = v["hours"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| (x["hour"].as_str().unwrap().to_string(), x["tokens_issued"].as_u64().unwrap(), x["validations"].as_u64().unwrap()))
        .collect();
    let first = crate::usage::rfc3339(T0 / 3_600_000 * 3600);
    let second = crate::usage::rfc3339(next_hour / 1000);
    assert_eq!(hours, vec![(first, 1, 1), (second, 0, 2)]);
    // ?days=1 from 23 hours later still has both hours; a day later only the second.
    h.advance(22 * 3_600_000);
    assert_eq!(usage(&mut h, &id, "?days=1")["hours"].as_array().unwrap().len(), 2);
    h.advance(3_600_000);
    assert_eq!(usage(&mut h, &id, "?days=1")["hours"].as_array().unwrap().len(), 1);
    // 90 days on, the sweep has deleted both (only the current-hour record remains).
    h.advance(90 * 24 * 3_600_000);
    block_on(h.app.objects.fire_alarms());
    assert_eq!(usage(&mut h, &id, "?days=90")["hours"], json!([]));
    let stored: usize = h.app.objects.shards.borrow().values().map(|s| s.storage().count("h:")).sum();
    assert_eq!(stored, 0, "finished hours past 90 days are swept");
}

#[test]
fn validation_writes_no_count_of_its_own_and_a_restart_loses_at_most_the_last_10_s() {
    let mut h = Harness::new();
    let (id, secret) = h.create(r#"{"name":"svc","ip_binding":false}"#);
    let t = h.token(&id, &secret);
    h.advance(1);
    // The validations within LAG_MS write nothing (nor did the issuance's count: it waits too,
    // rather than ride in the token's batch; src/shard/memo.rs).
    let before = stored_validations(&h, &id);
    for _ in 0..5 {
        assert_eq!(h.validate(&t, "x").status, 200);
        h.advance(1_000);
    }
    assert_eq!(stored_validations(&h, &id), before, "no storage write on the validation path");
    assert_eq!(totals(&mut h, &id)["validations"], 5, "exact when read: memory");
    // A restart now loses them: all were made in the last 10 s.
    h.app.objects.evict_all();
    assert_eq!(totals(&mut h, &id)["validations"], 0);
    assert_eq!(totals(&mut h, &id)["tokens_issued"], 0, "the issuance's count too: also within the last 10 s");
    // Again, and this time the alarm comes (it was asked for by LAG_MS after the first count).
    for _ in 0..5 {
        assert_eq!(h.validate(&t, "x").status, 200);
        h.advance(1_000);
    }
    h.advance(LAG_MS);
    block_on(h.app.objects.fire_alarms());
    h.app.objects.evict_all();
    assert_eq!(totals(&mut h, &id)["validations"], 5, "flushed by the alarm within 10 s: nothing lost");
    // Under steady traffic, a count older than LAG_MS has reached storage with a later one.
    let mut made = 0;
    for _ in 0..30 {
        assert_eq!(h.validate(&t, "x").status, 200);
        made += 1;
        h.advance(1_000);
    }
    h.app.objects.evict_all();
    let kept = totals(&mut h, &id)["validations"].as_u64().unwrap() - 5;
    assert!(made - kept <= LAG_MS / 1_000, "lost {} of {made}: at most the last 10 s", made - kept);
}

#[test]
fn reads_need_the_admin_or_the_owner_and_days_1_to_90() {
    let mut h = Harness::new();
    let (id, _) = h.create(r#"{"name":"svc"}"#);
    for bad in ["0", "91", "x", "1.5"] {
        let r = h.send(Req::new("GET", &format!("/admin/clients/{id}/usage?days={bad}")).bearer(ADMIN));
        assert_eq!((r.status, err(&r)), (400, "invalid_request".to_string()), "{bad}");
        assert_eq!(r.body_json()["field"], "days");
    }
    assert_eq!(h.send(Req::new("GET", "/admin/clients/nope/usage").bearer(ADMIN)).status, 404);
    assert_eq!(h.send(Req::new("GET", &format!("/admin/clients/{id}/usage"))).status, 401);
    assert_eq!(usage(&mut h, &id, "")["hours"], json!([]), "nothing counted yet");
}

#[test]
fn the_account_api_shows_its_own_projects_usage_and_last_use() {
    let mut h = Harness::new();
    let api = h.api("Maps", r#"["maps:read"]"#, None);
    let (_, token) = h.account("ada");
    let (_, other) = h.account("bob");
    let r = h.acct("POST", "/account/projects", &token, &json!({"name": "P", "apis": [api]}).to_string());
    let v = r.body_json();
    let (id, secret) = (v["client_id"].as_str().unwrap().to_string(), v["client_secret"].as_str().unwrap().to_string());
    assert_eq!(v["last_used_at"], serde_json::Value::Null);
    let project = |h: &mut Harness| h.acct("GET", &format!("/account/projects/{id}"), &token, "").body_json();
    assert_eq!(project(&mut h)["last_used_at"], serde_json::Value::Null, "never used");
    h.advance(5_000);
    let t = h.token(&id, &secret);
    assert_eq!(project(&mut h)["last_used_at"], (T0 + 5_000) / 1000, "the issuance");
    h.advance(7_000);
    assert_eq!(h.send(Req::new("GET", "/validate").bearer(&t)).status, 200);
    assert_eq!(project(&mut h)["last_used_at"], (T0 + 12_000) / 1000, "the validation");
    h.advance(7_000);
    assert_eq!(h.send(Req::new("GET", "/validate").bearer(&t).ip(Some("10.1.1.1"))).status, 401);
    assert_eq!(project(&mut h)["last_used_at"], (T0 + 12_000) / 1000, "a refusal is no use");
    let list = h.acct("GET", "/account/projects", &token, "").body_json();
    assert_eq!(list["projects"][0]["last_used_at"], (T0 + 12_000) / 1000);
    let r = h.acct("GET", &format!("/account/projects/{id}/usage?days=7"), &token, "");
    assert_eq!(r.status, 200, "{}", text(&r));
    assert_eq!(r.body_json()["totals"]["validations"], 1);
    assert_eq!(r.body_json()["totals"]["rejected_ip"], 1);
    assert_eq!(h.acct("GET", &format!("/account/projects/{id}/usage"), &other, "").status, 404, "another person's");
    assert_eq!(h.acct("GET", &format!("/account/projects/{id}/usage?days=91"), &token, "").status, 400);
    assert_eq!(h.acct("POST", &format!("/account/projects/{id}/usage"), &token, "").status, 405);
}

#[test]
fn a_project_webhook_is_set_read_and_deleted_by_its_owner_with_the_secret_shown_once() {
    let mut h = Harness::new();
    let api = h.api("Maps", r#"["maps:read"]"#, None);
    let (_, token) = h.account("ada");
    let (_, other) = h.account("bob");
    let r = h.acct("POST", "/account/projects", &token, &json!({"name": "P", "apis": [api]}).to_string());
    let id = r.body_json()["client_id"].as_str().unwrap().to_string();
    let path = format!("/account/projects/{id}/webhook");
    assert_eq!(h.acct("GET", &path, &token, "").status, 404, "none yet");
    for (body, field) in [
        (json!({"url": "http://hooks.example/"}), "url"),
        (json!({"url": "https://10.1.2.3/"}), "url"),
        (json!({"url": "https://hooks.example/", "events": ["key.exploded"]}), "events"),
        (json!({"url": "https://hooks.example/", "events": []}), "events"),
        (json!({"events": ["key.created"]}), "url"),
    ] {
        let r = h.acct("PUT", &path, &token, &body.to_string());
        assert_eq!((r.status, r.body_json()["field"].as_str()), (400, Some(field)), "{body}");
    }
    let r = h.acct("PUT", &path, &token, &json!({"url": "https://hooks.example/in", "events": ["token.wrong_ip", "key.rotated"]}).to_string());
    assert_eq!(r.status, 201, "{}", text(&r));
    let v = r.body_json();
    assert!(v["secret"].as_str().unwrap().starts_with("whsec_"));
    assert_eq!(v["events"], json!(["token.wrong_ip", "key.rotated"]));
    let got = h.acct("GET", &path, &token, "");
    assert_eq!(got.status, 200);
    assert_eq!(got.body_json()["url"], "https://hooks.example/in");
    assert!(got.body_json().get("secret").is_none(), "the secret is shown only once");
    assert_eq!(h.acct("GET", &path, &other, "").status, 404, "another person's");
    assert_eq!(h.acct("PUT", &path, &other, &json!({"url": "https://x.example/"}).to_string()).status, 404);
    assert_eq!(h.acct("GET", &format!("{path}/deliveries"), &token, "").body_json(), json!({"deliveries": []}));
    assert_eq!(h.acct("DELETE", &path, &token, "").status, 204);
    assert_eq!(h.acct("DELETE", &path, &token, "").status, 404);
    assert_eq!(h.acct("PATCH", &path, &token, "{}").status, 405);
}

#[test]
fn an_alert_goes_through_the_cooldown_onto_the_queue_and_its_attempts_are_logged() {
    use crate::notify::{attempt, outcome, Message};
    let mut h = Harness::new();
    let api = h.api("Maps", r#"["maps:read"]"#, None);
    let (_, token) = h.account("ada");
    let v = h.acct("POST", "/account/projects", &token, &json!({"name": "P", "apis": [api]}).to_string()).body_json();
    let (id, secret) = (v["client_id"].as_str().unwrap().to_string(), v["client_secret"].as_str().unwrap().to_string());
    let path = format!("/account/projects/{id}/webhook");
    let hook = h.acct("PUT", &path, &token, &json!({"url": "https://hooks.example/in", "events": ["token.wrong_ip"]}).to_string()).body_json();
    let whsec = hook["secret"].as_str().unwrap().to_string();
    let t = h.token(&id, &secret);
    for _ in 0..3 {
        assert_eq!(h.send(Req::new("GET", "/validate").bearer(&t).ip(Some("192.0.2.5"))).status, 401);
    }
    let sent = h.app.objects.now_ms.get();
    let queued: Vec<Message> = h.app.outbox.sent.borrow().iter().map(|m| serde_json::from_str(m).unwrap()).collect();
    assert_eq!(queued.len(), 1, "once per 15 minutes");
    let m = &queued[0];
    assert!(!m.operator && m.client_id == id);
    let body: serde_json::Value = serde_json::from_str(&m.body).unwrap();
    assert_eq!((body["type"].as_str(), body["data"]["count"].as_u64(), body["data"]["ip"].as_str()), (Some("token.wrong_ip"), Some(1), Some("192.0.2.5")));
    // The consumer: signed for the attempt's time.
    h.advance(7_000);
    let a = block_on(attempt(&h.app, m, h.now)).unwrap().unwrap();
    assert_eq!(a.url, "https://hooks.example/in");
    let header = |n: &str| a.headers.iter().find(|(k, _)| *k == n).map(|(_, v)| v.clone()).unwrap();
    assert_eq!(header("webhook-id"), m.webhook_id);
    assert_eq!(header("webhook-timestamp"), ((sent + 7_000) / 1000).to_string());
    let want = block_on(crate::alerts::sign(&h.app.crypto, &whsec, &m.webhook_id, (sent + 7_000) / 1000, &m.body)).unwrap();
    assert_eq!(header("webhook-signature"), want);
    assert_eq!(block_on(outcome(&h.app, m, Some(500), 1)).unwrap(), Some(5), "retried after ALERT_BACKOFF's first delay");
    assert_eq!(block_on(outcome(&h.app, m, Some(204), 2)).unwrap(), None);
    let log = h.acct("GET", &format!("{path}/deliveries"), &token, "").body_json();
    assert_eq!((log["deliveries"][0]["status"].as_str(), log["deliveries"][0]["attempts"].as_u64()), (Some("delivered"), Some(2)));
    // A type it does not take, or a deleted webhook: nowhere to send.
    assert!(block_on(attempt(&h.app, &Message { kind: crate::alerts::EventType::KeyRotated, ..m.clone() }, h.now)).unwrap().is_none());
    assert_eq!(h.acct("DELETE", &path, &token, "").status, 204);
    assert!(block_on(attempt(&h.app, m, h.now)).unwrap().is_none());
}
