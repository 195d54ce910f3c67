//! Users as Pulp's `users/` resource shows and changes them (signing in is `crate::users`).
//! Clients see an integer `id` (Pulp's primary key); hrefs use the row's text id, as every
//! other href does.

use schemars::JsonSchema;
use serde::Serialize;
use serde_json::{Map, Value, json};
use sqlx::Row;
use sqlx::any::AnyRow;

use super::list::Table;
use super::remote::HiddenField;
use crate::db::{Db, get_bool};
use crate::hrefs::USER;
use crate::users::hash_password;
use crate::{CoreError, CoreResult};

const COLUMNS: &str = "id, number, username, password_hash, first_name, last_name, email, \
                       is_staff, is_active, is_superuser, created";

pub static TABLE: Table = Table {
    select: COLUMNS,
    from: "users",
    fields: &[
        ("id", "number"),
        ("pk", "number"),
        // The row's own id (hrefs).
        ("row_id", "id"),
        ("username", "username"),
        ("first_name", "first_name"),
        ("last_name", "last_name"),
        ("email", "email"),
        ("is_staff", "is_staff"),
        ("is_active", "is_active"),
        ("date_joined", "created"),
    ],
    domain: None,
};

/// A user row.
#[derive(Debug, Clone)]
pub struct UserRecord {
    pub id: String,
    pub number: i64,
    pub username: String,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub is_staff: bool,
    pub is_active: bool,
    pub is_superuser: bool,
    pub date_joined: String,
    /// Whether it may sign in with a password (users made by identity headers have none).
    pub has_password: bool,
}

/// A group a user is in.
#[derive(Debug, Serialize, JsonSchema)]
pub struct UserGroup {
    pub name: String,
    pub pulp_href: String,
}

/// A user, as Pulp's `users/` shows it.
#[derive(Debug, Serialize, JsonSchema)]
pub struct UserResponse {
    pub pulp_href: String,
    pub prn: String,
    pub id: i64,
    pub username: String,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub is_staff: bool,
    pub is_active: bool,
    pub date_joined: String,
    pub groups: Vec<UserGroup>,
    pub hidden_fields: Vec<HiddenField>,
}

impl UserRecord {
    pub fn from_row(row: &AnyRow) -> CoreResult<Self> {
        let hash: String = row.try_get("password_hash")?;
        Ok(Self {
            id: row.try_get("id")?,
            number: row.try_get("number")?,
            username: row.try_get("username")?,
            first_name: row.try_get("first_name")?,
            last_name: row.try_get("last_name")?,
            email: row.try_get("email")?,
            is_staff: get_bool(row, "is_staff")?,
            is_active: get_bool(row, "is_active")?,
            is_superuser: get_bool(row, "is_superuser")?,
            date_joined: row.try_get("created")?,
            has_password: !hash.starts_with('!'),
        })
    }

    /// The user as `users/` shows it, in `groups`.
    pub fn response(&self, groups: Vec<UserGroup>) -> UserResponse {
        UserResponse {
            pulp_href: USER.href(&self.id),
            prn: USER.prn(&self.id),
            id: self.number,
            username: self.username.clone(),
            first_name: self.first_name.clone(),
            last_name: self.last_name.clone(),
            email: self.email.clone(),
            is_staff: self.is_staff,
            is_active: self.is_active,
            date_joined: self.date_joined.clone(),
            groups,
            hidden_fields: vec![HiddenField {
                name: "password".into(),
                is_set: self.has_password,
            }],
        }
    }
}

/// The users as `users/` shows them, with their groups (one query for them all).
pub async fn responses(db: &Db, users: &[UserRecord]) -> CoreResult<Vec<UserResponse>> {
    let ids: Vec<String> = users.iter().map(|u| u.id.clone()).collect();
    let mut groups = super::group::of_users(db, &ids).await?;
    Ok(users
        .iter()
        .map(|u| u.response(groups.remove(&u.id).unwrap_or_default()))
        .collect())
}

/// The user as `users/` shows it.
pub async fn shown(db: &Db, user: &UserRecord) -> CoreResult<UserResponse> {
    let mut one = responses(db, std::slice::from_ref(user)).await?;
    one.pop()
        .ok_or_else(|| CoreError::Internal("a user went unshown".into()))
}

