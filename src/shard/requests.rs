//! The wire: every operation of each class of object, in the request enum it travels in
//! (tagged by operation name), and each class's entry point, one JSON request in, its JSON
//! reply out. The operations are the record modules'; the machinery that runs them is
//! [`super`]'s. Nothing below names this module: it is the top of the shard.

use super::{apis, blocklist, codes, counters, devices, families, gate, intents, names, refresh, registration, start, tokens, usage, users, webhooks};
use super::{parse, run, AnyOp, ShardStorage};
use crate::error::StoreError;
use crate::store::Namespace;
use serde::{Deserialize, Serialize};

/// One enum of requests per class of object, tagged by operation name on the wire.
macro_rules! requests {
    ($name:ident in $ns:expr => { $($variant:ident($op:ty)),* $(,)? }) => {
        /// Every operation of this class, as it travels to the Durable Object.
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $($variant($op)),*
        }

        $(impl From<$op> for $name {
            fn from(op: $op) -> Self {
                $name::$variant(op)
            }
        }

        impl $crate::shard::Addressed for $op {
            type Request = $name;
            const NS: $crate::store::Namespace = $ns;
        })*

        impl $name {
            pub async fn execute<S: $crate::shard::ShardStorage>(self, s: &S, now_ms: u64) -> Result<String, $crate::error::StoreError> {
                let op: Box<dyn AnyOp> = match self {
                    $($name::$variant(op) => Box::new(op)),*
                };
                run(s, op, now_ms).await
            }
        }
    };
}

requests! { Request in Namespace::Tokens => {
    Issue(tokens::Issue),
    Validate(tokens::Validate),
    Introspect(tokens::Introspect),
    Revoke(tokens::Revoke),
    Gate(gate::ChangeGate),
    Check(gate::Check),
    Count(counters::Count),
    Peek(counters::Peek),
    IssueCode(codes::IssueCode),
    RedeemCode(codes::RedeemCode),
    KillUser(families::KillUser),
    Refresh(refresh::Refresh),
    CreateDevice(devices::CreateDevice),
    LookupDevice(devices::LookupDevice),
    DecideDevice(devices::DecideDevice),
    PollDevice(devices::PollDevice),
    StoreDeviceGrant(devices::StoreDeviceGrant),
    RedeemDevice(devices::RedeemDevice),
    IssueExchanged(start::IssueExchanged),
    Block(blocklist::Block),
    Unblock(blocklist::Unblock),
    IsBlocked(blocklist::IsBlocked),
    ListBlocked(blocklist::ListBlocked),
    CreateRegistrationToken(registration::CreateToken),
    ListRegistrationTokens(registration::ListTokens),
    DeleteRegistrationToken(registration::DeleteToken),
    UseRegistrationToken(registration::UseToken),
    ReturnRegistrationUse(registration::ReturnUse),
    ReadUsage(usage::ReadUsage),
    LastUsed(usage::LastUsed),
    SetWebhook(webhooks::SetWebhook),
    GetWebhook(webhooks::GetWebhook),
    DeleteWebhook(webhooks::DeleteWebhook),
    Raise(webhooks::Raise),
    Attempted(webhooks::Attempted),
    Deliveries(webhooks::Deliveries),
    Intend(intents::Intend),
    Done(intents::Done),
    Pending(intents::Pending),
}}

requests! { UserRequest in Namespace::Users => {
    CreateUser(users::CreateUser),
    GetUser(users::GetUser),
    UpdateUser(users::UpdateUser),
    DeleteUser(users::DeleteUser),
    PurgeUser(users::PurgeUser),
    StartSession(users::sessions::StartSession),
    CheckSession(users::sessions::CheckSession),
    EndSession(users::sessions::EndSession),
    Authorize(users::grants::Authorize),
    Grants(users::grants::Grants),
    RevokeGrant(users::grants::RevokeGrant),
    ForgetGrant(users::grants::ForgetGrant),
    AddClient(users::grants::AddClient),
    AddProject(users::projects::AddProject),
    RemoveProject(users::projects::RemoveProject),
    Projects(users::projects::Projects),
    CreateApi(apis::CreateApi),
    GetApi(apis::GetApi),
    UpdateApi(apis::UpdateApi),
    Attach(apis::Attach),
    Detach(apis::Detach),
    RetireApi(apis::RetireApi),
    Link(users::identities::Link),
    Unlink(users::identities::Unlink),
    Identities(users::identities::Identities),
    StartLinkedSession(users::identities::StartLinkedSession),
    Claim(names::Claim),
    Release(names::Release),
    Resolve(names::Resolve),
    Intend(intents::UserIntend),
    Done(intents::UserDone),
    Pending(intents::UserPending),
}}

/// A token shard's side: one request (JSON) in, its reply (JSON) out.
pub async fn handle<S: ShardStorage>(s: &S, request: &str, now_ms: u64) -> Result<String, StoreError> {
    parse::<Request>(request)?.execute(s, now_ms).await
}

/// A user object's side.
pub async fn handle_users<S: ShardStorage>(s: &S, request: &str, now_ms: u64) -> Result<String, StoreError> {
    parse::<UserRequest>(request)?.execute(s, now_ms).await
}
