//! Content-type plugins. Core names no content type: each plugin crate (`shared/file`,
//! `shared/container`, `shared/python`, ...) exports one [`Plugin`] describing its resource
//! types and tasks, and the host installs the list of plugins once at start-up
//! (`depot_plugins::install`). Everything that maps a `pulp_type`, an href or a task name to
//! its owner looks it up here; a type no installed plugin describes is an error, never a guess.

use std::sync::OnceLock;

use crate::db::Migration;
use crate::tasks::TaskSpec;
use crate::{CoreError, CoreResult};

/// What a resource type is, with what core needs to know about each family.
#[derive(Debug, Clone, Copy)]
pub enum Role {
    Repository {
        /// The repository is created and deleted with its distribution (container push
        /// repositories), as in Pulp.
        owned_by_distribution: bool,
    },
    Remote,
    Distribution {
        /// The content app serves it (file and python do; the registry serves containers).
        served_by_content_app: bool,
        /// The type of the publications it may serve, if it serves publications.
        publication: Option<Kind>,
    },
    Publication {
        /// The type of the distributions that serve it.
        distribution: Kind,
        /// Its published files are what the content app serves (a file publication); when
        /// false it only fixes the version whose content is served (a python publication).
        serves_files: bool,
    },
    Content {
        /// What the unit's repository key is called in a conflict message ("relative path").
        key_name: &'static str,
    },
    /// A content guard (`contentguards/<app>/<type>/`): who may fetch what a distribution
    /// serves.
    ContentGuard,
    /// An alternate content source (`acs/<plugin>/<type>/`): another remote of the type whose
    /// files syncs and on-demand fetches may take, matched by checksum.
    Acs,
    /// A resource with an href that is none of the above (artifacts, tasks, namespaces...),
    /// whose rows live in `table` by `id`.
    Other {
        table: &'static str,
    },
}

/// The family of a [`Role`], for lookups.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    Repository,
    Remote,
    Distribution,
    Publication,
    Content,
    ContentGuard,
    Acs,
    Other,
}

/// One resource type with an href: where its collection lives and how its PRNs read.
pub struct ResourceType {
    /// The `pulp_type` of its rows (`<plugin>.<type>`); for types without one, the PRN model.
    pub pulp_type: &'static str,
    /// The list path relative to the API root, e.g. `repositories/file/file/`.
    pub collection: &'static str,
    /// The PRN model (`<plugin>.<model>`), unique among all types.
    pub prn_model: &'static str,
    pub role: Role,
}

/// A resource type; compared by PRN model, which is unique.
pub type Kind = &'static ResourceType;

/// Constructors for the descriptors, one per role: `(pulp_type, collection, prn_model, ...)`.
impl ResourceType {
    pub const fn repository(
        pulp_type: &'static str,
        collection: &'static str,
        prn_model: &'static str,
    ) -> Self {
        let role = Role::Repository {
            owned_by_distribution: false,
        };
        Self::new(pulp_type, collection, prn_model, role)
    }

    /// A repository created and deleted with its distribution.
    pub const fn owned_repository(
        pulp_type: &'static str,
        collection: &'static str,
        prn_model: &'static str,
    ) -> Self {
        let role = Role::Repository {
            owned_by_distribution: true,
        };
        Self::new(pulp_type, collection, prn_model, role)
    }

    pub const fn remote(
        pulp_type: &'static str,
        collection: &'static str,
        prn_model: &'static str,
    ) -> Self {
        Self::new(pulp_type, collection, prn_model, Role::Remote)
    }

    pub const fn acs(
        pulp_type: &'static str,
        collection: &'static str,
        prn_model: &'static str,
    ) -> Self {
        Self::new(pulp_type, collection, prn_model, Role::Acs)
    }

    pub const fn content(
        pulp_type: &'static str,
        collection: &'static str,
        prn_model: &'static str,
        key_name: &'static str,
    ) -> Self {
        Self::new(pulp_type, collection, prn_model, Role::Content { key_name })
    }

