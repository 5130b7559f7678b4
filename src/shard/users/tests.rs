//! The user object's decisions, as tables.

use super::grants::*;
use super::sessions::*;
use super::*;
use crate::shard::Checked;

const NOW: u64 = 1_000_000;

fn pw(h: &str) -> PasswordHash {
    PasswordHash { iterations: 1, salt: "c2FsdA".into(), hash: h.into() }
}

fn user() -> User {
    User {
        user_id: "u1".into(),
        username: "Alice".into(),
        name: "Alice A".into(),
        created_at: 1,
        updated_at: 1,
        disabled: false,
        password: pw("h1"),
        epoch: 3,
        clients: vec!["c1".into()],
        deleted: false,
    }
}

fn sess() -> SecretHash {
    SecretHash::of("session")
}

fn state(u: Option<User>, session_expires: Option<u64>, grant: Option<Grant>) -> Loaded {
    let mut l = Loaded::default();
    if let Some(u) = u {
        l = l.with(USER_KEY, &u);
    }
    if let Some(e) = session_expires {
        l = l.with(session_key(&sess()), &Session { created_ms: 0, expires_ms: e });
    }
    if let Some(g) = grant {
        l = l.with(grant_key(&g.client_id), &g);
    }
    l
}

fn stored_user(fx: &Effects) -> User {
    serde_json::from_str(&fx.puts.iter().find(|(k, _)| k == USER_KEY).expect("user written").1).unwrap()
}

#[test]
fn disable_kills_once_and_repeats_the_kill() {
    let patch = |disabled| UpdateUser { name: None, password: None, disabled: Some(disabled) };
    let (r, fx) = patch(true).checked(&state(Some(user()), None, None), NOW).unwrap();
    let r = r.unwrap();
    assert!(r.user.disabled);
    assert_eq!(r.kill, Some(Kill { epoch: 4, clients: vec!["c1".into()] }));
    assert!(r.newly_disabled, "this call disabled them: key.disabled for their projects");
    assert_eq!(fx.purge, vec![SESSION_PREFIX], "every session ends");
    // Disabling again: the same epoch, and the kill is handed out again (a retry repairs).
    let disabled = User { disabled: true, epoch: 4, ..user() };
    let (r, _) = patch(true).checked(&state(Some(disabled.clone()), None, None), NOW).unwrap();
    let r = r.unwrap();
    assert_eq!((r.kill.unwrap().epoch, r.newly_disabled), (4, false), "a repeat is no new disable");
    // Enabling revives nothing: no kill, the epoch stays.
    let (r, fx) = patch(false).checked(&state(Some(disabled), None, None), NOW).unwrap();
    let r = r.unwrap();
    assert_eq!((r.user.disabled, r.user.epoch, r.kill, r.newly_disabled), (false, 4, None, false));
    assert!(fx.purge.is_empty());
}

#[test]
fn other_updates() {
    let (r, fx) = UpdateUser { name: Some("B".into()), password: None, disabled: None }.checked(&state(Some(user()), None, None), NOW).unwrap();
    let r = r.unwrap();
    assert_eq!((r.user.name.as_str(), r.user.epoch, r.user.updated_at, r.kill), ("B", 3, NOW, None));
    assert!(fx.purge.is_empty());
    let (r, fx) = UpdateUser { name: None, password: Some(pw("h2")), disabled: None }.checked(&state(Some(user()), None, None), NOW).unwrap();
    assert_eq!(r.unwrap().user.password, pw("h2"));
    assert_eq!(fx.purge, vec![SESSION_PREFIX], "a new password ends every session");
    let (r, fx) = UpdateUser { name: Some("x".into()), password: None, disabled: None }.checked(&state(None, None, None), NOW).unwrap();
    assert!(r.is_none() && fx.puts.is_empty());
    let gone = User { deleted: true, ..user() };
    assert!(UpdateUser { name: None, password: None, disabled: Some(false) }.checked(&state(Some(gone), None, None), NOW).unwrap().0.is_none());
}

#[test]
fn delete_marks_then_purges() {
    let (r, fx) = DeleteUser {}.checked(&state(Some(user()), Some(NOW + 1), None), NOW).unwrap();
    let (u, kill) = r.unwrap();
    assert!(u.deleted);
    assert_eq!(kill, Kill { epoch: 4, clients: vec!["c1".into()] });
    assert_eq!(fx.purge, vec![SESSION_PREFIX, GRANT_PREFIX]);
    assert!(stored_user(&fx).deleted);
    // A retry after a failed fan-out gets the same kill, not a new epoch.
    let marked = stored_user(&fx);
    let (r, _) = DeleteUser {}.checked(&state(Some(marked.clone()), None, None), NOW).unwrap();
    assert_eq!(r.unwrap().1.epoch, 4);
    // A marked user is gone for every other purpose.
    assert_eq!(GetUser {}.checked(&state(Some(marked), None, None), NOW).unwrap().0, None);
    assert!(DeleteUser {}.checked(&state(None, None, None), NOW).unwrap().0.is_none());
    assert_eq!(PurgeUser {}.checked(&Loaded::default(), NOW).unwrap().1.purge, vec![""]);
}

