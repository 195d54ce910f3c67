//! Content guards, as Pulp's `contentguards/` shows and changes them: RBAC (a role on the
//! guard lets one download), header (a header's value, or a value inside its base64 JSON),
//! content-redirect (URLs signed with the guard's secret) and composite (any member lets one
//! through). Whether a request passes is decided by the hosts (`depot_http::content_guard`).

use schemars::JsonSchema;
use serde::Serialize;
use serde_json::{Map, Value, json};
use sqlx::Row;
use sqlx::any::AnyRow;

use super::list::Table;
use crate::db::{Db, placeholders};
use crate::hrefs::{COMPOSITE_GUARD, HEADER_GUARD, Kind};
use crate::plugin::{self, Family};
use crate::{CoreError, CoreResult};

const COLUMNS: &str = "id, pulp_type, name, description, header_name, header_value, jq_filter, \
                       shared_secret, ca_certificate, env_var, created, updated";

pub static TABLE: Table = Table {
    select: COLUMNS,
    from: "content_guards",
    fields: &[
        ("id", "id"),
        ("pulp_type", "pulp_type"),
        ("name", "name"),
        ("description", "description"),
        ("pulp_created", "created"),
        ("pulp_last_updated", "updated"),
    ],
    domain: Some("content_guards.domain_id"),
};

/// The most members a composite guard has, and the longest text a guard field takes.
pub const MAX_MEMBERS: usize = 100;
pub const MAX_TEXT: usize = 4096;

#[derive(Debug, Clone, PartialEq)]
pub struct Guard {
    pub id: String,
    pub kind: Kind,
    pub name: String,
    pub description: Option<String>,
    pub header_name: Option<String>,
    pub header_value: Option<String>,
    pub jq_filter: Option<String>,
    /// Content-redirect guards: the signing secret, hex, as stored (encrypted).
    sealed_secret: Option<String>,
    /// X.509 guards: the CA certificates (PEM) whose certificates pass.
    pub ca_certificate: Option<String>,
    /// Environment-variable header guards: the variable holding the secret.
    pub env_var: Option<String>,
    pub created: String,
    pub updated: String,
}

/// What every guard shows, and what its type adds.
#[derive(Debug, Serialize, JsonSchema)]
pub struct GuardResponse {
    pub pulp_href: String,
    pub prn: String,
    pub pulp_created: String,
    pub pulp_last_updated: String,
    /// The unique name.
    pub name: String,
    /// An optional description.
    pub description: Option<String>,
    #[serde(flatten)]
    #[schemars(skip)]
    pub extra: Map<String, Value>,
}

impl Guard {
    pub fn from_row(row: &AnyRow) -> CoreResult<Self> {
        let pulp_type: String = row.try_get("pulp_type")?;
        Ok(Self {
            id: row.try_get("id")?,
            kind: plugin::find(Family::ContentGuard, &pulp_type)?,
            name: row.try_get("name")?,
            description: row.try_get("description")?,
            header_name: row.try_get("header_name")?,
            header_value: row.try_get("header_value")?,
            jq_filter: row.try_get("jq_filter")?,
            sealed_secret: row.try_get("shared_secret")?,
            ca_certificate: row.try_get("ca_certificate")?,
            env_var: row.try_get("env_var")?,
            created: row.try_get("created")?,
            updated: row.try_get("updated")?,
        })
    }

    pub fn href(&self) -> String {
        self.kind.href(&self.id)
    }

    /// The fields every guard shows; `extra` is the type's own.
    pub fn response(&self, extra: Map<String, Value>) -> GuardResponse {
        GuardResponse {
            pulp_href: self.href(),
            prn: self.kind.prn(&self.id),
            pulp_created: self.created.clone(),
            pulp_last_updated: self.updated.clone(),
            name: self.name.clone(),
            description: self.description.clone(),
            extra,
        }
    }

