//! The device decisions, as tables.

use super::*;
use crate::client::{Client, Settings};
use crate::secret::ClientSecret;
use crate::shard::keys::token_key;
use crate::shard::tokens::TokenRecord;
use crate::shard::Checked;

const NOW: u64 = 7_000_000;

fn code() -> SecretHash {
    SecretHash::of("device code")
}

fn record(status: DeviceStatus, last_poll: Option<u64>) -> DeviceRecord {
    DeviceRecord {
        resources: vec![],
        client_id: "cid".into(),
        scope: vec!["read".into()],
        device_code: code(),
        created_ms: NOW - 10_000,
        expires_ms: NOW + 590_000,
        interval_s: 5,
        last_poll_ms: last_poll,
        status,
    }
}

fn with(r: DeviceRecord) -> Loaded {
    Loaded::default().with(DEVICE_KEY, &r)
}

fn poll(client: &str, hash: SecretHash, l: &Loaded, now: u64) -> (Polled, Effects) {
    PollDevice { device_code: hash, client_id: client.into(), resources: vec![] }.checked(l, now).unwrap()
}

#[test]
fn poll_table() {
    let approved = DeviceStatus::Approved { user_id: "u1".into() };
    let cases: Vec<(&str, Loaded, &str, SecretHash, u64, Polled)> = vec![
        ("first poll, pending", with(record(DeviceStatus::Pending, None)), "cid", code(), NOW, Polled::Pending),
        ("5 s later, pending", with(record(DeviceStatus::Pending, Some(NOW - 5_000))), "cid", code(), NOW, Polled::Pending),
        ("too fast", with(record(DeviceStatus::Pending, Some(NOW - 4_999))), "cid", code(), NOW, Polled::SlowDown),
        ("denied", with(record(DeviceStatus::Denied, None)), "cid", code(), NOW, Polled::Denied),
        ("approved", with(record(approved.clone(), None)), "cid", code(), NOW, Polled::Approved { user_id: "u1".into() }),
        ("expired", with(record(DeviceStatus::Pending, None)), "cid", code(), NOW + 590_000, Polled::Expired),
        ("another client", with(record(approved.clone(), None)), "other", code(), NOW, Polled::Invalid),
        ("another device code", with(record(approved, None)), "cid", SecretHash::of("x"), NOW, Polled::Invalid),
        ("no flow", Loaded::default(), "cid", code(), NOW, Polled::Invalid),
    ];
    for (name, l, client, hash, now, want) in cases {
        assert_eq!(poll(client, hash, &l, now).0, want, "{name}");
    }
}

#[test]
fn slow_down_grows_the_interval_and_is_remembered() {
    let (reply, fx) = poll("cid", code(), &with(record(DeviceStatus::Pending, Some(NOW - 1_000))), NOW);
    assert_eq!(reply, Polled::SlowDown);
    let after: DeviceRecord = serde_json::from_str(&fx.puts[0].1).unwrap();
    assert_eq!((after.interval_s, after.last_poll_ms), (10, Some(NOW)));
    // Now 10 s apart are needed: 6 s is still too fast, 10 s is fine.
    assert_eq!(poll("cid", code(), &with(after.clone()), NOW + 6_000).0, Polled::SlowDown);
    assert_eq!(poll("cid", code(), &with(after), NOW + 10_000).0, Polled::Pending);
}

#[test]
fn create_lookup_decide() {
    let (ok, fx) = CreateDevice { record: record(DeviceStatus::Pending, None) }.checked(&Loaded::default(), NOW).unwrap();
    assert!(ok && fx.alarm_by == Some(NOW + 590_000 + EXPIRED_KEEP_MS), "kept after expiry to answer expired_token");
    let live = with(record(DeviceStatus::Pending, None));
    assert!(!CreateDevice { record: record(DeviceStatus::Pending, None) }.checked(&live, NOW).unwrap().0, "a live code is not reused");
    assert!(CreateDevice { record: record(DeviceStatus::Pending, None) }.checked(&live, NOW + 590_000).unwrap().0, "an expired one is");
    assert!(LookupDevice::default().checked(&live, NOW).unwrap().0.is_some());
    assert!(LookupDevice::default().checked(&live, NOW + 590_000).unwrap().0.is_none());
    assert!(LookupDevice::default().checked(&with(record(DeviceStatus::Denied, None)), NOW).unwrap().0.is_none(), "decided: no longer waiting");
    let approved = with(record(DeviceStatus::Approved { user_id: "u1".into() }, None));
    assert!(LookupDevice::default().checked(&approved, NOW).unwrap().0.is_none(), "approved: no longer waiting");
    let mine = |who: &str| LookupDevice { approved_by: Some(who.into()) }.checked(&approved, NOW).unwrap().0;
    assert!(mine("u1").is_some() && mine("u2").is_none(), "but found for its approver, repeating the approval");
    let (ok, fx) = DecideDevice { approved_by: Some("u1".into()) }.checked(&live, NOW).unwrap();
    assert!(ok);
    assert_eq!(serde_json::from_str::<DeviceRecord>(&fx.puts[0].1).unwrap().status, DeviceStatus::Approved { user_id: "u1".into() });
    let (ok, fx) = DecideDevice { approved_by: None }.checked(&live, NOW).unwrap();
    assert!(ok && serde_json::from_str::<DeviceRecord>(&fx.puts[0].1).unwrap().status == DeviceStatus::Denied);
    assert!(!DecideDevice { approved_by: None }.checked(&with(record(DeviceStatus::Denied, None)), NOW).unwrap().0, "decided once");
}

