//! Users and HTTP Basic authentication. Passwords are stored as PBKDF2-SHA256 hashes; a verified
//! `Authorization` value is cached for a minute so that a busy client does not pay a password
//! hash per request.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use rand::RngCore;
use sqlx::Row;

use crate::config::HeaderAuth;
use crate::db::{Db, get_bool};
use crate::identity;
use crate::models::{group, user};
use crate::{CoreError, CoreResult};

const CACHE_TTL: Duration = Duration::from_secs(60);

#[derive(Debug, Clone)]
pub struct User {
    pub id: String,
    pub username: String,
    pub is_superuser: bool,
    /// The organisation of the identity header it signed in with, if any.
    pub org_id: Option<String>,
}

impl User {
    /// Refuses what only a superuser may do. Until roles exist (issue 16) that is everything
    /// past signing in: other users (made by identity headers) are known but may do nothing.
    pub fn permitted(&self) -> CoreResult<()> {
        match self.is_superuser {
            true => Ok(()),
            false => Err(CoreError::Forbidden(
                "You do not have permission to perform this action.".into(),
            )),
        }
    }
}

/// What a request signs in with.
#[derive(Debug, Clone, Copy)]
pub enum Credentials<'a> {
    /// An `Authorization: Basic ...` value.
    Basic(&'a str),
    /// The JSON identity header's value (`X-RH-IDENTITY`).
    JsonHeader(&'a str),
    /// The remote-user header's value.
    RemoteUser(&'a str),
}

/// The user `credentials` name: a password checked, or a gateway's identity taken at its word
/// (the user is made on first sign-in, without a password, as Pulp's remote-user backend does).
pub async fn authenticate(
    db: &Db,
    cache: &AuthCache,
    auth: &HeaderAuth,
    credentials: Credentials<'_>,
    org_domains: bool,
) -> CoreResult<User> {
    let (key, identity) = match credentials {
        Credentials::Basic(header) => return authenticate_basic(db, cache, header).await,
        Credentials::JsonHeader(value) => {
            let key = format!("json:{value}");
            if let Some(user) = cache.verified(&key) {
                return Ok(user);
            }
            let (_, filter) = auth.json_header.as_ref().ok_or_else(|| {
                CoreError::Unauthenticated("Identity headers are not accepted here.".into())
            })?;
            (key, identity::from_json_header(value, filter)?)
        }
        Credentials::RemoteUser(value) => {
            let key = format!("remote:{value}");
            if let Some(user) = cache.verified(&key) {
                return Ok(user);
            }
            (key, identity::from_remote_user(value)?)
        }
    };
    let mut user = find_or_create(db, &identity.username).await?;
    if let Some(org_id) = &identity.org_id {
        let group = join_org_group(db, &user.id, org_id).await?;
        if org_domains {
            crate::models::domain::of_org(db, org_id, &group).await?;
        }
    }
    user.org_id = identity.org_id;
    cache.remember(key, &user);
    Ok(user)
}

/// The group of an organisation's users, as pulp-service names it.
pub fn org_group_name(org_id: &str) -> String {
    format!("rh-org-{org_id}")
}

/// Puts the user in their organisation's group (made on first use), as pulp-service does on
/// each identity sign-in; returns the group's id.
async fn join_org_group(db: &Db, user_id: &str, org_id: &str) -> CoreResult<String> {
    let name = org_group_name(org_id);
    let found = match group::find_by_name(db, &name).await? {
        Some(g) => g,
        None => match group::create(db, &name).await {
            Ok(g) => g,
            // Made meanwhile by a concurrent sign-in.
            Err(CoreError::Invalid(_)) => group::find_by_name(db, &name)
                .await?
                .ok_or_else(|| CoreError::Internal(format!("group {name} vanished")))?,
            Err(e) => return Err(e),
        },
    };
    group::join(db, &found.id, user_id).await?;
    Ok(found.id)
}

/// The user `username`, made (without a usable password) when it does not exist yet; an
/// inactive user may not sign in.
async fn find_or_create(db: &Db, username: &str) -> CoreResult<User> {
    let find = || async {
        let row = row_of(db, username).await?;
        row.map(|r| Ok::<_, CoreError>((signed_in(&r)?, get_bool(&r, "is_active")?)))
            .transpose()
    };
    let found = match find().await? {
        Some(found) => found,
        None => {
            let new = user::NewUser {
                username: username.to_string(),
                is_active: true,
                ..Default::default()
            };
            match user::create(db, new).await {
                // Made meanwhile by a concurrent first sign-in.
                Ok(_) | Err(CoreError::Invalid(_)) => {}
                Err(e) => return Err(e),
            }
            find()
                .await?
                .ok_or_else(|| CoreError::Internal(format!("user {username} vanished")))?
        }
    };
    match found {
        (user, true) => Ok(user),
        (_, false) => Err(inactive()),
    }
}

fn inactive() -> CoreError {
    CoreError::Unauthenticated("User inactive or deleted.".into())
}

/// What signing in reads of the user `username`.
async fn row_of(db: &Db, username: &str) -> CoreResult<Option<sqlx::any::AnyRow>> {
    Ok(sqlx::query(
        "SELECT id, username, password_hash, is_superuser, is_active FROM users WHERE username = $1",
    )
    .bind(username)
    .fetch_optional(db.pool())
    .await?)
}

/// The signed-in user of a `users` row.
fn signed_in(row: &sqlx::any::AnyRow) -> CoreResult<User> {
    Ok(User {
        id: row.try_get("id")?,
        username: row.try_get("username")?,
        is_superuser: get_bool(row, "is_superuser")?,
        org_id: None,
    })
}

pub use depot_password::{hash as hash_password, verify as verify_password};

/// Creates the `admin` superuser at first start. Returns the generated password when none was
/// configured, so that the caller can print it once.
pub async fn ensure_admin(db: &Db, configured: Option<&str>) -> CoreResult<Option<String>> {
    let exists: Option<String> =
        sqlx::query_scalar("SELECT id FROM users WHERE username = 'admin'")
            .fetch_optional(db.pool())
            .await?;
    if exists.is_some() {
        if let Some(pw) = configured {
            // The setting wins: keep the stored hash in step with it.
            let row = sqlx::query("SELECT password_hash FROM users WHERE username = 'admin'")
                .fetch_one(db.pool())
                .await?;
            let stored: String = row.try_get(0)?;
            if !verify_password(pw, &stored) {
                sqlx::query("UPDATE users SET password_hash = $1 WHERE username = 'admin'")
                    .bind(hash_password(pw))
                    .execute(db.pool())
                    .await?;
            }
        }
        return Ok(None);
    }
    let (password, generated) = match configured {
        Some(p) => (p.to_string(), false),
        None => {
            let mut bytes = [0u8; 18];
            rand::rng().fill_bytes(&mut bytes);
            (
                base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes),
                true,
            )
        }
    };
    let admin = user::NewUser {
        username: "admin".into(),
        password: Some(password.clone()),
        is_active: true,
        is_staff: true,
        is_superuser: true,
        ..Default::default()
    };
    match user::create(db, admin).await {
        // Made meanwhile by another process starting.
        Err(CoreError::Invalid(_)) => {}
        other => {
            other?;
        }
    }
    Ok(generated.then_some(password))
}

/// Failed sign-ins a user may have within [`FAILURE_WINDOW`] before further attempts for that
/// user are refused without checking the password (429).
pub const MAX_USER_FAILURES: u32 = 10;
/// Failed sign-ins one client address may have within [`FAILURE_WINDOW`] before its
/// unverified credentials are refused (429; see `depot_http`).
pub const MAX_ADDRESS_FAILURES: u32 = 30;
pub const FAILURE_WINDOW: Duration = Duration::from_secs(60);
/// Failure counters kept at most; past that the expired ones go, then all.
const MAX_COUNTERS: usize = 10_000;

/// Verified credentials, failure counters per user and per address, and the bound on password
/// hashes computed at once: credentials already verified never wait behind guesses.
pub struct AuthCache {
    /// By the sha256 of the credential: an entry costs the same whatever the header's size.
    entries: Mutex<HashMap<[u8; 32], (User, Instant)>>,
    failures: Mutex<HashMap<String, (u32, Instant)>>,
    hashing: tokio::sync::Semaphore,
}

impl Default for AuthCache {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Self {
            entries: Mutex::default(),
            failures: Mutex::default(),
            hashing: tokio::sync::Semaphore::new(cores),
        }
    }
}