    /// A content-redirect guard's check of a URL it signed: `path` and its `query`, which
    /// ends in `&validate_token=<salt>:<digest>` and names `expires` (Pulp's scheme).
    /// `Ok(Err(reason))` when the URL was not signed by this guard or has expired.
    pub fn check_signed(
        &self,
        db: &Db,
        path: &str,
        query: Option<&str>,
    ) -> CoreResult<Result<(), String>> {
        let refused = || Ok(Err("Access not authenticated".to_string()));
        let Some((signed, token)) = query.and_then(|q| q.split_once("&validate_token=")) else {
            return refused();
        };
        let expires = signed
            .split('&')
            .find_map(|p| p.strip_prefix("expires="))
            .and_then(|e| e.parse::<u64>().ok());
        let Some(expires) = expires else {
            return refused();
        };
        if unix_now() > expires {
            return Ok(Err("Authentication expired".into()));
        }
        let Some((salt, digest)) = token.split_once(':') else {
            return refused();
        };
        let Some(salt) = unhex(salt) else {
            return refused();
        };
        let expected = hex(&signature(&self.secret(db)?, &salt, path, signed));
        match crate::sessions::same_token(&expected, &digest.to_ascii_lowercase()) {
            true => Ok(Ok(())),
            false => refused(),
        }
    }

    /// `path?query` signed by this content-redirect guard for `valid_secs` (with a fresh
    /// salt): the URL its check lets through.
    pub fn sign(&self, db: &Db, path: &str, query: &str, valid_secs: u64) -> CoreResult<String> {
        let mut salt = [0u8; 16];
        aws_lc_rs::rand::fill(&mut salt)
            .map_err(|_| CoreError::Internal("no randomness for a salt".into()))?;
        let expires = unix_now() + valid_secs;
        let signed = match query.is_empty() {
            true => format!("expires={expires}"),
            false => format!("{query}&expires={expires}"),
        };
        let digest = signature(&self.secret(db)?, &salt, path, &signed);
        Ok(format!(
            "{path}?{signed}&validate_token={}:{}",
            hex(&salt),
            hex(&digest)
        ))
    }

    /// A content-redirect guard's signing secret.
    fn secret(&self, db: &Db) -> CoreResult<Vec<u8>> {
        let sealed = self
            .sealed_secret
            .as_deref()
            .ok_or_else(|| CoreError::Internal("a redirect guard without its secret".into()))?;
        let hex = db
            .secrets()?
            .decrypt(sealed)
            .ok_or_else(|| CoreError::Internal("a guard secret the key cannot open".into()))?;
        unhex(&hex).ok_or_else(|| CoreError::Internal("a guard secret that is not hex".into()))
    }
}

/// What a content-redirect guard signs: sha256 of the salt, the path, `?`, the query
/// (without `validate_token`) and the guard's secret.
fn signature(secret: &[u8], salt: &[u8], path: &str, query: &str) -> [u8; 32] {
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    h.update(salt);
    h.update(path.as_bytes());
    h.update(b"?");
    h.update(query.as_bytes());
    h.update(secret);
    h.finalize().into()
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) || s.len() > 256 {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub async fn get(db: &Db, id: &str) -> CoreResult<Guard> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM content_guards WHERE id = $1 AND domain_id = $2"
    )))
    .bind(id)
    .bind(crate::domain::id().to_string())
    .fetch_optional(db.pool())
    .await?
    .ok_or_else(|| CoreError::not_found("ContentGuard"))?;
    Guard::from_row(&row)
}

/// Guard `id` of type `kind`; another type's is not found.
pub async fn get_of_type(db: &Db, id: &str, kind: Kind) -> CoreResult<Guard> {
    let g = get(db, id).await?;
    if g.kind != kind {
        return Err(CoreError::not_found("ContentGuard"));
    }
    Ok(g)
}

