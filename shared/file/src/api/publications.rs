//! File publications (`publications/file/file/`).

use depot_core::hrefs::Kind;
use depot_core::{CoreError, CoreResult};
use depot_http::plugin_api::PublicationType;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Map, Value};

/// File publications: a version's files and a generated PULP_MANIFEST.
pub struct Publications;

impl PublicationType for Publications {
    const PULP_TYPE: &'static str = "file.file";
    const KIND: Kind = &crate::PUBLICATION;
    const REPOSITORY: Kind = &crate::REPOSITORY;
    const BASE: &'static str = "/pulp/api/v3/publications/file/file/";
    const PREFIX: &'static str = "publications_file_file";
    const HREF_PARAM: &'static str = "file_file_publication_href";
    const TAG: &'static str = "Publications: File";
    const TASK: &'static str = "pulp_file.app.tasks.publishing.publish";
    type Create = FilePublication;
    type Task = crate::Publish;

    fn task(repository_version_id: String, raw: &Map<String, Value>) -> CoreResult<crate::Publish> {
        let manifest = raw
            .get("manifest")
            .and_then(Value::as_str)
            .unwrap_or("PULP_MANIFEST")
            .to_string();
        crate::content::validate_relative_path(&manifest)
            .map_err(|_| CoreError::field("manifest", "Invalid manifest name."))?;
        Ok(crate::Publish {
            repository_version_id,
            manifest,
            checkpoint: raw
                .get("checkpoint")
                .and_then(Value::as_bool)
                .unwrap_or(false),
        })
    }
}

/// What to publish: a repository (its latest version) or one version, not both.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FilePublication {
    pub repository: Option<String>,
    pub repository_version: Option<String>,
    /// Name of the generated manifest file.
    pub manifest: Option<String>,
    pub checkpoint: Option<bool>,
}