impl AuthCache {
    /// Whether `header` holds credentials verified within the last minute.
    pub fn is_verified(&self, header: &str) -> bool {
        self.verified(header).is_some()
    }

    /// Forgets every verified credential (a user changed or went).
    pub fn forget(&self) {
        self.entries.lock().expect("auth cache").clear();
    }

    /// Keeps `user` as verified for `key` (a credential) for a minute.
    fn remember(&self, key: String, user: &User) {
        let mut entries = self.entries.lock().expect("auth cache");
        if entries.len() > 10_000 {
            entries.clear();
        }
        entries.insert(digest(&key), (user.clone(), Instant::now()));
    }

    fn verified(&self, header: &str) -> Option<User> {
        let entries = self.entries.lock().expect("auth cache");
        let (user, at) = entries.get(&digest(header))?;
        (at.elapsed() < CACHE_TTL).then(|| user.clone())
    }

    /// Whether `key` has reached `max` failures in the current window.
    fn throttled(&self, key: &str, max: u32) -> bool {
        let failures = self.failures.lock().expect("auth failures");
        failures
            .get(key)
            .is_some_and(|(n, since)| *n >= max && since.elapsed() < FAILURE_WINDOW)
    }

    fn failed(&self, key: String) {
        let mut failures = self.failures.lock().expect("auth failures");
        if failures.len() >= MAX_COUNTERS {
            failures.retain(|_, (_, since)| since.elapsed() < FAILURE_WINDOW);
            if failures.len() >= MAX_COUNTERS {
                failures.clear();
            }
        }
        let entry = failures.entry(key).or_insert((0, Instant::now()));
        if entry.1.elapsed() >= FAILURE_WINDOW {
            *entry = (0, Instant::now());
        }
        entry.0 += 1;
    }