/// A guard to make or the changes to one: the fields its type takes.
#[derive(Debug, Default, Clone)]
pub struct GuardFields {
    pub name: Option<String>,
    /// `Some(None)` clears it.
    pub description: Option<Option<String>>,
    pub header_name: Option<String>,
    pub header_value: Option<String>,
    pub jq_filter: Option<Option<String>>,
    /// Composite guards: their members, by id, in order.
    pub guards: Option<Vec<String>>,
    /// X.509 guards: the CA certificates, PEM.
    pub ca_certificate: Option<String>,
    /// Environment-variable header guards: the variable (see [`envvar::allowed`]).
    pub env_var: Option<String>,
}

fn too_long(field: &str, value: &str) -> CoreResult<()> {
    if value.chars().count() > MAX_TEXT {
        return Err(CoreError::field(
            field,
            format!("Ensure this field has no more than {MAX_TEXT} characters."),
        ));
    }
    Ok(())
}

fn check(f: &GuardFields) -> CoreResult<()> {
    if let Some(name) = &f.name {
        if name.trim().is_empty() {
            return Err(CoreError::field("name", "This field may not be blank."));
        }
        too_long("name", name)?;
    }
    for (field, value) in [
        ("description", f.description.clone().flatten()),
        ("header_name", f.header_name.clone()),
        ("header_value", f.header_value.clone()),
        ("jq_filter", f.jq_filter.clone().flatten()),
    ] {
        if let Some(v) = value {
            too_long(field, &v)?;
        }
    }
    if let Some(h) = &f.header_name
        && (h.is_empty() || axum_header_name_invalid(h))
    {
        return Err(CoreError::field("header_name", "Not a valid header name."));
    }
    if let Some(Some(filter)) = &f.jq_filter {
        crate::identity::JqFilter::parse(filter)
            .map_err(|e| CoreError::field("jq_filter", e.to_string()))?;
    }
    if let Some(pem) = &f.ca_certificate {
        x509::anchors(pem).map_err(|e| CoreError::field("ca_certificate", e))?;
    }
    if f.guards.as_ref().is_some_and(|g| g.len() > MAX_MEMBERS) {
        return Err(CoreError::field(
            "guards",
            format!("Ensure this field has no more than {MAX_MEMBERS} elements."),
        ));
    }
    Ok(())
}