    pub const fn publication(
        (pulp_type, collection, prn_model): (&'static str, &'static str, &'static str),
        distribution: Kind,
        serves_files: bool,
    ) -> Self {
        let role = Role::Publication {
            distribution,
            serves_files,
        };
        Self::new(pulp_type, collection, prn_model, role)
    }

    pub const fn distribution(
        (pulp_type, collection, prn_model): (&'static str, &'static str, &'static str),
        served_by_content_app: bool,
        publication: Option<Kind>,
    ) -> Self {
        let role = Role::Distribution {
            served_by_content_app,
            publication,
        };
        Self::new(pulp_type, collection, prn_model, role)
    }

    pub const fn new(
        pulp_type: &'static str,
        collection: &'static str,
        prn_model: &'static str,
        role: Role,
    ) -> Self {
        Self {
            pulp_type,
            collection,
            prn_model,
            role,
        }
    }

    /// A distribution type the content app serves.
    pub fn served_by_content_app(&self) -> bool {
        matches!(
            self.role,
            Role::Distribution {
                served_by_content_app: true,
                ..
            }
        )
    }

    /// A publication type whose published files the content app serves.
    pub fn serves_files(&self) -> bool {
        matches!(
            self.role,
            Role::Publication {
                serves_files: true,
                ..
            }
        )
    }

    /// The table its rows live in, by `id`.
    pub fn table(&self) -> &'static str {
        match self.role {
            Role::Repository { .. } => "repositories",
            Role::Remote => "remotes",
            Role::Distribution { .. } => "distributions",
            Role::Publication { .. } => "publications",
            Role::Content { .. } => "contents",
            Role::ContentGuard => "content_guards",
            Role::Acs => "acs",
            Role::Other { table } => table,
        }
    }

    /// Whether its objects belong to a domain (a role given on a domain reaches them): all but
    /// core's tenancy types, which are above domains.
    pub fn in_domains(&self) -> bool {
        use crate::hrefs::{ACCESS_POLICY, DOMAIN, GROUP, ROLE, SIGNING_SERVICE, USER, WORKER};
        let above = [
            &USER,
            &GROUP,
            &ROLE,
            &ACCESS_POLICY,
            &DOMAIN,
            &WORKER,
            &SIGNING_SERVICE,
        ];
        !above.iter().any(|k| k.prn_model == self.prn_model)
    }

    pub fn family(&self) -> Family {
        match self.role {
            Role::Repository { .. } => Family::Repository,
            Role::Remote => Family::Remote,
            Role::Distribution { .. } => Family::Distribution,
            Role::Publication { .. } => Family::Publication,
            Role::Content { .. } => Family::Content,
            Role::ContentGuard => Family::ContentGuard,
            Role::Acs => Family::Acs,
            Role::Other { .. } => Family::Other,
        }
    }
}

impl PartialEq for ResourceType {
    fn eq(&self, other: &Self) -> bool {
        self.prn_model == other.prn_model
    }
}

impl Eq for ResourceType {}

impl std::fmt::Debug for ResourceType {
    // Not derived: publication and distribution types refer to each other.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.prn_model)
    }
}

/// What a content-type plugin provides.
pub struct Plugin {
    /// The app label of its types (`file`, `container`, `python`).
    pub name: &'static str,
    /// The level of the Pulp plugin's API it implements, as `status/` and `workers/` name it:
    /// clients (pulp-cli) gate their features on it.
    pub api_version: &'static str,
    /// Every resource type it adds, with hrefs.
    pub resource_types: &'static [Kind],
    /// Its locked roles (Pulp's `LOCKED_ROLES`), kept in the roles table at start-up.
    pub roles: &'static [&'static crate::access::RoleSpec],
    /// The tasks it defines, each with the function that runs it.
    pub tasks: &'static [&'static TaskSpec],
    /// SQL conditions, each true when content `c.id` is still in use by the plugin's own rows
    /// though no repository version holds it (a blob a manifest names, content pending in a
    /// push): orphan cleanup leaves such content alone.
    pub content_in_use: &'static [&'static str],
    /// SQL conditions, each true when artifact `a.id` is in use by the plugin's own rows (a
    /// blob upload in progress): it is not deleted.
    pub artifact_in_use: &'static [&'static str],
    /// Its tables, with versions unique among core's and every plugin's.
    pub migrations: &'static [Migration],
    /// Publishes a new version of one of its repositories that has `autopublish` set (Pulp's
    /// `on_new_version`); `None` when its repositories do not publish.
    pub autopublish: Option<Autopublish>,
    /// How its repositories travel in Pulp's export format; `None` when they do not.
    pub exportable: Option<&'static Exportable>,
    /// Its content types whose files reclaim_space leaves alone (Pulp's
    /// `PROTECTED_FROM_RECLAIM`): what it cannot serve again from a remote.
    pub reclaim_protected: &'static [&'static str],
    /// How its distributions are replicated from an upstream Pulp; `None` when they are not.
    pub replicable: Option<&'static crate::replication::Replicable>,
    /// How its packages are looked up in OSV by a vulnerability scan; `None` when they are
    /// not.
    pub scannable: Option<&'static crate::vulnerability::Scannable>,
}

/// A plugin's part of Pulp's export format ([`crate::importexport`]): the rows of its content
/// and repositories, named as the Pulp plugin names its resources, so that exports travel
/// between Depot and Pulp.
pub struct Exportable {
    /// Its component in `versions.json` (`file`).
    pub component: &'static str,
    /// The resource file of its content rows in each version's folder
    /// (`pulp_file.app.modelresource.FileContentResource`).
    pub content_resource: &'static str,
    /// The resource file of its repository row there.
    pub repository_resource: &'static str,
    /// The fields its repository row adds to core's (`manifest`, `autopublish`...), read from
    /// the repository.
    pub repository_fields:
        fn(&crate::models::repository::Repository) -> serde_json::Map<String, serde_json::Value>,
    /// The content rows of a version, each with `upstream_id` (the unit's id here).
    pub content_rows: fn(crate::Core, crate::models::version::Version) -> RowsFuture,
    /// Finds or makes the units that content rows describe, in the domain in force, given the
    /// artifacts each upstream unit's files are ([`ImportedFiles`]); answers their ids.
    pub import_rows: fn(
        crate::Core,
        Vec<serde_json::Map<String, serde_json::Value>>,
        ImportedFiles,
    ) -> IdsFuture,
}

