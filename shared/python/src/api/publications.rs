//! Python publications (`publications/python/pypi/`).

use depot_core::CoreResult;
use depot_core::hrefs::Kind;
use depot_http::plugin_api::PublicationType;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Map, Value};

/// Python publications (pulp_python's deprecated way to fix the version an index serves).
pub struct Publications;

impl PublicationType for Publications {
    const PULP_TYPE: &'static str = "python.python";
    const KIND: Kind = &crate::plugin::PUBLICATION;
    const REPOSITORY: Kind = &crate::plugin::REPOSITORY;
    const BASE: &'static str = "/pulp/api/v3/publications/python/pypi/";
    const PREFIX: &'static str = "publications_python_pypi";
    const HREF_PARAM: &'static str = "python_python_publication_href";
    const TAG: &'static str = "Publications: Pypi";
    const TASK: &'static str = "pulp_python.app.tasks.publish.publish";
    type Create = PythonPublication;
    type Task = crate::plugin::Publish;

    fn task(repository_version_id: String, _: &Map<String, Value>) -> CoreResult<Self::Task> {
        Ok(crate::plugin::Publish {
            repository_version_id,
        })
    }
}

/// The repository (its latest version) or the version an index serves, not both.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PythonPublication {
    pub repository: Option<String>,
    pub repository_version: Option<String>,
}
