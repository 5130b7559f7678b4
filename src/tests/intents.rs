//! Issue 24, finding 2: an admin call cut part way converges by itself. Each change that spans
//! objects and KV is an intent (`crate::intent`); here every step of each is made to fail in
//! turn (the n-th call to an object, or to KV), the call is never repeated, and after the
//! alarm (or a read) the change is all or nothing: never half done, never shown before it is
//! in force.

use super::account::project;
use super::browser::*;
use super::*;
use crate::shard::intents::INTENT_DELAY_MS;

/// Which store the fault is injected into.
#[derive(Debug, Clone, Copy)]
enum Store {
    Objects,
    Kv,
}

fn inject(h: &Harness, store: Store, n: u32) {
    match store {
        Store::Objects => h.app.objects.faults.fail_nth(n),
        Store::Kv => h.app.kv.faults.fail_nth(n),
    }
}

fn clear(h: &Harness) {
    h.app.objects.faults.fail_next(0);
    h.app.kv.faults.fail_next(0);
}

/// Tokens on (nearly) every shard of the client.
fn tokens(h: &mut Harness, id: &str, secret: &str) -> Vec<String> {
    (0..24).map(|_| h.token(id, secret)).collect()
}

fn live(h: &mut Harness, tokens: &[String]) -> usize {
    tokens.iter().filter(|t| h.validate(t, "10.0.0.1").status == 200).count()
}

/// What every gate of the client says (they must agree once converged).
fn gates(h: &Harness, id: &str) -> Vec<String> {
    (0..SHARDS).map(|s| h.app.objects.shard(&shard_name(id, s)).storage().entries.borrow().get("gate").cloned().unwrap_or_default()).collect()
}

fn agree(gates: &[String]) -> bool {
    gates.iter().all(|g| g == &gates[0])
}

/// How the cut call is left to converge: the object's alarm, or a read of the changed record.
#[derive(Debug, Clone, Copy)]
enum Then {
    Alarm,
    Read,
}

fn converge(h: &mut Harness, then: Then, read: &str) {
    match then {
        Then::Alarm => {
            h.advance(INTENT_DELAY_MS);
            h.alarms();
        }
        Then::Read => {
            let r = h.send(Req::new("GET", read).bearer(ADMIN));
            assert!(r.status == 200 || r.status == 404, "the read answers: {}", text(&r));
        }
    }
}