    /// Whether the address has failed too often to have unverified credentials checked.
    pub fn address_throttled(&self, address: std::net::IpAddr) -> bool {
        self.throttled(&format!("addr:{address}"), MAX_ADDRESS_FAILURES)
    }

    /// Counts a refused sign-in from `address`.
    pub fn address_failed(&self, address: std::net::IpAddr) {
        self.failed(format!("addr:{address}"));
    }
}

fn digest(credential: &str) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(credential.as_bytes()).into()
}

/// Whether an `Authorization` value is Basic with no credentials in it (containers/image sends
/// that when it has none): an anonymous request, not a failed sign-in.
pub fn is_empty_basic(value: &str) -> bool {
    value
        .strip_prefix("Basic ")
        .and_then(|b| STANDARD.decode(b.trim()).ok())
        .is_some_and(|d| d == b":" || d.is_empty())
}

/// Whether `password` is user `user_id`'s (hashed off the async threads).
pub async fn has_password(db: &Db, user_id: &str, password: &str) -> CoreResult<bool> {
    let stored: Option<String> =
        sqlx::query_scalar("SELECT password_hash FROM users WHERE id = $1")
            .bind(user_id)
            .fetch_optional(db.pool())
            .await?;
    let Some(stored) = stored else {
        return Ok(false);
    };
    let password = password.to_string();
    tokio::task::spawn_blocking(move || verify_password(&password, &stored))
        .await
        .map_err(|e| CoreError::Internal(e.to_string()))
}

/// Checks an `Authorization: Basic ...` header value.
pub async fn authenticate_basic(db: &Db, cache: &AuthCache, header: &str) -> CoreResult<User> {
    let bad = || CoreError::Unauthenticated("Invalid username/password.".into());
    if let Some(user) = cache.verified(header) {
        return Ok(user);
    }
    let encoded = header.strip_prefix("Basic ").ok_or_else(|| {
        CoreError::Unauthenticated("Authentication credentials were not provided.".into())
    })?;
    let decoded = STANDARD.decode(encoded.trim()).map_err(|_| bad())?;
    let decoded = String::from_utf8(decoded).map_err(|_| bad())?;
    let (username, password) = decoded.split_once(':').ok_or_else(bad)?;
    // Counted under at most the name's first 150 bytes (Django's longest user name), so that
    // long made-up names cannot make the counters large.
    let cut = (0..=username.len().min(150))
        .rev()
        .find(|i| username.is_char_boundary(*i))
        .unwrap_or(0);
    let user_key = format!("user:{}", &username[..cut]);
    let throttled = || {
        CoreError::Throttled(
            "Too many failed sign-ins for this user; try again in a minute.".into(),
        )
    };
    if cache.throttled(&user_key, MAX_USER_FAILURES) {
        return Err(throttled());
    }
    let Some(row) = row_of(db, username).await? else {
        cache.failed(user_key);
        return Err(bad());
    };
    let stored: String = row.try_get("password_hash")?;
    let password = password.to_string();
    // At most one hash per core at a time: guesses queue here, not on the blocking pool.
    let _turn = cache
        .hashing
        .acquire()
        .await
        .map_err(|e| CoreError::Internal(e.to_string()))?;
    // Guesses that queued while others failed are refused now, unhashed.
    if cache.throttled(&user_key, MAX_USER_FAILURES) {
        return Err(throttled());
    }
    let ok = tokio::task::spawn_blocking(move || verify_password(&password, &stored))
        .await
        .map_err(|e| CoreError::Internal(e.to_string()))?;
    if !ok {
        cache.failed(user_key);
        return Err(bad());
    }
    if !get_bool(&row, "is_active")? {
        return Err(inactive());
    }
    let user = signed_in(&row)?;
    cache.remember(header.to_string(), &user);
    Ok(user)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_round_trip() {
        let h = hash_password("s3cret");
        assert!(verify_password("s3cret", &h));
        assert!(!verify_password("wrong", &h));
        assert!(!verify_password("s3cret", "garbage"));
    }
}
