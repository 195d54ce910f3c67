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

use crate::db::{Db, get_bool};
use crate::{CoreError, CoreResult};

const CACHE_TTL: Duration = Duration::from_secs(60);

#[derive(Debug, Clone)]
pub struct User {
    pub id: String,
    pub username: String,
    pub is_superuser: bool,
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
    sqlx::query("INSERT INTO users (id, username, password_hash, is_superuser, created) VALUES ($1, 'admin', $2, $3, $4) ON CONFLICT (username) DO NOTHING")
        .bind(crate::new_id())
        .bind(hash_password(&password))
        .bind(true)
        .bind(crate::time::now())
        .execute(db.pool())
        .await?;
    Ok(generated.then_some(password))
}

#[derive(Default)]
pub struct AuthCache {
    entries: Mutex<HashMap<String, (User, Instant)>>,
}

/// Checks an `Authorization: Basic ...` header value.
pub async fn authenticate_basic(db: &Db, cache: &AuthCache, header: &str) -> CoreResult<User> {
    let bad = || CoreError::Unauthenticated("Invalid username/password.".into());
    if let Some((user, at)) = cache.entries.lock().expect("auth cache").get(header)
        && at.elapsed() < CACHE_TTL
    {
        return Ok(user.clone());
    }
    let encoded = header.strip_prefix("Basic ").ok_or_else(|| {
        CoreError::Unauthenticated("Authentication credentials were not provided.".into())
    })?;
    let decoded = STANDARD.decode(encoded.trim()).map_err(|_| bad())?;
    let decoded = String::from_utf8(decoded).map_err(|_| bad())?;
    let (username, password) = decoded.split_once(':').ok_or_else(bad)?;
    let row = sqlx::query(
        "SELECT id, username, password_hash, is_superuser FROM users WHERE username = $1",
    )
    .bind(username)
    .fetch_optional(db.pool())
    .await?
    .ok_or_else(bad)?;
    let stored: String = row.try_get(2)?;
    let password = password.to_string();
    let ok = tokio::task::spawn_blocking(move || verify_password(&password, &stored))
        .await
        .map_err(|e| CoreError::Internal(e.to_string()))?;
    if !ok {
        return Err(bad());
    }
    let user = User {
        id: row.try_get(0)?,
        username: row.try_get(1)?,
        is_superuser: get_bool(&row, "is_superuser")?,
    };
    let mut entries = cache.entries.lock().expect("auth cache");
    if entries.len() > 10_000 {
        entries.clear();
    }
    entries.insert(header.to_string(), (user.clone(), Instant::now()));
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
