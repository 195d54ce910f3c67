//! Hrefs and PRNs. Hrefs are relative paths under the API root, exactly as Pulp prints them;
//! PRNs are `prn:<app>.<model>:<id>`.

pub const API_ROOT: &str = "/pulp/api/v3/";

/// The resource families that have hrefs, with their path under the API root and PRN model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    FileRepository,
    FileRemote,
    FileContent,
    FilePublication,
    FileDistribution,
    Artifact,
    Upload,
    Task,
    TaskGroup,
    User,
    ContainerRepository,
    ContainerPushRepository,
    ContainerRemote,
    ContainerPullThroughRemote,
    ContainerDistribution,
    ContainerPullThroughDistribution,
    ContainerManifest,
    ContainerBlob,
    ContainerTag,
    ContainerNamespace,
    PythonRepository,
    PythonRemote,
    PythonDistribution,
    PythonPackage,
    PythonPublication,
}

impl Kind {
    pub const ALL: [Kind; 25] = [
        Kind::FileRepository,
        Kind::FileRemote,
        Kind::FileContent,
        Kind::FilePublication,
        Kind::FileDistribution,
        Kind::Artifact,
        Kind::Upload,
        Kind::Task,
        Kind::TaskGroup,
        Kind::User,
        Kind::ContainerRepository,
        Kind::ContainerPushRepository,
        Kind::ContainerRemote,
        Kind::ContainerPullThroughRemote,
        Kind::ContainerDistribution,
        Kind::ContainerPullThroughDistribution,
        Kind::ContainerManifest,
        Kind::ContainerBlob,
        Kind::ContainerTag,
        Kind::ContainerNamespace,
        Kind::PythonRepository,
        Kind::PythonRemote,
        Kind::PythonDistribution,
        Kind::PythonPackage,
        Kind::PythonPublication,
    ];

    /// The repository types, whose hrefs have `versions/<n>/` below them.
    pub const REPOSITORIES: [Kind; 4] = [
        Kind::FileRepository,
        Kind::ContainerRepository,
        Kind::ContainerPushRepository,
        Kind::PythonRepository,
    ];

    pub const REMOTES: [Kind; 4] = [
        Kind::FileRemote,
        Kind::ContainerRemote,
        Kind::ContainerPullThroughRemote,
        Kind::PythonRemote,
    ];

    pub const DISTRIBUTIONS: [Kind; 4] = [
        Kind::FileDistribution,
        Kind::ContainerDistribution,
        Kind::ContainerPullThroughDistribution,
        Kind::PythonDistribution,
    ];