#[test]
fn sessions_start_only_for_a_live_user_with_the_verified_password() {
    let start = || StartSession { hash: sess(), expires_ms: NOW + 100, password: pw("h1") };
    let cases = [
        ("enabled", Some(user()), true),
        ("disabled", Some(User { disabled: true, ..user() }), false),
        ("deleted", Some(User { deleted: true, ..user() }), false),
        ("password changed since the read", Some(User { password: pw("h2"), ..user() }), false),
        ("no user", None, false),
    ];
    for (name, u, ok) in cases {
        let (r, fx) = start().checked(&state(u, None, None), NOW).unwrap();
        assert_eq!(r, ok, "{name}");
        assert_eq!(fx.puts.len(), usize::from(ok), "{name}");
        assert_eq!(fx.alarm_by, ok.then_some(NOW + 100), "{name}: the sweep comes when it expires");
    }
}

#[test]
fn check_session_table() {
    let check = |l: &Loaded, client: Option<&str>, now| CheckSession { hash: sess(), client_id: client.map(str::to_string) }.checked(l, now).unwrap();
    let grant = Grant { client_id: "c1".into(), scope: vec!["read".into()], created_at: 5, revoked: None };
    let l = state(Some(user()), Some(NOW + 10), Some(grant));
    let (who, fx) = check(&l, Some("c1"), NOW);
    let who = who.unwrap();
    assert_eq!((who.user_id.as_str(), who.username.as_str(), who.epoch), ("u1", "Alice", 3));
    assert_eq!(who.granted, Some(vec!["read".to_string()]));
    assert!(fx.deletes.is_empty());
    assert_eq!(check(&l, Some("c2"), NOW).0.unwrap().granted, None);
    assert_eq!(check(&l, None, NOW).0.unwrap().granted, None);
    let (who, fx) = check(&l, None, NOW + 10);
    assert!(who.is_none(), "expired");
    assert_eq!(fx.deletes, vec![session_key(&sess())], "and deleted on sight");
    let disabled = state(Some(User { disabled: true, ..user() }), Some(NOW + 10), None);
    assert!(check(&disabled, None, NOW).0.is_none());
    assert!(check(&state(Some(user()), None, None), None, NOW).0.is_none(), "unknown session");
}

#[test]
fn authorize_records_the_grant_and_the_client() {
    let op = |scope: &[&str], client: &str| Authorize { session: sess(), client_id: client.into(), scope: scope.iter().map(|s| s.to_string()).collect() };
    let l = state(Some(user()), Some(NOW + 10), None);
    let (who, fx) = op(&["read"], "c2").checked(&l, NOW).unwrap();
    assert_eq!(who.unwrap().epoch, 3);
    assert_eq!(stored_user(&fx).clients, vec!["c1", "c2"], "the new client is remembered for kills");
    let g: Grant = serde_json::from_str(&fx.puts.iter().find(|(k, _)| k == "g:c2").unwrap().1).unwrap();
    assert_eq!((g.scope, g.created_at), (vec!["read".to_string()], NOW));
    // Approving more scopes later widens the grant (a union), keeping its first date.
    let l = state(Some(user()), Some(NOW + 10), Some(Grant { client_id: "c1".into(), scope: vec!["read".into()], created_at: 5, revoked: None }));
    let (who, fx) = op(&["write", "read"], "c1").checked(&l, NOW).unwrap();
    assert_eq!(who.unwrap().granted, Some(vec!["read".to_string(), "write".to_string()]));
    assert!(fx.puts.iter().all(|(k, _)| k != USER_KEY), "a known client is not written again");
    let g: Grant = serde_json::from_str(&fx.puts[0].1).unwrap();
    assert_eq!(g.created_at, 5);
    // Without a live session nothing is recorded.
    for l in [state(Some(user()), None, None), state(Some(User { disabled: true, ..user() }), Some(NOW + 10), None), state(Some(user()), Some(NOW), None)] {
        let (who, fx) = op(&["read"], "c2").checked(&l, NOW).unwrap();
        assert!(who.is_none() && fx.puts.is_empty());
    }
}

