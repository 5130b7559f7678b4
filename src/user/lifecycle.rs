//! Making a person: the one path `POST /admin/users` and `/signup` share. The name first (one
//! object per lower-cased name makes the check and the claim one step), then the person's
//! object, then the KV copy; a failure takes the KV copy away and gives the name back (any
//! step may have landed though its answer was lost: the claim, the copy).

use super::{name_object, object_name, store, NewUser, User};
use crate::app::App;
use crate::auth::password;
use crate::error::OAuthError;
use crate::secret::{generate_client_id, Random};
use crate::shard::names::{Claim, Release};
use crate::shard::users::CreateUser;
use crate::store::Platform;

pub async fn create<P: Platform>(app: &App<P>, new: &NewUser, now_ms: u64, rng: &mut dyn Random) -> Result<User, OAuthError> {
    let user_id = generate_client_id(rng);
    let claim = name_object(&new.username);
    let created = async {
        if app.call(&claim, Claim { user_id: user_id.clone() }).await?.is_some() {
            return Err(OAuthError::Conflict { field: "username", description: "this username is taken (usernames are compared ignoring case)".into() });
        }
        let hash = password::hash(&app.crypto, &new.password, app.config.pbkdf2_iterations, rng)
            .await
            .map_err(|e| OAuthError::ServerError(format!("password hashing: {}", e.0)))?;
        let user = User {
            user_id: user_id.clone(),
            username: new.username.clone(),
            name: new.name.clone(),
            created_at: now_ms,
            updated_at: now_ms,
            disabled: false,
            password: hash,
            epoch: 0,
            clients: Vec::new(),
            deleted: false,
        };
        if !app.call(&object_name(&user_id), CreateUser { user: user.clone() }).await? {
            return Err(OAuthError::ServerError("a fresh user id was taken".into()));
        }
        store::put(&app.kv, &user).await?;
        Ok(user)
    }
    .await;
    if created.as_ref().is_err_and(|e| !matches!(e, OAuthError::Conflict { .. })) {
        // Undo what may have landed, the copy first (so that no listed person lacks their
        // name), then give the name back (only if this id holds it), so that a retry can have
        // it. Best effort: the error is what the caller needs to see. (The person's object,
        // if it was made, is named by nothing and never read.)
        let _ = store::delete(&app.kv, &user_id).await;
        let _ = app.call(&claim, Release { user_id }).await;
    }
    created
}
