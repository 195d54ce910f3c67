//! Groups of users, as Pulp's `groups/` and `groups/<id>/users/` show and change them. Like
//! users, clients see an integer `id` and follow hrefs made of the row's text id.

use std::collections::HashMap;

use schemars::JsonSchema;
use serde::Serialize;
use serde_json::json;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::list::Table;
use super::user::UserGroup;
use crate::db::Db;
use crate::hrefs::{GROUP, USER};
use crate::{CoreError, CoreResult};

const COLUMNS: &str = "id, number, name, created";

pub static TABLE: Table = Table {
    select: COLUMNS,
    from: "user_groups",
    fields: &[
        ("id", "number"),
        ("pk", "number"),
        // The row's own id (hrefs, roles given on a group).
        ("row_id", "id"),
        ("name", "name"),
        ("pulp_created", "created"),
    ],
    domain: None,
};

/// The members of groups, for `groups/<id>/users/` pages (filtered by `group`).
pub static MEMBERS: Table = Table {
    select: "u.id AS id, u.username AS username",
    from: "user_group_members m JOIN users u ON u.id = m.user_id",
    fields: &[("group", "m.group_id"), ("username", "u.username")],
    domain: None,
};

#[derive(Debug, Clone)]
pub struct Group {
    pub id: String,
    pub number: i64,
    pub name: String,
}

/// A group, as Pulp's `groups/` shows it.
#[derive(Debug, Serialize, JsonSchema)]
pub struct GroupResponse {
    pub name: String,
    pub pulp_href: String,
    pub prn: String,
    pub id: i64,
}

/// A member of a group, as `groups/<id>/users/` shows them.
#[derive(Debug, Serialize, JsonSchema)]
pub struct GroupUserResponse {
    pub username: String,
    pub pulp_href: String,
    pub prn: String,
}

impl Group {
    pub fn from_row(row: &AnyRow) -> CoreResult<Self> {
        Ok(Self {
            id: row.try_get("id")?,
            number: row.try_get("number")?,
            name: row.try_get("name")?,
        })
    }

    pub fn response(&self) -> GroupResponse {
        GroupResponse {
            name: self.name.clone(),
            pulp_href: GROUP.href(&self.id),
            prn: GROUP.prn(&self.id),
            id: self.number,
        }
    }
}

pub async fn get(db: &Db, id: &str) -> CoreResult<Group> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM user_groups WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(db.pool())
    .await?
    .ok_or_else(|| CoreError::not_found("Group"))?;
    Group::from_row(&row)
}

/// Checks a group name: 1 to 150 characters, no control characters.
pub fn check_name(name: &str) -> CoreResult<()> {
    if name.trim().is_empty() {
        return Err(CoreError::field("name", "This field may not be blank."));
    }
    if name.chars().count() > 150 {
        return Err(CoreError::field(
            "name",
            "Ensure this field has no more than 150 characters.",
        ));
    }
    Ok(())
}

fn unique_name() -> CoreError {
    CoreError::Invalid(json!({"name": ["This field must be unique."]}))
}

/// Makes a group, numbered after the others.
pub async fn create(db: &Db, name: &str) -> CoreResult<Group> {
    check_name(name)?;
    let id = crate::new_id();
    // Borrowed, so that each attempt's future copies a reference.
    let id = &id;
    let insert = move || async move {
        sqlx::query(
            "INSERT INTO user_groups (id, number, name, created) \
             VALUES ($1, (SELECT COALESCE(MAX(number), 0) + 1 FROM user_groups), $2, $3)",
        )
        .bind(id)
        .bind(name)
        .bind(crate::time::now())
        .execute(db.pool())
        .await?;
        Ok(())
    };
    let name_taken = move || async move { Ok(find_by_name(db, name).await?.is_some()) };
    super::insert_numbered("groups", insert, name_taken, unique_name).await?;
    get(db, id).await
}

pub async fn find_by_name(db: &Db, name: &str) -> CoreResult<Option<Group>> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM user_groups WHERE name = $1"
    )))
    .bind(name)
    .fetch_optional(db.pool())
    .await?;
    row.map(|r| Group::from_row(&r)).transpose()
}