pub async fn get(db: &Db, id: &str) -> CoreResult<UserRecord> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM users WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(db.pool())
    .await?
    .ok_or_else(|| CoreError::not_found("User"))?;
    UserRecord::from_row(&row)
}

/// A user to make; `password: None` makes one that cannot sign in with a password.
#[derive(Debug, Default)]
pub struct NewUser {
    pub username: String,
    pub password: Option<String>,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub is_staff: bool,
    pub is_active: bool,
    pub is_superuser: bool,
}

/// Makes a user, numbered after the others; `username` taken is Pulp's unique error.
pub async fn create(db: &Db, new: NewUser) -> CoreResult<UserRecord> {
    let id = crate::new_id();
    let hash = match &new.password {
        Some(p) => hash_password(p),
        None => "!".to_string(),
    };
    // Borrowed, so that each attempt's future copies references.
    let (id, new, hash) = (&id, &new, &hash);
    let insert = move || async move {
        sqlx::query(
            "INSERT INTO users (id, number, username, password_hash, first_name, last_name, email, \
             is_staff, is_active, is_superuser, created) \
             VALUES ($1, (SELECT COALESCE(MAX(number), 0) + 1 FROM users), $2, $3, $4, $5, $6, \
             $7, $8, $9, $10)",
        )
        .bind(id)
        .bind(&new.username)
        .bind(hash)
        .bind(&new.first_name)
        .bind(&new.last_name)
        .bind(&new.email)
        .bind(new.is_staff)
        .bind(new.is_active)
        .bind(new.is_superuser)
        .bind(crate::time::now())
        .execute(db.pool())
        .await?;
        Ok(())
    };
    let name_taken = move || async move { Ok(id_by_name(db, &new.username).await?.is_some()) };
    super::insert_numbered("users", insert, name_taken, unique_username).await?;
    get(db, id).await
}

fn unique_username() -> CoreError {
    CoreError::Invalid(json!({"username": ["This field must be unique."]}))
}

/// The id of the user `username`, if there is one.
pub async fn id_by_name(db: &Db, username: &str) -> CoreResult<Option<String>> {
    Ok(
        sqlx::query_scalar("SELECT id FROM users WHERE username = $1")
            .bind(username)
            .fetch_optional(db.pool())
            .await?,
    )
}

/// Checks `changes` (fields of a `users/` body) and applies them.
pub async fn update(db: &Db, id: &str, changes: &Map<String, Value>) -> CoreResult<UserRecord> {
    let mut user = get(db, id).await?;
    check(changes)?;
    let mut password: Option<Option<String>> = None;
    for (k, v) in changes {
        let text = || v.as_str().unwrap_or_default().to_string();
        let flag = || v.as_bool().unwrap_or(false);
        match k.as_str() {
            "username" => user.username = text(),
            "first_name" => user.first_name = text(),
            "last_name" => user.last_name = text(),
            "email" => user.email = text(),
            "is_staff" => user.is_staff = flag(),
            "is_active" => user.is_active = flag(),
            "password" => password = Some(v.as_str().map(str::to_string)),
            _ => {}
        }
    }
    if id_by_name(db, &user.username)
        .await?
        .is_some_and(|other| other != id)
    {
        return Err(unique_username());
    }
    let res = sqlx::query(
        "UPDATE users SET username = $2, first_name = $3, last_name = $4, email = $5, \
         is_staff = $6, is_active = $7 WHERE id = $1",
    )
    .bind(id)
    .bind(&user.username)
    .bind(&user.first_name)
    .bind(&user.last_name)
    .bind(&user.email)
    .bind(user.is_staff)
    .bind(user.is_active)
    .execute(db.pool())
    .await
    .map_err(CoreError::from);
    match res {
        Err(e) if e.is_unique_violation() => return Err(unique_username()),
        other => other?,
    };
    if let Some(p) = password {
        let hash = p.map_or_else(|| "!".to_string(), |p| hash_password(&p));
        sqlx::query("UPDATE users SET password_hash = $2 WHERE id = $1")
            .bind(id)
            .bind(hash)
            .execute(db.pool())
            .await?;
    }
    get(db, id).await
}

