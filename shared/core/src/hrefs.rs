//! Hrefs and PRNs. Hrefs are relative paths under the API root, exactly as Pulp prints them
//! (under the domain's root when URLs carry domains, see [`crate::domain`]); PRNs are
//! `prn:<app>.<model>:<id>`.

/// The API root routes are matched on (and hrefs printed under while domains are off and
/// `PULP_API_ROOT` is the default).
pub const API_ROOT: &str = "/pulp/api/v3/";

/// Where routes put the API (the default `PULP_API_ROOT`).
pub const ROUTED_ROOT: &str = "/pulp/";

static PUBLIC_ROOT: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// Makes `root` (`PULP_API_ROOT`, e.g. `/api/pulp/`) where this process's hrefs and API
/// paths are. The first call wins (one deployment, one root).
pub fn set_public_root(root: &str) {
    let _ = PUBLIC_ROOT.set(root.to_string());
}

/// `PULP_API_ROOT`: `/pulp/` unless set.
pub fn public_root() -> &'static str {
    PUBLIC_ROOT.get().map_or(ROUTED_ROOT, String::as_str)
}

/// A path as clients write it (under `PULP_API_ROOT`) as routes and parsers read it (under
/// `/pulp/`); other paths as they are.
pub fn routed_path(path: &str) -> std::borrow::Cow<'_, str> {
    let root = public_root();
    match path.strip_prefix(root) {
        Some(rest) if root != ROUTED_ROOT => format!("{ROUTED_ROOT}{rest}").into(),
        _ => path.into(),
    }
}

pub use crate::plugin::{Kind, ResourceType, Role};

/// Core's own resource types; the plugins add theirs (see [`crate::plugin`]).
pub static ARTIFACT: ResourceType = core_type("artifacts/", "core.artifact", "artifacts");
pub static UPLOAD: ResourceType = core_type("uploads/", "core.upload", "uploads");
pub static TASK: ResourceType = core_type("tasks/", "core.task", "tasks");
pub static WORKER: ResourceType = core_type("workers/", "core.appstatus", "workers");
pub static SIGNING_SERVICE: ResourceType = core_type(
    "signing-services/",
    "core.signingservice",
    "signing_services",
);
pub static TASK_GROUP: ResourceType = core_type("task-groups/", "core.taskgroup", "task_groups");
pub static USER: ResourceType = core_type("users/", "auth.user", "users");
// Pulp's groups are its own proxy of Django's, so their model is `core.group`.
pub static GROUP: ResourceType = core_type("groups/", "core.group", "user_groups");
pub static ROLE: ResourceType = core_type("roles/", "core.role", "roles");
pub static DOMAIN: ResourceType = core_type("domains/", "core.domain", "domains");
pub static ACCESS_POLICY: ResourceType =
    core_type("access_policies/", "core.accesspolicy", "access_policies");
pub static PULP_EXPORTER: ResourceType =
    core_type("exporters/core/pulp/", "core.pulpexporter", "exporters");
pub static FS_EXPORTER: ResourceType = core_type(
    "exporters/core/filesystem/",
    "core.filesystemexporter",
    "exporters",
);
pub static PULP_IMPORTER: ResourceType =
    core_type("importers/core/pulp/", "core.pulpimporter", "importers");
pub static UPSTREAM_PULP: ResourceType =
    core_type("upstream-pulps/", "core.upstreampulp", "upstream_pulps");
pub static VULN_REPORT: ResourceType = core_type(
    "vuln_report/",
    "core.vulnerabilityreport",
    "vulnerability_reports",
);

/// Core's content guards.
pub static RBAC_GUARD: ResourceType = guard(
    "core.rbac",
    "contentguards/core/rbac/",
    "core.rbaccontentguard",
);
pub static REDIRECT_GUARD: ResourceType = guard(
    "core.content_redirect",
    "contentguards/core/content_redirect/",
    "core.contentredirectcontentguard",
);
pub static HEADER_GUARD: ResourceType = guard(
    "core.header",
    "contentguards/core/header/",
    "core.headercontentguard",
);
pub static COMPOSITE_GUARD: ResourceType = guard(
    "core.composite",
    "contentguards/core/composite/",
    "core.compositecontentguard",
);