    /// The kind whose PRN model is `model`.
    pub fn from_prn_model(model: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.prn_model() == model)
    }

    /// The kind of a repository, remote or distribution from its `pulp_type`.
    pub fn repository(pulp_type: &str) -> Kind {
        match pulp_type {
            "container.container" => Kind::ContainerRepository,
            "container.container-push" => Kind::ContainerPushRepository,
            "python.python" => Kind::PythonRepository,
            _ => Kind::FileRepository,
        }
    }

    pub fn remote(pulp_type: &str) -> Kind {
        match pulp_type {
            "container.container" => Kind::ContainerRemote,
            "container.pull-through" => Kind::ContainerPullThroughRemote,
            "python.python" => Kind::PythonRemote,
            _ => Kind::FileRemote,
        }
    }

    pub fn distribution(pulp_type: &str) -> Kind {
        match pulp_type {
            "container.container" => Kind::ContainerDistribution,
            "container.pull-through" => Kind::ContainerPullThroughDistribution,
            "python.pypi" => Kind::PythonDistribution,
            _ => Kind::FileDistribution,
        }
    }

    pub fn publication(pulp_type: &str) -> Kind {
        match pulp_type {
            "python.python" => Kind::PythonPublication,
            _ => Kind::FilePublication,
        }
    }

    /// The `pulp_type` of the content units of this kind, if it is a content kind.
    pub fn content_type(self) -> Option<&'static str> {
        match self {
            Kind::FileContent => Some("file.file"),
            Kind::ContainerManifest => Some("container.manifest"),
            Kind::ContainerBlob => Some("container.blob"),
            Kind::ContainerTag => Some("container.tag"),
            Kind::PythonPackage => Some("python.python"),
            _ => None,
        }
    }

    /// The kind of a content unit from its `pulp_type`.
    pub fn content(pulp_type: &str) -> Kind {
        match pulp_type {
            "container.manifest" => Kind::ContainerManifest,
            "container.blob" => Kind::ContainerBlob,
            "container.tag" => Kind::ContainerTag,
            "python.python" => Kind::PythonPackage,
            _ => Kind::FileContent,
        }
    }

    /// The list path relative to the API root, e.g. `repositories/file/file/`.
    pub fn collection(self) -> &'static str {
        match self {
            Kind::FileRepository => "repositories/file/file/",
            Kind::FileRemote => "remotes/file/file/",
            Kind::FileContent => "content/file/files/",
            Kind::FilePublication => "publications/file/file/",
            Kind::FileDistribution => "distributions/file/file/",
            Kind::Artifact => "artifacts/",
            Kind::Upload => "uploads/",
            Kind::Task => "tasks/",
            Kind::TaskGroup => "task-groups/",
            Kind::User => "users/",
            Kind::ContainerRepository => "repositories/container/container/",
            Kind::ContainerPushRepository => "repositories/container/container-push/",
            Kind::ContainerRemote => "remotes/container/container/",
            Kind::ContainerPullThroughRemote => "remotes/container/pull-through/",
            Kind::ContainerDistribution => "distributions/container/container/",
            Kind::ContainerPullThroughDistribution => "distributions/container/pull-through/",
            Kind::ContainerManifest => "content/container/manifests/",
            Kind::ContainerBlob => "content/container/blobs/",
            Kind::ContainerTag => "content/container/tags/",
            Kind::ContainerNamespace => "pulp_container/namespaces/",
            Kind::PythonRepository => "repositories/python/python/",
            Kind::PythonRemote => "remotes/python/python/",
            Kind::PythonDistribution => "distributions/python/pypi/",
            Kind::PythonPackage => "content/python/packages/",
            Kind::PythonPublication => "publications/python/pypi/",
        }
    }

    pub fn prn_model(self) -> &'static str {
        match self {
            Kind::FileRepository => "file.filerepository",
            Kind::FileRemote => "file.fileremote",
            Kind::FileContent => "file.filecontent",
            Kind::FilePublication => "file.filepublication",
            Kind::FileDistribution => "file.filedistribution",
            Kind::Artifact => "core.artifact",
            Kind::Upload => "core.upload",
            Kind::Task => "core.task",
            Kind::TaskGroup => "core.taskgroup",
            Kind::User => "core.user",
            Kind::ContainerRepository => "container.containerrepository",
            Kind::ContainerPushRepository => "container.containerpushrepository",
            Kind::ContainerRemote => "container.containerremote",
            Kind::ContainerPullThroughRemote => "container.containerpullthroughremote",
            Kind::ContainerDistribution => "container.containerdistribution",
            Kind::ContainerPullThroughDistribution => "container.containerpullthroughdistribution",
            Kind::ContainerManifest => "container.manifest",
            Kind::ContainerBlob => "container.blob",
            Kind::ContainerTag => "container.tag",
            Kind::ContainerNamespace => "container.containernamespace",
            Kind::PythonRepository => "python.pythonrepository",
            Kind::PythonRemote => "python.pythonremote",
            Kind::PythonDistribution => "python.pythondistribution",
            Kind::PythonPackage => "python.pythonpackagecontent",
            Kind::PythonPublication => "python.pythonpublication",
        }
    }

    pub fn href(self, id: &str) -> String {
        format!("{API_ROOT}{}{id}/", self.collection())
    }

    pub fn prn(self, id: &str) -> String {
        format!("prn:{}:{id}", self.prn_model())
    }

    /// Parses an href of this kind and returns the id, or `None` when it is not one.
    pub fn parse(self, href: &str) -> Option<String> {
        let rest = href
            .strip_prefix(API_ROOT)?
            .strip_prefix(self.collection())?;
        let id = rest.strip_suffix('/')?;
        uuid::Uuid::parse_str(id).ok().map(|_| id.to_string())
    }

    /// Accepts an href or a PRN of this kind (Pulp accepts both wherever it takes a reference).
    pub fn parse_ref(self, reference: &str) -> Option<String> {
        if let Some(rest) = reference.strip_prefix("prn:") {
            let (model, id) = rest.split_once(':')?;
            return (model == self.prn_model() && uuid::Uuid::parse_str(id).is_ok())
                .then(|| id.to_string());
        }
        self.parse(reference)
    }
}

/// Resolves a reference a client sent in `field` to an id of `kind`, with DRF's message.
pub fn resolve(kind: Kind, field: &str, reference: &str) -> crate::CoreResult<String> {
    kind.parse_ref(reference).ok_or_else(|| {
        crate::CoreError::field(
            field,
            format!("Invalid hyperlink - No URL match. ({reference})"),
        )
    })
}

/// Resolves a repository version href sent in `field` to (repository id, number).
pub fn resolve_version(field: &str, href: &str) -> crate::CoreResult<(String, i64)> {
    parse_version_href(href).ok_or_else(|| {
        crate::CoreError::field(field, format!("Invalid hyperlink - No URL match. ({href})"))
    })
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
    let rest = href.strip_prefix(API_ROOT)?;
    let rest = Kind::REPOSITORIES
        .iter()
        .find_map(|k| rest.strip_prefix(k.collection()))?;
    let (id, rest) = rest.split_once('/')?;
    uuid::Uuid::parse_str(id).ok()?;
    let number = rest.strip_prefix("versions/")?.strip_suffix('/')?;
    let number: i64 = number.parse().ok()?;
    (number >= 0).then(|| (id.to_string(), number))
}

/// The domain every resource belongs to until domains are enabled; tasks always hold it shared.
pub const DEFAULT_DOMAIN_PRN: &str = "prn:core.domain:00000000-0000-0000-0000-000000000000";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hrefs_round_trip() {
        let id = "0190a3c2-7d6e-7c1a-9b1e-2f3a4b5c6d7e";
        let href = Kind::FileRepository.href(id);
        assert_eq!(href, format!("/pulp/api/v3/repositories/file/file/{id}/"));
        assert_eq!(Kind::FileRepository.parse(&href).as_deref(), Some(id));
        assert_eq!(Kind::FileRemote.parse(&href), None);
        assert_eq!(
            Kind::FileRepository.parse("/pulp/api/v3/repositories/file/file/x/"),
            None
        );
        let v = version_href(Kind::FileRepository, id, 3);
        assert_eq!(parse_version_href(&v), Some((id.to_string(), 3)));
        let v = version_href(Kind::ContainerPushRepository, id, 3);
        assert_eq!(parse_version_href(&v), Some((id.to_string(), 3)));
        assert_eq!(
            Kind::FileRepository
                .parse_ref(&Kind::FileRepository.prn(id))
                .as_deref(),
            Some(id)
        );
    }
}
