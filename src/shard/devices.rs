//! The device authorization grant (RFC 8628). A flow lives in the object named by its user
//! code, `device:{CODE}` (class `TokenShard`), so that the person entering the code and the
//! device polling with its device code reach the same single writer: approval and polling are
//! strongly consistent. The approval itself is also stored in the shard where the tokens will
//! live (the user's shard of the client, `d:{device code hash}`), which consumes it once, in
//! the same step that creates the family: one redemption per device code, and user kills reach
//! it like any family.

use super::codes::Stored;
use super::families::UserGate;
use super::gate::Gate;
use super::keys::{device_grant_key, user_gate_key, GATE_KEY};
use super::start::{new_family, Authorized, NewTokens, Redeemed};
use super::usage::{tally, Field, USAGE_KEY};
use super::{Effects, Loaded, Op};
use crate::error::StoreError;
use crate::secret::SecretHash;
use serde::{Deserialize, Serialize};

pub const DEVICE_KEY: &str = "device";
/// RFC 8628 §3.5: the interval grows by 5 s with every `slow_down`.
pub const SLOW_DOWN_S: u32 = 5;
/// An expired flow is kept this long, so that a late poll learns `expired_token` rather than
/// `invalid_grant`.
pub const EXPIRED_KEEP_MS: u64 = 600_000;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeviceStatus {
    Pending,
    /// Approved by this user: its grant waits in the user's shard.
    Approved {
        user_id: String,
    },
    Denied,
}

/// A device flow, in its object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceRecord {
    pub client_id: String,
    pub scope: Vec<String>,
    /// The resources asked for at `/device_authorization` (RFC 8707), checked there.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<String>,
    pub device_code: SecretHash,
    pub created_ms: u64,
    pub expires_ms: u64,
    pub interval_s: u32,
    /// The last poll that was not refused for coming too fast.
    #[serde(default)]
    pub last_poll_ms: Option<u64>,
    pub status: DeviceStatus,
}

impl DeviceRecord {
    pub fn is_live(&self, now_ms: u64) -> bool {
        now_ms < self.expires_ms
    }
}

/// Start a flow under a fresh user code. `false`: the code is in use (draw another).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateDevice {
    pub record: DeviceRecord,
}

impl Op for CreateDevice {
    type Reply = bool;
    fn keys(&self) -> Vec<String> {
        vec![DEVICE_KEY.into()]
    }
    fn decide(self, loaded: &Loaded, now_ms: u64) -> Result<(bool, Effects), StoreError> {
        let mut fx = Effects::default();
        if loaded.get::<DeviceRecord>(DEVICE_KEY)?.is_some_and(|d| d.is_live(now_ms)) {
            return Ok((false, fx));
        }
        fx.alarm(self.record.expires_ms + EXPIRED_KEEP_MS);
        fx.put(DEVICE_KEY.into(), &self.record);
        Ok((true, fx))
    }
}

/// The flow a person's code names, while it waits for a decision; or, with `approved_by`,
/// also once that person approved it (their approval repeated: its answer was lost).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LookupDevice {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approved_by: Option<String>,
}

impl Op for LookupDevice {
    type Reply = Option<DeviceRecord>;
    fn keys(&self) -> Vec<String> {
        vec![DEVICE_KEY.into()]
    }
    fn decide(self, loaded: &Loaded, now_ms: u64) -> Result<(Option<DeviceRecord>, Effects), StoreError> {
        let waiting = |d: &DeviceRecord| match &d.status {
            DeviceStatus::Pending => true,
            DeviceStatus::Approved { user_id } => self.approved_by.as_ref() == Some(user_id),
            DeviceStatus::Denied => false,
        };
        let live = loaded.get::<DeviceRecord>(DEVICE_KEY)?.filter(|d| d.is_live(now_ms) && waiting(d));
        Ok((live, Effects::default()))
    }
}

/// The person decided: approve (as `user_id`) or deny. `false` if the flow is no longer
/// waiting (expired, decided already).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecideDevice {
    #[serde(default)]
    pub approved_by: Option<String>,
}

impl Op for DecideDevice {
    type Reply = bool;
    fn keys(&self) -> Vec<String> {
        vec![DEVICE_KEY.into()]
    }
    fn decide(self, loaded: &Loaded, now_ms: u64) -> Result<(bool, Effects), StoreError> {
        let mut fx = Effects::default();
        let Some(mut d) = loaded.get::<DeviceRecord>(DEVICE_KEY)?.filter(|d| d.is_live(now_ms) && d.status == DeviceStatus::Pending) else {
            return Ok((false, fx));
        };
        d.status = match self.approved_by {
            Some(user_id) => DeviceStatus::Approved { user_id },
            None => DeviceStatus::Denied,
        };
        fx.put(DEVICE_KEY.into(), &d);
        Ok((true, fx))
    }
}

/// A poll by the device (RFC 8628 §3.4, §3.5).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PollDevice {
    pub device_code: SecretHash,
    pub client_id: String,
    /// `resource` values of the token request (RFC 8707): each must be among the flow's.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Polled {
    Pending,
    SlowDown,
    Denied,
    Expired,
    /// Unknown device code, or another client's.
    Invalid,
    /// Approved: redeem the grant waiting in this user's shard.
    Approved {
        user_id: String,
    },
    /// A resource the flow was not started for: nothing changes (not even the poll time).
    InvalidTarget,
}