fn grant() -> DeviceGrant {
    DeviceGrant {
        client_id: "cid".into(),
        user_id: "u1".into(),
        username: "alice".into(),
        scope: vec!["read".into()],
        resources: vec![],
        epoch: 2,
        expires_ms: NOW + 100,
    }
}

fn redeem(client: &str) -> RedeemDevice {
    let c = Client::new("cid".into(), Settings::default(), &ClientSecret::new("s"), 0);
    RedeemDevice {
        device_code: code(),
        client_id: client.into(),
        generation: 0,
        tokens: NewTokens {
            resources: vec![],
            family_id: "fam".into(),
            access: SecretHash::of("a"),
            refresh: None,
            template: TokenRecord::new(&c, 0, vec![], None, NOW),
            refresh_ttl_s: 600,
        },
    }
}

#[test]
fn redemption_is_once() {
    let l = Loaded::default().with(device_grant_key(&code()), &grant());
    let (reply, fx) = redeem("cid").checked(&l, NOW).unwrap();
    assert!(matches!(reply, Redeemed::Issued(_)));
    assert!(fx.deletes.contains(&device_grant_key(&code())), "consumed in the same step");
    assert!(fx.puts.iter().any(|(k, _)| *k == token_key(&SecretHash::of("a"))));
    let cases = [
        ("consumed", Loaded::default(), "cid", Redeemed::InvalidGrant),
        ("another client", l.clone(), "other", Redeemed::InvalidGrant),
        ("user killed", l.clone().with(user_gate_key("u1"), &UserGate { min_epoch: 3 }), "cid", Redeemed::InvalidGrant),
        ("client disabled", l.clone().with(GATE_KEY, &Gate { disabled: true, ..Gate::default() }), "cid", Redeemed::ClientGone),
    ];
    for (name, l, client, want) in cases {
        assert_eq!(redeem(client).checked(&l, NOW).unwrap().0, want, "{name}");
    }
    assert_eq!(redeem("cid").checked(&l, NOW + 100).unwrap().0, Redeemed::InvalidGrant, "expired");
}

#[test]
fn store_grant_checks_client_and_user() {
    let op = || StoreDeviceGrant { device_code: code(), grant: grant() };
    assert_eq!(op().checked(&Loaded::default(), NOW).unwrap().0, Stored::Stored);
    assert_eq!(op().checked(&Loaded::default().with(GATE_KEY, &Gate { deleted: true, ..Gate::default() }), NOW).unwrap().0, Stored::ClientGone);
    assert_eq!(op().checked(&Loaded::default().with(user_gate_key("u1"), &UserGate { min_epoch: 3 }), NOW).unwrap().0, Stored::UserGone);
}

/// RFC 8707 for the device grant: the approval carries the resources asked for at
/// `/device_authorization`; the token request may narrow them; another one uses nothing up.
#[test]
fn redemption_narrows_resources_within_the_approval() {
    let api = "https://api.example.com";
    let approved = DeviceGrant { resources: vec![api.into(), "https://b.example".into()], ..grant() };
    let l = Loaded::default().with(device_grant_key(&code()), &approved);
    let asking =
        |r: &[&str]| RedeemDevice { tokens: NewTokens { resources: r.iter().map(|s| s.to_string()).collect(), ..redeem("cid").tokens }, ..redeem("cid") };
    let aud = |fx: &Effects| -> Vec<String> {
        let (_, v) = fx.puts.iter().find(|(k, _)| *k == token_key(&SecretHash::of("a"))).unwrap();
        serde_json::from_str::<TokenRecord>(v).unwrap().aud
    };
    let (_, fx) = asking(&[]).checked(&l, NOW).unwrap();
    assert_eq!(aud(&fx), vec![api, "https://b.example"], "none named: all approved");
    let (_, fx) = asking(&["https://api.example.com/"]).checked(&l, NOW).unwrap();
    assert_eq!(aud(&fx), vec![api]);
    let (reply, fx) = asking(&["https://c.example"]).checked(&l, NOW).unwrap();
    assert_eq!(reply, Redeemed::InvalidTarget);
    assert!(fx.puts.is_empty() && fx.deletes.is_empty(), "the approval stays for a correct request");
}

/// A poll naming a resource the flow was not started for is refused before anything changes:
/// the device that corrects it may poll again at once.
#[test]
fn a_poll_with_another_resource_changes_nothing() {
    let flow = DeviceRecord { resources: vec!["https://api.example.com".into()], ..record(DeviceStatus::Pending, Some(NOW - 5_000)) };
    let asking = |r: &[&str]| PollDevice { device_code: code(), client_id: "cid".into(), resources: r.iter().map(|s| s.to_string()).collect() };
    let (reply, fx) = asking(&["https://other.example"]).checked(&with(flow.clone()), NOW).unwrap();
    assert_eq!(reply, Polled::InvalidTarget);
    assert!(fx.puts.is_empty(), "no poll time written");
    assert_eq!(asking(&["https://api.example.com/"]).checked(&with(flow.clone()), NOW).unwrap().0, Polled::Pending);
    assert_eq!(asking(&[]).checked(&with(flow), NOW).unwrap().0, Polled::Pending);
}
