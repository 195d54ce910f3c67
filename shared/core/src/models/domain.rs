//! Domains as stored, and as Pulp's `domains/` shows them. The `default` domain's storage and
//! switches are the deployment's; its row only holds its name and labels. Storage settings may
//! hold keys, so they are stored encrypted, as remote secrets are.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use sqlx::Row;
use sqlx::any::AnyRow;

use super::domain_storage as storage;
use super::list::Table;
use crate::config::{Settings, StorageSettings};
use crate::db::{Db, get_bool, get_json};
use crate::domain::{Current, DEFAULT_ID};
use crate::hrefs::DOMAIN;
use crate::{CoreError, CoreResult};

const COLUMNS: &str = "id, name, description, pulp_labels, storage_class, storage_settings, \
    redirect_to_object_storage, hide_guarded_distributions, default_content_guard, \
    (SELECT g.pulp_type FROM content_guards g WHERE g.id = domains.default_content_guard) \
    AS default_content_guard_type, created, updated";

pub static TABLE: Table = Table {
    select: COLUMNS,
    from: "domains",
    fields: &[
        ("id", "id"),
        ("name", "name"),
        ("pulp_labels", "pulp_labels"),
        ("pulp_created", "created"),
        ("pulp_last_updated", "updated"),
    ],
    domain: None,
};

#[derive(Debug, Clone)]
pub struct Domain {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub pulp_labels: Map<String, Value>,
    pub storage_class: String,
    pub storage_settings: Map<String, Value>,
    pub redirect_to_object_storage: bool,
    pub hide_guarded_distributions: bool,
    /// The guard (id, type) of the distributions made here without one.
    pub default_content_guard: Option<(String, String)>,
    pub created: String,
    pub updated: String,
}

/// A domain, as Pulp's `domains/` shows it.
#[derive(Debug, Serialize, JsonSchema)]
pub struct DomainResponse {
    pub pulp_href: String,
    pub prn: String,
    pub pulp_created: String,
    pub pulp_last_updated: String,
    pub name: String,
    pub description: Option<String>,
    pub pulp_labels: Map<String, Value>,
    pub storage_class: String,
    pub storage_settings: Value,
    pub redirect_to_object_storage: bool,
    pub hide_guarded_distributions: bool,
    /// A content guard given to the distributions made in this domain without one.
    pub default_content_guard: Option<String>,
    pub default_content_guard_prn: Option<String>,
}

/// What a create or an update writes: every field, validated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DomainFields {
    pub name: String,
    pub description: Option<String>,
    pub pulp_labels: Map<String, Value>,
    pub storage_class: String,
    /// Encrypted (see [`seal`]): task arguments carry them, and must not show keys.
    pub sealed_settings: String,
    pub redirect_to_object_storage: bool,
    pub hide_guarded_distributions: bool,
    /// The id of a guard of this domain.
    #[serde(default)]
    pub default_content_guard: Option<String>,
}

impl Domain {
    fn from_row(db: &Db, row: &AnyRow) -> CoreResult<Self> {
        let sealed: String = row.try_get("storage_settings")?;
        Ok(Self {
            id: row.try_get("id")?,
            name: row.try_get("name")?,
            description: row.try_get("description")?,
            pulp_labels: match get_json(row, "pulp_labels")? {
                Value::Object(m) => m,
                _ => Map::new(),
            },
            storage_class: row.try_get("storage_class")?,
            storage_settings: unseal(db, &sealed)?,
            redirect_to_object_storage: get_bool(row, "redirect_to_object_storage")?,
            hide_guarded_distributions: get_bool(row, "hide_guarded_distributions")?,
            default_content_guard: match (
                row.try_get::<Option<String>, _>("default_content_guard")?,
                row.try_get::<Option<String>, _>("default_content_guard_type")?,
            ) {
                (Some(id), Some(pulp_type)) => Some((id, pulp_type)),
                _ => None,
            },
            created: row.try_get("created")?,
            updated: row.try_get("updated")?,
        })
    }

    pub fn is_default(&self) -> bool {
        self.id == DEFAULT_ID
    }

    /// Whether it uses the deployment's storage and switches (`default`, and the domains made
    /// for organisations): no storage class of its own.
    pub fn is_deployments(&self) -> bool {
        self.storage_class.is_empty()
    }

    /// This domain in force, with URLs as the deployment has them.
    pub fn current(&self, settings: &Settings) -> Current {
        Current::new(&self.id, &self.name, settings.domain_enabled)
    }