/// A header whose base64 value must be a server environment variable's (one the deployment
/// allows in `PULP_ENVVAR_HEADER_CONTENT_GUARD_ALLOWED_VARS`).
pub static ENVVAR_GUARD: ResourceType = guard(
    "core.envvar_header",
    "contentguards/core/envvar_header/",
    "core.envvarheadercontentguard",
);

/// Pulp's certguard plugin's X.509 guard: client certificates a proxy forwards, checked
/// against the guard's CA.
pub static X509_GUARD: ResourceType = guard(
    "certguard.x509",
    "contentguards/certguard/x509/",
    "certguard.x509certguard",
);

pub(crate) static CORE_TYPES: [Kind; 22] = [
    &DOMAIN,
    &ARTIFACT,
    &UPLOAD,
    &TASK,
    &TASK_GROUP,
    &WORKER,
    &SIGNING_SERVICE,
    &USER,
    &GROUP,
    &ROLE,
    &ACCESS_POLICY,
    &RBAC_GUARD,
    &REDIRECT_GUARD,
    &HEADER_GUARD,
    &COMPOSITE_GUARD,
    &X509_GUARD,
    &ENVVAR_GUARD,
    &PULP_EXPORTER,
    &FS_EXPORTER,
    &PULP_IMPORTER,
    &UPSTREAM_PULP,
    &VULN_REPORT,
];

const fn guard(
    pulp_type: &'static str,
    collection: &'static str,
    prn_model: &'static str,
) -> ResourceType {
    ResourceType::new(pulp_type, collection, prn_model, Role::ContentGuard)
}

const fn core_type(
    collection: &'static str,
    prn_model: &'static str,
    table: &'static str,
) -> ResourceType {
    ResourceType::new(prn_model, collection, prn_model, Role::Other { table })
}

impl ResourceType {
    pub fn href(&self, id: &str) -> String {
        format!("{}{}{id}/", self.root(), self.collection)
    }

    /// The API root its hrefs are under: the domain's in force, or for the types above domains
    /// (users, groups, roles, domains ...) `default`'s, wherever they are asked for (Pulp's).
    fn root(&self) -> String {
        match self.in_domains() {
            true => crate::domain::api_root(),
            false => crate::domain::above_root(),
        }
    }

    pub fn prn(&self, id: &str) -> String {
        format!("prn:{}:{id}", self.prn_model)
    }

    /// Parses an href of this type and returns the id, or `None` when it is not one.
    pub fn parse(&self, href: &str) -> Option<String> {
        // Those above domains are found under the domain in force's root too.
        let rest = href
            .strip_prefix(self.root().as_str())
            .or_else(|| href.strip_prefix(crate::domain::api_root().as_str()))?
            .strip_prefix(self.collection)?;
        let id = rest.strip_suffix('/')?;
        uuid::Uuid::parse_str(id).ok().map(|_| id.to_string())
    }

    /// Accepts an href or a PRN of this type (Pulp accepts both wherever it takes a reference).
    pub fn parse_ref(&self, reference: &str) -> Option<String> {
        if let Some(rest) = reference.strip_prefix("prn:") {
            let (model, id) = rest.split_once(':')?;
            return (model == self.prn_model && uuid::Uuid::parse_str(id).is_ok())
                .then(|| id.to_string());
        }
        self.parse(reference)
    }
}

/// The PRN of the resource `href` names, if it is an href of a known type.
pub fn to_prn(href: &str) -> Option<String> {
    crate::plugin::resource_types().find_map(|k| k.parse(href).map(|id| k.prn(&id)))
}