/// A header name is a token: letters, digits and `!#$%&'*+-.^_`|~`.
fn axum_header_name_invalid(name: &str) -> bool {
    !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

fn unique_name() -> CoreError {
    CoreError::Invalid(json!({"name": ["This field must be unique."]}))
}

/// Members of a composite guard must be other, existing, non-composite guards (a composite
/// inside a composite could loop).
async fn check_members(db: &Db, composite: Option<&str>, members: &[String]) -> CoreResult<()> {
    for id in members {
        let member = get(db, id).await.map_err(|_| {
            CoreError::field("guards", "Invalid hyperlink - Object does not exist.")
        })?;
        if member.kind == &COMPOSITE_GUARD || Some(id.as_str()) == composite {
            return Err(CoreError::field(
                "guards",
                "A composite guard's members are guards of other types.",
            ));
        }
    }
    Ok(())
}

pub async fn create(db: &Db, kind: Kind, f: GuardFields) -> CoreResult<Guard> {
    check(&f)?;
    let name = f.name.clone().unwrap_or_default();
    if kind == &crate::hrefs::X509_GUARD && f.ca_certificate.is_none() {
        return Err(CoreError::field(
            "ca_certificate",
            "This field is required.",
        ));
    }
    if kind == &crate::hrefs::ENVVAR_GUARD && (f.header_name.is_none() || f.env_var.is_none()) {
        let missing = if f.header_name.is_none() {
            "header_name"
        } else {
            "env_var"
        };
        return Err(CoreError::field(missing, "This field is required."));
    }
    if kind == &HEADER_GUARD && (f.header_name.is_none() || f.header_value.is_none()) {
        let missing = if f.header_name.is_none() {
            "header_name"
        } else {
            "header_value"
        };
        return Err(CoreError::field(missing, "This field is required."));
    }
    let members = f.guards.clone().unwrap_or_default();
    check_members(db, None, &members).await?;
    let secret = match kind == &crate::hrefs::REDIRECT_GUARD {
        true => {
            let mut bytes = [0u8; 32];
            aws_lc_rs::rand::fill(&mut bytes)
                .map_err(|_| CoreError::Internal("no randomness for a guard secret".into()))?;
            Some(db.secrets()?.encrypt(&hex(&bytes))?)
        }
        false => None,
    };
    let id = crate::new_id();
    let now = crate::time::now();
    let mut tx = db.begin_write().await?;
    let res = sqlx::query(
        "INSERT INTO content_guards (id, pulp_type, name, description, header_name, header_value, \
         jq_filter, shared_secret, created, updated, domain_id, ca_certificate, env_var) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9, $10, $11, $12)",
    )
    .bind(&id)
    .bind(kind.pulp_type)
    .bind(&name)
    .bind(f.description.clone().flatten())
    .bind(f.header_name.clone())
    .bind(f.header_value.clone())
    .bind(f.jq_filter.clone().flatten())
    .bind(secret)
    .bind(&now)
    .bind(crate::domain::id().to_string())
    .bind(f.ca_certificate.clone())
    .bind(f.env_var.clone())
    .execute(&mut *tx)
    .await
    .map_err(CoreError::from);
    match res {
        Err(e) if e.is_unique_violation() => return Err(unique_name()),
        other => other?,
    };
    set_members(&mut tx, &id, &members).await?;
    tx.commit().await?;
    get(db, &id).await
}

async fn set_members(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    composite: &str,
    members: &[String],
) -> CoreResult<()> {
    sqlx::query("DELETE FROM content_guard_members WHERE composite_id = $1")
        .bind(composite)
        .execute(&mut **tx)
        .await?;
    let mut seen = Vec::new();
    for id in members {
        if seen.contains(id) {
            continue;
        }
        sqlx::query(
            "INSERT INTO content_guard_members (composite_id, guard_id, position) VALUES ($1, $2, $3)",
        )
        .bind(composite)
        .bind(id)
        .bind(seen.len() as i64)
        .execute(&mut **tx)
        .await?;
        seen.push(id.clone());
    }
    Ok(())
}

pub async fn update(db: &Db, g: &Guard, f: GuardFields) -> CoreResult<Guard> {
    check(&f)?;
    if let Some(members) = &f.guards {
        check_members(db, Some(&g.id), members).await?;
    }
    let mut tx = db.begin_write().await?;
    let res = sqlx::query(
        "UPDATE content_guards SET name = $2, description = $3, header_name = $4, \
         header_value = $5, jq_filter = $6, updated = $7, ca_certificate = $8, env_var = $9 \
         WHERE id = $1",
    )
    .bind(&g.id)
    .bind(f.name.clone().unwrap_or_else(|| g.name.clone()))
    .bind(
        f.description
            .clone()
            .unwrap_or_else(|| g.description.clone()),
    )
    .bind(f.header_name.clone().or_else(|| g.header_name.clone()))
    .bind(f.header_value.clone().or_else(|| g.header_value.clone()))
    .bind(f.jq_filter.clone().unwrap_or_else(|| g.jq_filter.clone()))
    .bind(crate::time::now())
    .bind(
        f.ca_certificate
            .clone()
            .or_else(|| g.ca_certificate.clone()),
    )
    .bind(f.env_var.clone().or_else(|| g.env_var.clone()))
    .execute(&mut *tx)
    .await
    .map_err(CoreError::from);
    match res {
        Err(e) if e.is_unique_violation() => return Err(unique_name()),
        other => other?,
    };
    if let Some(members) = &f.guards {
        set_members(&mut tx, &g.id, members).await?;
    }
    tx.commit().await?;
    get(db, &g.id).await
}

/// Removes a guard. The distributions it guarded are served unguarded (as Pulp does), a domain
/// it was the default guard of has none, and roles given on it go with it.
pub async fn delete(db: &Db, id: &str) -> CoreResult<()> {
    let mut tx = db.begin_write().await?;
    sqlx::query("UPDATE distributions SET content_guard = NULL WHERE content_guard = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("UPDATE domains SET default_content_guard = NULL WHERE default_content_guard = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM content_guards WHERE id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM role_assignments WHERE object_id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

/// A guard with what its check needs besides: a composite's members.
#[derive(Debug, Clone, PartialEq)]
pub struct Loaded {
    pub guard: Guard,
    pub members: Vec<Guard>,
}

/// Guard `id` as its check needs it; `None` when it is gone (its distributions are
/// unguarded then, see [`delete`]).
pub async fn load(db: &Db, id: &str) -> CoreResult<Option<Loaded>> {
    let guard = match get(db, id).await {
        Ok(g) => g,
        Err(CoreError::NotFound(_)) => return Ok(None),
        Err(e) => return Err(e),
    };
    let members = match guard.kind == &COMPOSITE_GUARD {
        true => members(db, &guard.id).await?,
        false => Vec::new(),
    };
    Ok(Some(Loaded { guard, members }))
}

/// The members of composite guard `id`, in order.
pub async fn members(db: &Db, id: &str) -> CoreResult<Vec<Guard>> {
    let cols = COLUMNS
        .split(", ")
        .map(|c| format!("g.{c}"))
        .collect::<Vec<_>>()
        .join(", ");
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {cols} FROM content_guard_members m JOIN content_guards g ON g.id = m.guard_id \
         WHERE m.composite_id = $1 ORDER BY m.position"
    )))
    .bind(id)
    .fetch_all(db.pool())
    .await?;
    rows.iter().map(Guard::from_row).collect()
}