    /// The storage class it uses: the deployment's for `default`.
    pub fn storage_class(&self, settings: &Settings) -> String {
        match (self.is_deployments(), &settings.storage) {
            (true, StorageSettings::Fs { .. }) => storage::FILE_SYSTEM.into(),
            (true, StorageSettings::S3(_)) => storage::S3_BOTO3.into(),
            (false, _) => self.storage_class.clone(),
        }
    }

    /// Whether the content app redirects to object storage: the deployment's setting for
    /// `default`.
    pub fn redirects(&self, settings: &Settings) -> bool {
        match self.is_deployments() {
            true => settings.redirect_to_object_storage,
            false => self.redirect_to_object_storage,
        }
    }

    pub fn response(&self, settings: &Settings) -> DomainResponse {
        let class = self.storage_class(settings);
        let stored = match (self.is_deployments(), &settings.storage) {
            (true, StorageSettings::Fs { root }) => {
                json!({"location": root.display().to_string()})
            }
            (true, StorageSettings::S3(s3)) => json!({
                "bucket_name": s3.bucket,
                "location": s3.prefix,
                "endpoint_url": s3.endpoint_url,
                "region_name": s3.region,
                "access_key": s3.access_key,
                "secret_key": s3.secret_key,
                "querystring_expire": s3.querystring_expire,
            }),
            (false, _) => Value::Object(self.storage_settings.clone()),
        };
        let stored = match stored {
            Value::Object(m) => m,
            _ => Map::new(),
        };
        // The guard is this domain's: its href is under this domain's root.
        let guard = self
            .default_content_guard
            .as_ref()
            .and_then(|(id, pulp_type)| {
                let kind =
                    crate::plugin::find(crate::plugin::Family::ContentGuard, pulp_type).ok()?;
                let root = self.current(settings).api_root();
                Some((format!("{root}{}{id}/", kind.collection), kind.prn(id)))
            });
        DomainResponse {
            pulp_href: DOMAIN.href(&self.id),
            prn: DOMAIN.prn(&self.id),
            pulp_created: self.created.clone(),
            pulp_last_updated: self.updated.clone(),
            name: self.name.clone(),
            description: self.description.clone(),
            pulp_labels: self.pulp_labels.clone(),
            storage_settings: storage::shown(&class, &stored),
            storage_class: class,
            redirect_to_object_storage: self.redirects(settings),
            hide_guarded_distributions: self.hide_guarded_distributions,
            default_content_guard: guard.as_ref().map(|(href, _)| href.clone()),
            default_content_guard_prn: guard.map(|(_, prn)| prn),
        }
    }
}

/// Storage settings as stored: encrypted, unless there are none.
pub fn seal(db: &Db, settings: &Map<String, Value>) -> CoreResult<String> {
    match settings.is_empty() {
        true => Ok("{}".into()),
        false => db
            .secrets()?
            .encrypt(&Value::Object(settings.clone()).to_string()),
    }
}

/// Storage settings as [`seal`] stored them.
pub fn unseal(db: &Db, sealed: &str) -> CoreResult<Map<String, Value>> {
    if sealed.starts_with('{') {
        return Ok(serde_json::from_str(sealed).unwrap_or_default());
    }
    let plain = db
        .secrets()?
        .decrypt(sealed)
        .ok_or_else(|| CoreError::Internal("a domain's storage settings cannot be read".into()))?;
    Ok(serde_json::from_str(&plain).unwrap_or_default())
}

pub async fn get(db: &Db, id: &str) -> CoreResult<Domain> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM domains WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(db.pool())
    .await?
    .ok_or_else(|| CoreError::not_found("Domain"))?;
    Domain::from_row(db, &row)
}

/// The domain named `name`, if there is one.
pub async fn by_name(db: &Db, name: &str) -> CoreResult<Option<Domain>> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM domains WHERE name = $1"
    )))
    .bind(name)
    .fetch_optional(db.pool())
    .await?;
    row.map(|r| Domain::from_row(db, &r)).transpose()
}

pub fn from_row(db: &Db, row: &AnyRow) -> CoreResult<Domain> {
    Domain::from_row(db, row)
}