/// Resolves a reference a client sent in `field` to an id of `kind`, with DRF's message.
pub fn resolve(kind: Kind, field: &str, reference: &str) -> crate::CoreResult<String> {
    kind.parse_ref(reference)
        .ok_or_else(|| unresolved(field, reference))
}

/// Resolves a reference sent in `field` to an object of any type of `family`.
pub fn resolve_family(
    family: crate::plugin::Family,
    field: &str,
    reference: &str,
) -> crate::CoreResult<(Kind, String)> {
    crate::plugin::of_family(family)
        .find_map(|k| k.parse_ref(reference).map(|id| (k, id)))
        .ok_or_else(|| unresolved(field, reference))
}

/// Resolves a repository version href sent in `field` to (repository id, number).
pub fn resolve_version(field: &str, href: &str) -> crate::CoreResult<(String, i64)> {
    parse_version_href(href).ok_or_else(|| unresolved(field, href))
}

/// Why `reference`, sent in `field`, names nothing here: it is under another domain's root
/// (Pulp's message), or it is no href of the kind asked for.
pub fn unresolved(field: &str, reference: &str) -> crate::CoreError {
    if in_other_domain(reference) {
        return cross_domain();
    }
    crate::CoreError::field(
        field,
        format!("Invalid hyperlink - No URL match. ({reference})"),
    )
}

/// Whether `href` is under the API root of a domain other than the one in force. Told by the
/// href alone, never by a lookup: whether the other domain holds such an object stays unknown.
pub fn in_other_domain(href: &str) -> bool {
    let current = crate::domain::current();
    current.in_urls
        && crate::domain::split_api_path(href).is_some_and(|(name, _)| name != &*current.name)
}

/// A request that names objects of another domain (Pulp's answer, 400).
pub fn cross_domain() -> crate::CoreError {
    crate::CoreError::Invalid(serde_json::json!({"non_field_errors": [format!(
        "Objects must all be a part of the {} domain.",
        crate::domain::current().name
    )]}))
}

/// The error for a well-formed reference to something that does not exist.
pub fn missing(field: &str, reference: impl std::fmt::Display) -> crate::CoreError {
    crate::CoreError::field(
        field,
        format!("Invalid hyperlink - Object does not exist. ({reference})"),
    )
}

pub const VERSION_PRN_MODEL: &str = "core.repositoryversion";

/// `<repository href>versions/<n>/`.
pub fn version_href(repository: Kind, repository_id: &str, number: i64) -> String {
    format!("{}versions/{number}/", repository.href(repository_id))
}

/// Parses a repository version href (of any repository type) into (repository id, number).
pub fn parse_version_href(href: &str) -> Option<(String, i64)> {
    let rest = href.strip_prefix(crate::domain::api_root().as_str())?;
    let rest = crate::plugin::of_family(crate::plugin::Family::Repository)
        .find_map(|k| rest.strip_prefix(k.collection))?;
    let (id, rest) = rest.split_once('/')?;
    uuid::Uuid::parse_str(id).ok()?;
    let number = rest.strip_prefix("versions/")?.strip_suffix('/')?;
    let number: i64 = number.parse().ok()?;
    (number >= 0).then(|| (id.to_string(), number))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hrefs_round_trip() {
        let id = "0190a3c2-7d6e-7c1a-9b1e-2f3a4b5c6d7e";
        let href = TASK.href(id);
        assert_eq!(href, format!("/pulp/api/v3/tasks/{id}/"));
        assert_eq!(TASK.parse(&href).as_deref(), Some(id));
        assert_eq!(UPLOAD.parse(&href), None);
        assert_eq!(TASK.parse("/pulp/api/v3/tasks/x/"), None);
        assert_eq!(TASK.parse_ref(&TASK.prn(id)).as_deref(), Some(id));
        assert_eq!(TASK.parse_ref(&UPLOAD.prn(id)), None);
    }
}
