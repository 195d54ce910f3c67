//! Sessions made by `login/`, as Pulp's web UI signs in: a random key in the `sessionid`
//! cookie (stored only as its sha256) and a CSRF token in the `csrftoken` cookie, which every
//! write made with the session must repeat in the `X-CSRFToken` header.

use std::time::{Duration, SystemTime};

use sha2::Digest;
use sqlx::Row;

use crate::db::{Db, get_bool};
use crate::users::User;
use crate::{CoreError, CoreResult};

pub const COOKIE: &str = "sessionid";
pub const CSRF_COOKIE: &str = "csrftoken";
pub const CSRF_HEADER: &str = "x-csrftoken";

/// The most sessions one user keeps; logging in again drops the oldest beyond it.
pub const MAX_PER_USER: i64 = 50;

/// A session key and a CSRF token: 32 random bytes, in hex.
const TOKEN_LEN: usize = 64;

/// A live session: whose it is and the token its writes must carry.
pub struct Session {
    pub user: User,
    pub csrf_token: String,
}

fn token() -> CoreResult<String> {
    let mut bytes = [0u8; TOKEN_LEN / 2];
    aws_lc_rs::rand::fill(&mut bytes)
        .map_err(|_| CoreError::Internal("no randomness for a session key".into()))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

fn id_of(key: &str) -> String {
    sha2::Sha256::digest(key.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Whether `value` could be a key or token this module made (checked before any lookup).
pub fn well_formed(value: &str) -> bool {
    value.len() == TOKEN_LEN && value.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Starts a session for `user_id` lasting `age_secs`; returns its key and CSRF token.
pub async fn create(db: &Db, user_id: &str, age_secs: u64) -> CoreResult<(String, String)> {
    let (key, csrf) = (token()?, token()?);
    let now = crate::time::now();
    let expires =
        crate::time::format_system_time(SystemTime::now() + Duration::from_secs(age_secs));
    sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND expires <= $2")
        .bind(user_id)
        .bind(&now)
        .execute(db.pool())
        .await?;
    sqlx::query(
        "INSERT INTO sessions (id, user_id, csrf_token, created, expires) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(id_of(&key))
    .bind(user_id)
    .bind(&csrf)
    .bind(&now)
    .bind(&expires)
    .execute(db.pool())
    .await?;
    // Keep the newest sessions only: logging in in a loop cannot grow the table.
    sqlx::query(
        "DELETE FROM sessions WHERE user_id = $1 AND id NOT IN \
         (SELECT id FROM sessions WHERE user_id = $1 ORDER BY created DESC LIMIT $2)",
    )
    .bind(user_id)
    .bind(MAX_PER_USER)
    .execute(db.pool())
    .await?;
    Ok((key, csrf))
}

/// The live session `key` names, of an active user; `None` for anything else.
pub async fn find(db: &Db, key: &str) -> CoreResult<Option<Session>> {
    if !well_formed(key) {
        return Ok(None);
    }
    let row = sqlx::query(
        "SELECT u.id, u.username, u.is_superuser, u.is_active, s.csrf_token FROM sessions s \
         JOIN users u ON u.id = s.user_id WHERE s.id = $1 AND s.expires > $2",
    )
    .bind(id_of(key))
    .bind(crate::time::now())
    .fetch_optional(db.pool())
    .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    if !get_bool(&row, "is_active")? {
        return Ok(None);
    }
    Ok(Some(Session {
        user: User {
            id: row.try_get("id")?,
            username: row.try_get("username")?,
            is_superuser: get_bool(&row, "is_superuser")?,
            org_id: None,
        },
        csrf_token: row.try_get("csrf_token")?,
    }))
}

/// Ends session `key` (logging out); an unknown key is no change.
pub async fn delete(db: &Db, key: &str) -> CoreResult<()> {
    sqlx::query("DELETE FROM sessions WHERE id = $1")
        .bind(id_of(key))
        .execute(db.pool())
        .await?;
    Ok(())
}

/// Ends every session of `user_id` (their password changed).
pub async fn delete_all(db: &Db, user_id: &str) -> CoreResult<()> {
    sqlx::query("DELETE FROM sessions WHERE user_id = $1")
        .bind(user_id)
        .execute(db.pool())
        .await?;
    Ok(())
}

/// Compares two tokens in time that does not depend on where they differ.
pub fn same_token(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}