/// Checks a name as Pulp's slug field does.
pub fn check_name(name: &str) -> CoreResult<()> {
    if name.is_empty() {
        return Err(CoreError::field("name", "This field may not be blank."));
    }
    if name.len() > 50 {
        return Err(CoreError::field(
            "name",
            "Ensure this field has no more than 50 characters.",
        ));
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(CoreError::field(
            "name",
            "Enter a valid \u{201c}slug\u{201d} consisting of letters, numbers, underscores or hyphens.",
        ));
    }
    if matches!(name.to_ascii_lowercase().as_str(), "api" | "content") {
        return Err(CoreError::field(
            "name",
            "Name can not be 'api' or 'content'.",
        ));
    }
    Ok(())
}

/// A storage class and its settings, checked as Pulp checks them.
pub fn checked_storage(class: &str, settings: &Value) -> CoreResult<Map<String, Value>> {
    storage::validate(class, settings)
}

/// The fields a create (no `existing`) or an update sent, checked (as Pulp's serializer checks
/// them) and completed from `existing`; `None` when an update changes nothing.
pub async fn checked(
    db: &Db,
    existing: Option<&Domain>,
    sent: &Map<String, Value>,
) -> CoreResult<Option<DomainFields>> {
    let text = |field: &str| match sent.get(field) {
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(CoreError::field(field, "Not a valid string.")),
        None => Ok(None),
    };
    let flag = |field: &str, old: bool| match sent.get(field) {
        Some(Value::Bool(b)) => Ok(*b),
        Some(_) => Err(CoreError::field(field, "Must be a valid boolean.")),
        None => Ok(old),
    };
    let name = match (text("name")?, existing) {
        (Some(n), _) => n,
        (None, Some(d)) => d.name.clone(),
        (None, None) => return Err(CoreError::field("name", "This field is required.")),
    };
    check_name(&name)?;
    let renamed = existing.is_none_or(|d| d.name != name);
    if renamed && name.starts_with(ORG_PREFIX) {
        return Err(CoreError::field(
            "name",
            format!("Names starting with '{ORG_PREFIX}' are kept for organisations' domains."),
        ));
    }
    if name_taken(db, &name, existing.map(|d| d.id.as_str())).await? {
        return Err(unique_name());
    }
    let description = match sent.get("description") {
        Some(Value::Null) => None,
        Some(_) => text("description")?,
        None => existing.and_then(|d| d.description.clone()),
    };
    let pulp_labels = match sent.get("pulp_labels") {
        Some(v) => crate::labels::validate(v)?,
        None => existing.map(|d| d.pulp_labels.clone()).unwrap_or_default(),
    };
    let storage_class = match (text("storage_class")?, existing) {
        (Some(c), _) => c,
        (None, Some(d)) => d.storage_class.clone(),
        (None, None) => {
            return Err(CoreError::field("storage_class", "This field is required."));
        }
    };
    storage::check_class(&storage_class)?;
    // An update of the same backend changes the settings it names and keeps the others.
    let settings = match (sent.get("storage_settings"), existing) {
        (Some(v), Some(d)) if d.storage_class == storage_class => {
            let mut merged = Value::Object(d.storage_settings.clone());
            let given = match v {
                Value::String(s) => serde_json::from_str(s).unwrap_or(v.clone()),
                _ => v.clone(),
            };
            match (&mut merged, given) {
                (Value::Object(m), Value::Object(g)) => m.extend(g),
                (_, other) => merged = other,
            }
            storage::validate(&storage_class, &merged)?
        }
        (Some(v), _) => storage::validate(&storage_class, v)?,
        (None, Some(d)) if d.storage_class == storage_class => d.storage_settings.clone(),
        (None, Some(_)) => storage::validate(&storage_class, &json!({}))?,
        (None, None) => {
            return Err(CoreError::field(
                "storage_settings",
                "This field is required.",
            ));
        }
    };
    let storage_changed =
        existing.is_none_or(|d| d.storage_class != storage_class || d.storage_settings != settings);
    if storage_changed {
        crate::storage::domains::check_usable(&storage_class, &settings).await?;
    }
    let redirect = flag(
        "redirect_to_object_storage",
        existing.is_none_or(|d| d.redirect_to_object_storage),
    )?;
    let hide = flag(
        "hide_guarded_distributions",
        existing.is_some_and(|d| d.hide_guarded_distributions),
    )?;
    let default_guard = match (sent.get("default_content_guard"), existing) {
        (None, _) => existing.and_then(|d| d.default_content_guard.clone().map(|(id, _)| id)),
        (Some(Value::Null), _) => None,
        (Some(Value::String(_)), None) => {
            return Err(CoreError::field(
                "default_content_guard",
                "A default content-guard can only be set on an existing domain. Create the \
                 domain first, then set this field with an update.",
            ));
        }
        (Some(Value::String(r)), Some(d)) => Some(guard_of(db, d, r).await?),
        (Some(_), _) => return Err(CoreError::field("default_content_guard", "Incorrect type.")),
    };
    if let Some(d) = existing {
        let same = d.name == name
            && d.default_content_guard.as_ref().map(|(id, _)| id) == default_guard.as_ref()
            && d.description == description
            && d.pulp_labels == pulp_labels
            && d.storage_class == storage_class
            && d.storage_settings == settings
            && d.redirect_to_object_storage == redirect
            && d.hide_guarded_distributions == hide;
        if same {
            return Ok(None);
        }
    }
    Ok(Some(DomainFields {
        name,
        description,
        pulp_labels,
        sealed_settings: seal(db, &settings)?,
        storage_class,
        redirect_to_object_storage: redirect,
        hide_guarded_distributions: hide,
        default_content_guard: default_guard,
    }))
}