/// The member hrefs of each of the composite guards `ids` (one query for a page).
pub async fn member_hrefs(
    db: &Db,
    ids: &[String],
) -> CoreResult<std::collections::HashMap<String, Vec<String>>> {
    let mut out: std::collections::HashMap<String, Vec<String>> = Default::default();
    for chunk in ids.chunks(500) {
        let sql = format!(
            "SELECT m.composite_id, g.id, g.pulp_type FROM content_guard_members m \
             JOIN content_guards g ON g.id = m.guard_id WHERE m.composite_id IN ({}) \
             ORDER BY m.composite_id, m.position",
            placeholders(1, chunk.len())
        );
        let mut q = sqlx::query_as::<_, (String, String, String)>(sqlx::AssertSqlSafe(sql));
        for id in chunk {
            q = q.bind(id);
        }
        for (composite, id, pulp_type) in q.fetch_all(db.pool()).await? {
            let kind = plugin::find(Family::ContentGuard, &pulp_type)?;
            out.entry(composite).or_default().push(kind.href(&id));
        }
    }
    Ok(out)
}

/// The href of guard `id` (whatever its type), for a distribution's `content_guard`.
pub async fn href_of(db: &Db, id: &str) -> CoreResult<Option<(String, String)>> {
    match get(db, id).await {
        Ok(g) => Ok(Some((g.href(), g.kind.prn(&g.id)))),
        Err(CoreError::NotFound(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Environment-variable header guards: the header carries, base64-encoded, the value of an
/// environment variable of the serving process (read at each request, so a new secret needs
/// only a new environment). Only variables the deployment lists may be named.
pub mod envvar {
    use base64::Engine;

    use crate::{CoreError, CoreResult};

    /// Refuses a variable the deployment does not allow (Pulp's message).
    pub fn allowed(env_var: &str, allowed: &[String]) -> CoreResult<()> {
        match allowed.iter().any(|a| a == env_var) {
            true => Ok(()),
            false => Err(CoreError::field(
                "env_var",
                format!(
                    "Environment variable '{env_var}' is not in \
                     ENVVAR_HEADER_CONTENT_GUARD_ALLOWED_VARS."
                ),
            )),
        }
    }

    /// Whether `sent` (the header's value) is the base64 of the variable's value, compared in
    /// constant time; the error says why not.
    pub fn check(env_var: &str, allowed: &[String], sent: Option<&str>) -> Result<(), String> {
        self::allowed(env_var, allowed).map_err(|_| "Access denied.".to_string())?;
        let expected = std::env::var(env_var).unwrap_or_default();
        let expected = expected.trim_end_matches(['\r', '\n']);
        if expected.is_empty() {
            return Err("Access denied.".into());
        }
        let Some(sent) = sent.filter(|s| !s.is_empty()) else {
            return Err("Access not allowed. Header not found.".into());
        };
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(sent)
            .map_err(|_| {
                "Access not allowed - Header content is not Base64 encoded.".to_string()
            })?;
        aws_lc_rs::constant_time::verify_slices_are_equal(&decoded, expected.as_bytes())
            .map_err(|_| "Access denied.".to_string())
    }
}

/// X.509 guards: a client certificate passes when it chains to one of the guard's CA
/// certificates, is valid now and may authenticate clients (webpki's checks).
pub mod x509 {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, UnixTime};

    /// The most bytes of PEM a guard's CA certificates take, and a client's certificate.
    pub const MAX_PEM: usize = 64 * 1024;

    /// The CA certificates in `pem`, each a trust anchor; an error says why there are none.
    pub fn anchors(pem: &str) -> Result<Vec<CertificateDer<'static>>, String> {
        if pem.len() > MAX_PEM {
            return Err(format!(
                "Ensure this field has no more than {MAX_PEM} characters."
            ));
        }
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(pem.as_bytes())
            .collect::<Result<_, _>>()
            .map_err(|_| "Not a PEM certificate.".to_string())?;
        if certs.is_empty() {
            return Err("Not a PEM certificate.".into());
        }
        for c in &certs {
            webpki::anchor_from_trusted_cert(c)
                .map_err(|e| format!("Not a usable CA certificate: {e:?}"))?;
        }
        Ok(certs)
    }

    /// Whether the client certificate `sent` (PEM, URL-encoded as proxies forward it) passes
    /// the CA certificates `ca_pem`: `Err(reason)` when it does not.
    pub fn check(ca_pem: &str, sent: Option<&str>) -> Result<(), String> {
        let Some(sent) = sent.filter(|s| !s.is_empty()) else {
            return Err("A client certificate was not provided.".into());
        };
        if sent.len() > MAX_PEM {
            return Err("The client certificate is not valid.".into());
        }
        let pem = percent_encoding::percent_decode_str(sent).decode_utf8_lossy();
        let invalid = || "The client certificate is not valid.".to_string();
        let cert = CertificateDer::from_pem_slice(pem.as_bytes()).map_err(|_| invalid())?;
        let Ok(cas) = anchors(ca_pem) else {
            return Err(invalid());
        };
        let anchors: Vec<_> = cas
            .iter()
            .filter_map(|c| webpki::anchor_from_trusted_cert(c).ok())
            .collect();
        let end = webpki::EndEntityCert::try_from(&cert).map_err(|_| invalid())?;
        end.verify_for_usage(
            webpki::ALL_VERIFICATION_ALGS,
            &anchors,
            &[],
            UnixTime::now(),
            webpki::KeyUsage::client_auth(),
            None,
            None,
        )
        .map(|_| ())
        .map_err(|e| match e {
            webpki::Error::CertExpired { .. } => "The client certificate has expired.".into(),
            _ => "The client certificate is not signed by the guard's CA.".into(),
        })
    }
}