/// An imported unit's files: upstream content id to (relative path, artifact id) each.
pub type ImportedFiles = std::collections::HashMap<String, Vec<(String, String)>>;

pub type RowsFuture = std::pin::Pin<
    Box<dyn Future<Output = CoreResult<Vec<serde_json::Map<String, serde_json::Value>>>> + Send>,
>;
pub type IdsFuture = std::pin::Pin<Box<dyn Future<Output = CoreResult<Vec<String>>> + Send>>;

/// The plugin whose exportable part names `component`.
pub fn exportable(component: &str) -> Option<&'static Exportable> {
    installed()
        .iter()
        .filter_map(|p| p.exportable)
        .find(|e| e.component == component)
}

/// A plugin's publication of a new repository version, made in the task that made the version.
pub type Autopublish = fn(crate::Core, crate::models::version::Version) -> PublishFuture;

/// What an [`Autopublish`] hook answers: the publication it made.
pub type PublishFuture = std::pin::Pin<
    Box<dyn Future<Output = CoreResult<crate::models::publication::Publication>> + Send>,
>;

/// The plugin that describes the type `kind`.
pub fn owner_of(kind: Kind) -> Option<&'static Plugin> {
    installed()
        .iter()
        .copied()
        .find(|p| p.resource_types.contains(&kind))
}

static INSTALLED: OnceLock<&'static [&'static Plugin]> = OnceLock::new();

/// Makes `plugins` the ones this process knows. The first call wins; later calls (tests
/// building several apps) must pass the same list.
pub fn install(plugins: &'static [&'static Plugin]) {
    let _ = INSTALLED.set(plugins);
}

/// The installed plugins (none before [`install`]).
pub fn installed() -> &'static [&'static Plugin] {
    INSTALLED.get().copied().unwrap_or(&[])
}

/// Every resource type with an href: core's own and the plugins'.
pub fn resource_types() -> impl Iterator<Item = Kind> {
    crate::hrefs::CORE_TYPES.iter().copied().chain(
        installed()
            .iter()
            .flat_map(|p| p.resource_types.iter().copied()),
    )
}

/// The resource types of one family.
pub fn of_family(family: Family) -> impl Iterator<Item = Kind> {
    resource_types().filter(move |k| k.family() == family)
}

/// The type of a `family` row whose `pulp_type` is `pulp_type`. An unknown type means the
/// database holds rows of a plugin this process does not have.
pub fn find(family: Family, pulp_type: &str) -> CoreResult<Kind> {
    of_family(family)
        .find(|k| k.pulp_type == pulp_type)
        .ok_or_else(|| {
            CoreError::Internal(format!(
                "no installed plugin provides the {family:?} type '{pulp_type}'"
            ))
        })
}

/// The type whose PRN model is `model`.
pub fn from_prn_model(model: &str) -> Option<Kind> {
    resource_types().find(|k| k.prn_model == model)
}

/// The level of pulpcore's API that Depot's core implements.
pub const CORE_API_VERSION: &str = "3.86.0";

/// The API levels of core and each installed plugin, as `(component, version)`: `status/`
/// and the workers report them, and pulp-cli gates its features on them (PEP 440 versions).
pub fn api_versions() -> Vec<(&'static str, &'static str)> {
    std::iter::once(("core", CORE_API_VERSION))
        .chain(installed().iter().map(|p| (p.name, p.api_version)))
        .collect()
}

/// Every task spec: core's and the plugins'.
pub fn task_specs() -> impl Iterator<Item = &'static TaskSpec> {
    crate::tasks::CORE_TASKS
        .iter()
        .copied()
        .chain(installed().iter().flat_map(|p| p.tasks.iter().copied()))
}

/// The `pulp_type`s of `kinds` as an SQL list (`'a', 'b'`), for statements that select rows of
/// the types with some trait. The names are the plugins' own constants; anything else in them
/// is left out rather than quoted. An empty list is `NULL`, which matches nothing.
pub fn sql_list(kinds: impl Iterator<Item = Kind>) -> String {
    let names: Vec<String> = kinds
        .map(|k| k.pulp_type)
        .filter(|t| {
            t.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
        })
        .map(|t| format!("'{t}'"))
        .collect();
    if names.is_empty() {
        "NULL".to_string()
    } else {
        names.join(", ")
    }
}