/// The id of the guard `reference` (an href or a PRN) names, which must be domain `d`'s.
/// Whether another domain holds such a guard is never told.
async fn guard_of(db: &Db, d: &Domain, reference: &str) -> CoreResult<String> {
    const FIELD: &str = "default_content_guard";
    let here = Current::new(&d.id, &d.name, crate::domain::current().in_urls);
    // Parsed and looked up as in the domain itself: its hrefs are under its root.
    crate::domain::within(here, async {
        if crate::hrefs::in_other_domain(reference) {
            return Err(CoreError::field(
                FIELD,
                "The content-guard must belong to this domain.",
            ));
        }
        let parsed = crate::plugin::of_family(crate::plugin::Family::ContentGuard)
            .find_map(|k| k.parse_ref(reference).map(|id| (k, id)));
        let Some((kind, id)) = parsed else {
            return Err(CoreError::field(
                FIELD,
                format!("Invalid hyperlink - No URL match. ({reference})"),
            ));
        };
        super::content_guard::get_of_type(db, &id, kind)
            .await
            .map_err(|_| crate::hrefs::missing(FIELD, reference))?;
        Ok(id)
    })
    .await
}

/// The guard the domain in force gives the distributions made without one.
pub async fn default_guard(db: &Db) -> CoreResult<Option<String>> {
    Ok(
        sqlx::query_scalar("SELECT default_content_guard FROM domains WHERE id = $1")
            .bind(crate::domain::id().to_string())
            .fetch_optional(db.pool())
            .await?
            .flatten(),
    )
}

fn unique_name() -> CoreError {
    CoreError::Invalid(json!({"name": ["This field must be unique."]}))
}

/// Whether another domain has `name`.
pub async fn name_taken(db: &Db, name: &str, except: Option<&str>) -> CoreResult<bool> {
    let other: Option<String> = sqlx::query_scalar("SELECT id FROM domains WHERE name = $1")
        .bind(name)
        .fetch_optional(db.pool())
        .await?;
    Ok(other.is_some_and(|o| Some(o.as_str()) != except))
}

pub async fn create(db: &Db, f: &DomainFields) -> CoreResult<Domain> {
    let id = crate::new_id();
    let now = crate::time::now();
    let res = sqlx::query(
        "INSERT INTO domains (id, name, description, pulp_labels, storage_class, storage_settings, \
         redirect_to_object_storage, hide_guarded_distributions, default_content_guard, created, \
         updated) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $10, $9, $9)",
    )
    .bind(&id)
    .bind(&f.name)
    .bind(f.description.clone())
    .bind(Value::Object(f.pulp_labels.clone()).to_string())
    .bind(&f.storage_class)
    .bind(&f.sealed_settings)
    .bind(f.redirect_to_object_storage)
    .bind(f.hide_guarded_distributions)
    .bind(&now)
    .bind(f.default_content_guard.clone())
    .execute(db.pool())
    .await
    .map_err(CoreError::from);
    match res {
        Err(e) if e.is_unique_violation() => return Err(unique_name()),
        other => other?,
    };
    get(db, &id).await
}