pub async fn delete(db: &Db, id: &str) -> CoreResult<()> {
    get(db, id).await?;
    sqlx::query("DELETE FROM users WHERE id = $1")
        .bind(id)
        .execute(db.pool())
        .await?;
    Ok(())
}

/// Checks the fields of a `users/` body as Django's user model and validators would: the user
/// name's characters and length, names' lengths, the email's shape, and the password rules
/// Pulp applies (Django's, without the user: no similarity rule; less the list of common
/// passwords).
pub fn check(fields: &Map<String, Value>) -> CoreResult<()> {
    // Only the password may be null (no password: it cannot sign in with one).
    for (field, value) in fields {
        if value.is_null() && field != "password" {
            return Err(CoreError::field(field, "This field may not be null."));
        }
    }
    if let Some(name) = fields.get("username").and_then(Value::as_str) {
        let valid = name
            .chars()
            .all(|c| c.is_alphanumeric() || "@.+-_".contains(c));
        if name.is_empty() || !valid {
            return Err(CoreError::field(
                "username",
                "Enter a valid username. This value may contain only letters, numbers, and \
                 @/./+/-/_ characters.",
            ));
        }
        if name.chars().count() > 150 {
            return Err(CoreError::field(
                "username",
                "Ensure this field has no more than 150 characters.",
            ));
        }
    }
    for field in ["first_name", "last_name"] {
        if fields
            .get(field)
            .and_then(Value::as_str)
            .is_some_and(|v| v.chars().count() > 150)
        {
            return Err(CoreError::field(
                field,
                "Ensure this field has no more than 150 characters.",
            ));
        }
    }
    if let Some(email) = fields.get("email").and_then(Value::as_str)
        && !email.is_empty()
        && !is_email(email)
    {
        return Err(CoreError::field("email", "Enter a valid email address."));
    }
    if let Some(password) = fields.get("password").and_then(Value::as_str) {
        let mut problems = Vec::new();
        if password.chars().count() < 8 {
            problems.push(
                "This password is too short. It must contain at least 8 characters.".to_string(),
            );
        }
        if !password.is_empty() && password.chars().all(|c| c.is_ascii_digit()) {
            problems.push("This password is entirely numeric.".to_string());
        }
        if password.len() > 4096 {
            problems.push("This password is too long.".to_string());
        }
        if !problems.is_empty() {
            return Err(CoreError::Invalid(json!({ "non_field_errors": problems })));
        }
    }
    Ok(())
}

/// `local@domain.tld`, at most 254 bytes, no spaces or control characters.
fn is_email(v: &str) -> bool {
    let Some((local, domain)) = v.rsplit_once('@') else {
        return false;
    };
    v.len() <= 254
        && !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !v.chars().any(|c| c.is_whitespace() || c.is_control())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn user_fields_are_checked_as_django_does() {
        let ok = fields(
            json!({"username": "alice.b+1@x", "email": "a@b.co", "password": "s3cret-pass"}),
        );
        assert!(check(&ok).is_ok());
        for (bad, key) in [
            (json!({"username": "a b"}), "username"),
            (json!({"username": ""}), "username"),
            (json!({"username": "x".repeat(151)}), "username"),
            (json!({"first_name": "y".repeat(151)}), "first_name"),
            (json!({"email": "nope"}), "email"),
            (json!({"email": "a@b"}), "email"),
            (json!({"password": "short"}), "non_field_errors"),
            (json!({"password": "12345678901"}), "non_field_errors"),
        ] {
            match check(&fields(bad.clone())) {
                Err(CoreError::Invalid(v)) => assert!(v.get(key).is_some(), "{bad} -> {v}"),
                other => panic!("{bad} -> {other:?}"),
            }
        }
        assert!(check(&fields(json!({"email": "", "password": null}))).is_ok());
        // Pulp validates passwords without the user: no similarity rule (two uuids pass).
        let uuid = "3d6f0a5e-2b1c-4c8e-9f7a-6b5d4e3c2a10";
        assert!(
            check(&fields(
                json!({"username": uuid.replace('0', "1"), "password": uuid})
            ))
            .is_ok()
        );
        for field in ["username", "email", "is_active"] {
            let null = fields(json!({ field: null }));
            assert!(matches!(check(&null), Err(CoreError::Invalid(v)) if v.get(field).is_some()));
        }
    }
}