pub async fn rename(db: &Db, id: &str, name: &str) -> CoreResult<Group> {
    check_name(name)?;
    get(db, id).await?;
    let res = sqlx::query("UPDATE user_groups SET name = $2 WHERE id = $1")
        .bind(id)
        .bind(name)
        .execute(db.pool())
        .await
        .map_err(CoreError::from);
    match res {
        Err(e) if e.is_unique_violation() => Err(unique_name()),
        other => {
            other?;
            get(db, id).await
        }
    }
}

pub async fn delete(db: &Db, id: &str) -> CoreResult<()> {
    get(db, id).await?;
    sqlx::query("DELETE FROM user_groups WHERE id = $1")
        .bind(id)
        .execute(db.pool())
        .await?;
    Ok(())
}

impl GroupUserResponse {
    /// A row of [`MEMBERS`].
    pub fn from_row(row: &AnyRow) -> CoreResult<Self> {
        let user_id: String = row.try_get("id")?;
        Ok(Self {
            username: row.try_get("username")?,
            pulp_href: USER.href(&user_id),
            prn: USER.prn(&user_id),
        })
    }
}

/// Puts the user `username` in group `id` (again is no change); the user must exist.
pub async fn add_member(db: &Db, id: &str, username: &str) -> CoreResult<GroupUserResponse> {
    get(db, id).await?;
    let user_id = super::user::id_by_name(db, username)
        .await?
        .ok_or_else(|| {
            CoreError::field(
                "username",
                format!("User with username '{username}' does not exist."),
            )
        })?;
    join(db, id, &user_id).await?;
    Ok(GroupUserResponse {
        username: username.to_string(),
        pulp_href: USER.href(&user_id),
        prn: USER.prn(&user_id),
    })
}

/// Puts user `user_id` in group `group_id`; already there is no change.
pub async fn join(db: &Db, group_id: &str, user_id: &str) -> CoreResult<()> {
    sqlx::query(
        "INSERT INTO user_group_members (group_id, user_id) VALUES ($1, $2) \
         ON CONFLICT (group_id, user_id) DO NOTHING",
    )
    .bind(group_id)
    .bind(user_id)
    .execute(db.pool())
    .await?;
    Ok(())
}

/// Takes user `user_id` out of group `id`; not a member is not found.
pub async fn remove_member(db: &Db, id: &str, user_id: &str) -> CoreResult<()> {
    let gone = sqlx::query("DELETE FROM user_group_members WHERE group_id = $1 AND user_id = $2")
        .bind(id)
        .bind(user_id)
        .execute(db.pool())
        .await?
        .rows_affected();
    if gone == 0 {
        return Err(CoreError::not_found("User"));
    }
    Ok(())
}

/// The names of the groups user `user_id` is in.
pub async fn names_of(db: &Db, user_id: &str) -> CoreResult<Vec<String>> {
    Ok(sqlx::query_scalar(
        "SELECT g.name FROM user_group_members m JOIN user_groups g ON g.id = m.group_id \
         WHERE m.user_id = $1",
    )
    .bind(user_id)
    .fetch_all(db.pool())
    .await?)
}

/// The groups each of `user_ids` is in, by user id (one query for a page of users).
pub async fn of_users(db: &Db, user_ids: &[String]) -> CoreResult<HashMap<String, Vec<UserGroup>>> {
    let mut out: HashMap<String, Vec<UserGroup>> = HashMap::new();
    for chunk in user_ids.chunks(500) {
        let sql = format!(
            "SELECT m.user_id, g.id, g.name FROM user_group_members m \
             JOIN user_groups g ON g.id = m.group_id WHERE m.user_id IN ({}) ORDER BY g.name",
            crate::db::placeholders(1, chunk.len())
        );
        let mut q = sqlx::query_as::<_, (String, String, String)>(sqlx::AssertSqlSafe(sql));
        for id in chunk {
            q = q.bind(id);
        }
        for (user_id, group_id, name) in q.fetch_all(db.pool()).await? {
            out.entry(user_id).or_default().push(UserGroup {
                name,
                pulp_href: GROUP.href(&group_id),
            });
        }
    }
    Ok(out)
}