pub async fn update(db: &Db, id: &str, f: &DomainFields) -> CoreResult<()> {
    let res = sqlx::query(
        "UPDATE domains SET name = $2, description = $3, pulp_labels = $4, storage_class = $5, \
         storage_settings = $6, redirect_to_object_storage = $7, hide_guarded_distributions = $8, \
         updated = $9, default_content_guard = $10 WHERE id = $1",
    )
    .bind(id)
    .bind(&f.name)
    .bind(f.description.clone())
    .bind(Value::Object(f.pulp_labels.clone()).to_string())
    .bind(&f.storage_class)
    .bind(&f.sealed_settings)
    .bind(f.redirect_to_object_storage)
    .bind(f.hide_guarded_distributions)
    .bind(crate::time::now())
    .bind(f.default_content_guard.clone())
    .execute(db.pool())
    .await
    .map_err(CoreError::from);
    match res {
        Err(e) if e.is_unique_violation() => Err(unique_name()),
        other => other.map(|_| ()),
    }
}

/// Records where domain `id` now keeps its files (a migration moved them).
pub async fn set_storage(db: &Db, id: &str, class: &str, sealed_settings: &str) -> CoreResult<()> {
    sqlx::query(
        "UPDATE domains SET storage_class = $2, storage_settings = $3, updated = $4 WHERE id = $1",
    )
    .bind(id)
    .bind(class)
    .bind(sealed_settings)
    .bind(crate::time::now())
    .execute(db.pool())
    .await?;
    Ok(())
}

/// The prefix of the domains made for organisations: no one else may take such a name.
pub const ORG_PREFIX: &str = "org-";

/// The domain of organisation `org_id` (`org-<org_id>`), made on its first use with the
/// deployment's storage, its group (`rh-org-<org_id>`, id `group_id`) holding
/// `service.domain_admin` on it: pulp-service's domain per organisation.
pub async fn of_org(db: &Db, org_id: &str, group_id: &str) -> CoreResult<Domain> {
    let name = format!("{ORG_PREFIX}{org_id}");
    if let Some(found) = by_name(db, &name).await? {
        return Ok(found);
    }
    let fields = DomainFields {
        name: name.clone(),
        description: Some(format!("The domain of organisation {org_id}.")),
        pulp_labels: Map::new(),
        storage_class: String::new(),
        sealed_settings: "{}".into(),
        redirect_to_object_storage: true,
        hide_guarded_distributions: false,
        default_content_guard: None,
    };
    let made = match create(db, &fields).await {
        Ok(made) => made,
        // Made meanwhile by a concurrent first sign-in.
        Err(CoreError::Invalid(_)) => by_name(db, &name)
            .await?
            .ok_or_else(|| CoreError::Internal(format!("domain {name} vanished")))?,
        Err(e) => return Err(e),
    };
    super::role_assignment::give_in_domain(
        db,
        &super::role_assignment::Holder::Group(group_id.to_string()),
        crate::access::DOMAIN_ADMIN,
        &made.id,
    )
    .await?;
    Ok(made)
}

/// The tables whose rows keep a domain from being deleted, and what each row is.
const HOLDERS: [(&str, &str); 9] = [
    ("repositories", "repositories"),
    ("remotes", "remotes"),
    ("distributions", "distributions"),
    ("content_guards", "content guards"),
    ("uploads", "uploads"),
    ("acs", "alternate content sources"),
    ("exporters", "exporters"),
    ("importers", "importers"),
    ("upstream_pulps", "upstream Pulps"),
];

/// Deletes a domain that holds nothing (its finished tasks and the roles given on it go with
/// it); one that still holds repositories, remotes, distributions, content guards, uploads
/// or any other of [`HOLDERS`] is refused, as Pulp refuses it.
pub async fn delete(db: &Db, id: &str) -> CoreResult<()> {
    if id == DEFAULT_ID {
        return Err(CoreError::Invalid(json!([
            "Default domain can not be deleted."
        ])));
    }
    let mut tx = db.begin_write().await?;
    for (table, what) in HOLDERS {
        let held: Option<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT id FROM {table} WHERE domain_id = $1 LIMIT 1"
        )))
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
        if held.is_some() {
            return Err(CoreError::Conflict(format!(
                "Cannot delete the domain: it still holds {what}."
            )));
        }
    }
    for sql in [
        "DELETE FROM tasks WHERE domain_id = $1 AND state NOT IN ('waiting', 'running', 'canceling')",
        "DELETE FROM role_assignments WHERE domain_id = $1 OR object_id = $1",
        "DELETE FROM vulnerability_reports WHERE domain_id = $1",
        "DELETE FROM domains WHERE id = $1",
    ] {
        sqlx::query(sql).bind(id).execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(())
}