#[test]
fn grants_and_revocation() {
    let a = Grant { client_id: "a".into(), scope: vec![], created_at: 9, revoked: None };
    let b = Grant { client_id: "b".into(), scope: vec!["x".into()], created_at: 2, revoked: None };
    let l = state(Some(user()), None, Some(a.clone())).with(grant_key("b"), &b);
    assert_eq!(Grants {}.checked(&l, NOW).unwrap().0, Some(vec![b.clone(), a.clone()]));
    assert_eq!(Grants {}.checked(&state(None, None, None), NOW).unwrap().0, None);
    // Step one: marked with the new epoch.
    let (epoch, fx) = RevokeGrant { client_id: "b".into() }.checked(&l, NOW).unwrap();
    assert_eq!(epoch, Some(4));
    assert_eq!(stored_user(&fx).epoch, 4);
    let marked: Grant = serde_json::from_str(&fx.puts.iter().find(|(k, _)| k == "g:b").unwrap().1).unwrap();
    assert_eq!(marked.revoked, Some(4));
    let l = l.with(grant_key("b"), &marked).with(USER_KEY, &User { epoch: 4, ..user() });
    // It no longer counts: not listed, not consent.
    assert_eq!(Grants {}.checked(&l, NOW).unwrap().0, Some(vec![a.clone()]));
    let l2 = l.clone().with(session_key(&sess()), &Session { created_ms: 0, expires_ms: NOW + 1 });
    assert_eq!(CheckSession { hash: sess(), client_id: Some("b".into()) }.checked(&l2, NOW).unwrap().0.unwrap().granted, None);
    // Repeated (a retry after a failed kill): the same epoch, nothing raised.
    let (epoch, fx) = RevokeGrant { client_id: "b".into() }.checked(&l, NOW).unwrap();
    assert_eq!((epoch, fx.puts.len()), (Some(4), 0));
    // Step two forgets it; only a revoked grant can be forgotten.
    assert_eq!(ForgetGrant { client_id: "b".into() }.checked(&l, NOW).unwrap().1.deletes, vec!["g:b"]);
    assert!(ForgetGrant { client_id: "a".into() }.checked(&l, NOW).unwrap().1.deletes.is_empty());
    let (epoch, fx) = RevokeGrant { client_id: "zzz".into() }.checked(&l, NOW).unwrap();
    assert!(epoch.is_none() && fx.puts.is_empty());
    // Approving again after a revocation starts a fresh grant.
    let (who, fx) = Authorize { session: sess(), client_id: "b".into(), scope: vec!["y".into()] }.checked(&l2, NOW).unwrap();
    assert_eq!(who.unwrap().granted, Some(vec!["y".to_string()]));
    let fresh: Grant = serde_json::from_str(&fx.puts.iter().find(|(k, _)| k == "g:b").unwrap().1).unwrap();
    assert_eq!((fresh.revoked, fresh.created_at), (None, NOW));
}

#[test]
fn sweep_plan() {
    let s = |e: u64| serde_json::to_string(&Session { created_ms: 0, expires_ms: e }).unwrap();
    let sessions = vec![("s:a".to_string(), s(50)), ("s:b".to_string(), s(200)), ("s:c".to_string(), s(120)), ("s:d".to_string(), "x".to_string())];
    assert_eq!(plan_sweep(&sessions, 100), (vec!["s:a".to_string(), "s:d".to_string()], Some(120)));
    assert_eq!(plan_sweep(&[], 100), (vec![], None));
}

#[test]
fn the_alarm_deletes_expired_sessions_and_rearms() {
    let s = |e: u64| serde_json::to_string(&Session { created_ms: 0, expires_ms: e }).unwrap();
    // A session ends at its expiry, not a moment later.
    assert_eq!(plan_sweep(&[("s:a".to_string(), s(100))], 100), (vec!["s:a".to_string()], None));
    let storage = crate::testing::MemStorage::default();
    storage.entries.borrow_mut().extend([("user".to_string(), "{}".to_string()), ("s:a".into(), s(50)), ("s:b".into(), s(200))]);
    assert_eq!(crate::block_on(sweep(&storage, 100)).unwrap(), 1);
    assert_eq!(storage.entries.borrow().keys().cloned().collect::<Vec<_>>(), ["s:b", "user"]);
    assert_eq!(storage.alarm.get(), Some(200));
    // Nothing expired: nothing deleted.
    assert_eq!(crate::block_on(sweep(&storage, 150)).unwrap(), 0);
    assert_eq!(storage.count("s:"), 1);
}

#[test]
fn create_only_into_an_empty_object() {
    let (ok, fx) = CreateUser { user: user() }.checked(&Loaded::default(), NOW).unwrap();
    assert!(ok);
    assert_eq!(fx.puts.len(), 1);
    // Ids are random, so this never happens in practice; if it did, nobody is overwritten.
    let held = Loaded::default().with(USER_KEY, &user());
    let (ok, fx) = CreateUser { user: User { username: "Mallory".into(), ..user() } }.checked(&held, NOW).unwrap();
    assert!(!ok);
    assert!(fx.puts.is_empty());
}