impl Op for PollDevice {
    type Reply = Polled;
    fn keys(&self) -> Vec<String> {
        vec![DEVICE_KEY.into()]
    }
    fn decide(self, loaded: &Loaded, now_ms: u64) -> Result<(Polled, Effects), StoreError> {
        let mut fx = Effects::default();
        let Some(mut d) = loaded.get::<DeviceRecord>(DEVICE_KEY)?.filter(|d| d.device_code == self.device_code) else {
            return Ok((Polled::Invalid, fx));
        };
        if d.client_id != self.client_id {
            return Ok((Polled::Invalid, fx));
        }
        if !d.is_live(now_ms) {
            return Ok((Polled::Expired, fx));
        }
        if crate::resource::select(&self.resources, &d.resources).is_err() {
            return Ok((Polled::InvalidTarget, fx));
        }
        // Too fast: refused, and the interval this device must keep grows (remembered).
        if d.last_poll_ms.is_some_and(|last| now_ms < last + u64::from(d.interval_s) * 1000) {
            d.interval_s += SLOW_DOWN_S;
            d.last_poll_ms = Some(now_ms);
            fx.put(DEVICE_KEY.into(), &d);
            return Ok((Polled::SlowDown, fx));
        }
        d.last_poll_ms = Some(now_ms);
        let reply = match &d.status {
            DeviceStatus::Pending => Polled::Pending,
            DeviceStatus::Denied => Polled::Denied,
            DeviceStatus::Approved { user_id } => Polled::Approved { user_id: user_id.clone() },
        };
        fx.put(DEVICE_KEY.into(), &d);
        Ok((reply, fx))
    }
}

/// An approval, waiting in the user's shard for the device to redeem it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceGrant {
    pub client_id: String,
    pub user_id: String,
    pub username: String,
    pub scope: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<String>,
    pub epoch: u32,
    pub expires_ms: u64,
}

/// Store an approval where its tokens will live (checked like a code: the client's gate and
/// the user's epoch).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoreDeviceGrant {
    pub device_code: SecretHash,
    pub grant: DeviceGrant,
}

impl Op for StoreDeviceGrant {
    type Reply = Stored;
    fn keys(&self) -> Vec<String> {
        vec![GATE_KEY.into(), user_gate_key(&self.grant.user_id)]
    }
    fn decide(self, loaded: &Loaded, _now_ms: u64) -> Result<(Stored, Effects), StoreError> {
        let mut fx = Effects::default();
        let gate: Gate = loaded.get(GATE_KEY)?.unwrap_or_default();
        let user: UserGate = loaded.get(&user_gate_key(&self.grant.user_id))?.unwrap_or_default();
        if !gate.open() {
            return Ok((Stored::ClientGone, fx));
        }
        if self.grant.epoch < user.min_epoch {
            return Ok((Stored::UserGone, fx));
        }
        fx.alarm(self.grant.expires_ms);
        fx.put(device_grant_key(&self.device_code), &self.grant);
        Ok((Stored::Stored, fx))
    }
}

/// The device redeems its approval: once, in the step that creates its family.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RedeemDevice {
    pub device_code: SecretHash,
    pub client_id: String,
    pub generation: u32,
    pub tokens: NewTokens,
}

impl Op for RedeemDevice {
    type Reply = Redeemed;
    fn keys(&self) -> Vec<String> {
        vec![GATE_KEY.into(), device_grant_key(&self.device_code), USAGE_KEY.into()]
    }
    fn more_keys(&self, loaded: &Loaded) -> Result<Vec<String>, StoreError> {
        Ok(loaded.get::<DeviceGrant>(&device_grant_key(&self.device_code))?.map(|g| user_gate_key(&g.user_id)).into_iter().collect())
    }
    fn decide(self, loaded: &Loaded, now_ms: u64) -> Result<(Redeemed, Effects), StoreError> {
        let mut fx = Effects::default();
        let key = device_grant_key(&self.device_code);
        let Some(grant) = loaded.get::<DeviceGrant>(&key)? else { return Ok((Redeemed::InvalidGrant, fx)) };
        let user: UserGate = loaded.get(&user_gate_key(&grant.user_id))?.unwrap_or_default();
        if grant.client_id != self.client_id || now_ms >= grant.expires_ms || grant.epoch < user.min_epoch {
            return Ok((Redeemed::InvalidGrant, fx));
        }
        let gate: Gate = loaded.get(GATE_KEY)?.unwrap_or_default();
        if !gate.admits(self.generation, now_ms) {
            return Ok((Redeemed::ClientGone, fx));
        }
        let authorized = Authorized { scope: grant.scope, resources: grant.resources };
        // An unauthorized resource leaves the approval in place (nothing was written yet).
        let Some(issued) = new_family(&mut fx, (&grant.user_id, &grant.username), authorized, grant.epoch, self.tokens, now_ms) else {
            return Ok((Redeemed::InvalidTarget, fx));
        };
        fx.delete(key);
        tally(loaded, &mut fx, &[Field::TokensIssued], now_ms)?;
        Ok((Redeemed::Issued(issued), fx))
    }
}

#[cfg(test)]
mod tests;