#[test]
fn a_cut_rotation_is_all_or_nothing_and_completes_by_itself() {
    let mut applied_by_convergence = 0;
    for (store, then) in [(Store::Objects, Then::Alarm), (Store::Kv, Then::Alarm), (Store::Objects, Then::Read), (Store::Kv, Then::Read)] {
        for n in 1.. {
            let mut h = Harness::new();
            let (id, secret) = h.create(r#"{"name":"m2m","scopes":["read"],"grant_types":["client_credentials"]}"#);
            let old = tokens(&mut h, &id, &secret);
            inject(&h, store, n);
            let r = h.send(Req::new("POST", &format!("/admin/clients/{id}/secret")).bearer(ADMIN).body(r#"{"grace":0}"#));
            clear(&h);
            if r.status == 201 {
                assert!(n > if matches!(store, Store::Objects) { 5 } else { 1 }, "{store:?}: the rotation has several steps");
                break;
            }
            assert_eq!(r.status, 503, "{store:?} step {n}: {}", text(&r));
            converge(&mut h, then, &format!("/admin/clients/{id}"));
            let old_secret = h.send(Req::new("POST", "/token").form("grant_type=client_credentials").basic(&id, &secret)).status;
            let live = live(&mut h, &old);
            let g = gates(&h, &id);
            assert!(agree(&g), "{store:?} step {n} {then:?}: the gates disagree: {g:?}");
            match old_secret {
                // Nothing happened: the intent was never recorded.
                200 => assert_eq!(live, old.len(), "{store:?} step {n} {then:?}: not rotated, yet tokens died"),
                // Rotated: every old token is dead, and the rotation is in KV.
                401 => {
                    assert_eq!(live, 0, "{store:?} step {n} {then:?}: rotated, yet old tokens live");
                    applied_by_convergence += 1;
                }
                s => panic!("{store:?} step {n}: /token answered {s}"),
            }
            assert_eq!(h.alarms(), 0, "nothing is left pending");
        }
    }
    assert!(applied_by_convergence >= 8, "most cuts come after the intent: {applied_by_convergence}");
}

#[test]
fn a_cut_disable_and_a_cut_delete_of_a_client_complete_by_themselves() {
    for body in [Some(r#"{"disabled":true}"#), None] {
        for n in 1.. {
            let mut h = Harness::new();
            let (id, secret) = h.create(r#"{"name":"m2m","scopes":["read"],"grant_types":["client_credentials"]}"#);
            let old = tokens(&mut h, &id, &secret);
            h.app.objects.faults.fail_nth(n);
            let path = format!("/admin/clients/{id}");
            let r = match body {
                Some(b) => h.send(Req::new("PATCH", &path).bearer(ADMIN).body(b)),
                None => h.send(Req::new("DELETE", &path).bearer(ADMIN)),
            };
            clear(&h);
            if r.status < 300 {
                break;
            }
            assert_eq!(r.status, 503);
            h.advance(INTENT_DELAY_MS);
            h.alarms();
            let view = h.send(Req::new("GET", &path).bearer(ADMIN));
            let changed = match body {
                Some(_) => view.body_json()["disabled"] == true,
                None => view.status == 404,
            };
            let live = live(&mut h, &old);
            assert!(agree(&gates(&h, &id)), "step {n}: the gates disagree");
            assert_eq!(live, if changed { 0 } else { old.len() }, "{body:?} step {n}: shown changed={changed}, {live} tokens live");
        }
    }
}

/// A person (alice, with an Account API token), a project of theirs on an API, and tokens
/// of that project on (nearly) every shard.
struct Person {
    alice: String,
    token: String,
    maps: String,
    pid: String,
    keys: Vec<String>,
}

fn person() -> (Harness, Person) {
    let mut h = Harness::new();
    let maps = h.api("Maps API", r#"["maps:read"]"#, None);
    let (alice, token) = h.account("alice");
    let (pid, secret) = project(&mut h, &token, "Shop", &[&maps]);
    let keys = tokens(&mut h, &pid, &secret);
    (h, Person { alice, token, maps, pid, keys })
}

#[test]
fn a_cut_person_disable_is_all_or_nothing_and_never_shown_before_it_is_in_force() {
    for then in [Then::Alarm, Then::Read] {
        for n in 1.. {
            let (mut h, Person { alice, token, maps: _, pid, keys }) = person();
            h.app.objects.faults.fail_nth(n);
            let path = format!("/admin/users/{alice}");
            let r = h.send(Req::new("PATCH", &path).bearer(ADMIN).body(r#"{"disabled":true}"#));
            clear(&h);
            if r.status == 200 {
                assert!(n > 6);
                break;
            }
            assert_eq!(r.status, 503, "step {n}: {}", text(&r));
            converge(&mut h, then, &path);
            let shown = h.send(Req::new("GET", &path).bearer(ADMIN)).body_json()["disabled"] == true;
            // The person's own sign-in token and their project's keys follow what is shown.
            let own = h.validate(&token, "10.0.0.1").status == 200;
            let live = live(&mut h, &keys);
            assert!(agree(&gates(&h, &pid)), "step {n} {then:?}: the project's gates disagree");
            assert_eq!((own, live), if shown { (false, 0) } else { (true, keys.len()) }, "step {n} {then:?}: shown disabled={shown}");
            let listed = h.send(Req::new("GET", "/admin/users").bearer(ADMIN)).body_json()["users"][0]["disabled"] == true;
            assert_eq!(listed, shown, "step {n} {then:?}: the list (KV) agrees");
        }
    }
}

#[test]
fn a_cut_person_delete_completes_by_itself() {
    for n in 1.. {
        let (mut h, Person { alice, token: _, maps, pid, keys }) = person();
        h.app.objects.faults.fail_nth(n);
        let path = format!("/admin/users/{alice}");
        let r = h.send(Req::new("DELETE", &path).bearer(ADMIN));
        clear(&h);
        if r.status == 204 {
            break;
        }
        assert_eq!(r.status, 503);
        h.advance(INTENT_DELAY_MS);
        h.alarms();
        let gone = h.send(Req::new("GET", &path).bearer(ADMIN)).status == 404;
        let live = live(&mut h, &keys);
        let project = h.send(Req::new("GET", &format!("/admin/clients/{pid}")).bearer(ADMIN)).status;
        assert_eq!((live, project), if gone { (0, 404) } else { (keys.len(), 200) }, "step {n}: gone={gone}");
        if gone {
            // The name is free again, and the API has no project left.
            assert_eq!(h.send(Req::new("POST", "/admin/users").bearer(ADMIN).body(r#"{"username":"alice","password":"12345678"}"#)).status, 201);
            assert_eq!(h.send(Req::new("DELETE", &format!("/admin/apis/{maps}")).bearer(ADMIN)).status, 204, "step {n}");
        }
    }
}

#[test]
fn a_failing_step_is_retried_by_the_alarm_until_it_succeeds() {
    let mut h = Harness::new();
    let (id, secret) = h.create(r#"{"name":"m2m","scopes":["read"],"grant_types":["client_credentials"]}"#);
    let old = tokens(&mut h, &id, &secret);
    // Cut after the intent (the read's pending, the record's pending, the intent, one gate).
    h.app.objects.faults.fail_nth(5);
    assert_eq!(h.send(Req::new("POST", &format!("/admin/clients/{id}/secret")).bearer(ADMIN).body(r#"{"grace":0}"#)).status, 503);
    // The alarm's first attempt fails too (KV is down): it is set again, and retried.
    h.advance(INTENT_DELAY_MS);
    h.app.kv.faults.fail_next(1);
    assert_eq!(h.alarms(), 0);
    clear(&h);
    let at = h.app.objects.shard(&shard_name(&id, 0)).storage().alarm.get().expect("the alarm is set again");
    assert_eq!(at, h.now + crate::shard::intents::INTENT_RETRY_MS);
    h.advance(crate::shard::intents::INTENT_RETRY_MS);
    assert_eq!(h.alarms(), 1);
    assert_eq!(live(&mut h, &old), 0);
    assert_eq!(h.send(Req::new("POST", "/token").form("grant_type=client_credentials").basic(&id, &secret)).status, 401);
}

#[test]
fn an_intent_not_yet_due_waits_for_its_caller() {
    let mut h = Harness::new();
    let (id, _) = h.create(r#"{"name":"m2m","scopes":["read"],"grant_types":["client_credentials"]}"#);
    h.app.objects.faults.fail_nth(5);
    assert_eq!(h.send(Req::new("POST", &format!("/admin/clients/{id}/secret")).bearer(ADMIN).body(r#"{"grace":0}"#)).status, 503);
    // An alarm that fires early (a sweep's) leaves it, and comes back when it is due.
    let s = h.app.objects.shard(&shard_name(&id, 0));
    s.storage().alarm.set(Some(h.now));
    assert_eq!(h.alarms(), 0, "its caller may still be at work");
    assert_eq!(s.storage().alarm.get(), Some(h.now + INTENT_DELAY_MS));
    h.advance(INTENT_DELAY_MS);
    assert_eq!(h.alarms(), 1);
}
