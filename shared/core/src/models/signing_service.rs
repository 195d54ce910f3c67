//! Signing services as stored and as Pulp shows them (`signing-services/`). They are made by
//! an administrator on the server (`crate::signing::add`), never through the API.

use schemars::JsonSchema;
use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::list::Table;
use crate::db::Db;
use crate::hrefs::SIGNING_SERVICE;
use crate::{CoreError, CoreResult};

/// Pulp's detached, ASCII-armoured signatures: the only kind Depot runs.
pub const ASCII_ARMORED_DETACHED: &str = "core.AsciiArmoredDetachedSigningService";

pub static TABLE: Table = Table {
    select: "id, pulp_type, name, public_key, pubkey_fingerprint, script, created, updated",
    from: "signing_services",
    fields: &[
        ("id", "id"),
        ("pk", "id"),
        ("name", "name"),
        ("pulp_created", "created"),
    ],
    domain: None,
};

#[derive(Debug, Clone)]
pub struct SigningService {
    pub id: String,
    pub pulp_type: String,
    pub name: String,
    pub public_key: String,
    pub pubkey_fingerprint: String,
    pub script: String,
    pub created: String,
    pub updated: String,
}

/// A signing service as Pulp shows it.
#[derive(Debug, Serialize, JsonSchema)]
pub struct SigningServiceResponse {
    pub pulp_href: String,
    pub prn: String,
    pub pulp_created: String,
    pub pulp_last_updated: String,
    /// A unique name used to recognize a script.
    pub name: String,
    /// The value of a public key used for the repository verification.
    pub public_key: String,
    /// The fingerprint of the public key.
    pub pubkey_fingerprint: String,
    /// An absolute path to a script which is going to be used for the signing.
    pub script: String,
}

impl SigningService {
    pub fn from_row(row: &AnyRow) -> CoreResult<Self> {
        Ok(Self {
            id: row.try_get("id")?,
            pulp_type: row.try_get("pulp_type")?,
            name: row.try_get("name")?,
            public_key: row.try_get("public_key")?,
            pubkey_fingerprint: row.try_get("pubkey_fingerprint")?,
            script: row.try_get("script")?,
            created: row.try_get("created")?,
            updated: row.try_get("updated")?,
        })
    }

    pub fn response(&self) -> SigningServiceResponse {
        SigningServiceResponse {
            pulp_href: SIGNING_SERVICE.href(&self.id),
            prn: SIGNING_SERVICE.prn(&self.id),
            pulp_created: self.created.clone(),
            pulp_last_updated: self.updated.clone(),
            name: self.name.clone(),
            public_key: self.public_key.clone(),
            pubkey_fingerprint: self.pubkey_fingerprint.clone(),
            script: self.script.clone(),
        }
    }
}

pub async fn get(db: &Db, id: &str) -> CoreResult<SigningService> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {} FROM signing_services WHERE id = $1",
        TABLE.select
    )))
    .bind(id)
    .fetch_optional(db.pool())
    .await?
    .ok_or_else(|| CoreError::not_found("SigningService"))?;
    SigningService::from_row(&row)
}

/// Records a checked signing service; a name taken is refused.
pub async fn create(
    db: &Db,
    name: &str,
    public_key: &str,
    fingerprint: &str,
    script: &str,
) -> CoreResult<SigningService> {
    let id = crate::new_id();
    let now = crate::time::now();
    let taken: Option<String> =
        sqlx::query_scalar("SELECT id FROM signing_services WHERE name = $1")
            .bind(name)
            .fetch_optional(db.pool())
            .await?;
    if taken.is_some() {
        return Err(CoreError::field("name", "This field must be unique."));
    }
    sqlx::query(
        "INSERT INTO signing_services (id, pulp_type, name, public_key, pubkey_fingerprint, script, \
         created, updated) VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
    )
    .bind(&id)
    .bind(ASCII_ARMORED_DETACHED)
    .bind(name)
    .bind(public_key)
    .bind(fingerprint)
    .bind(script)
    .bind(now)
    .execute(db.pool())
    .await?;
    get(db, &id).await
}
