//! A publication type (`publications/<plugin>/<type>/`): what differs between types. The
//! `api-publications` crate serves them all.

use depot_core::CoreResult;
use depot_core::hrefs::Kind;
use depot_core::tasks::TaskArgs;
use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

pub trait PublicationType: Send + Sync + 'static {
    const PULP_TYPE: &'static str;
    const KIND: Kind;
    const REPOSITORY: Kind;
    const BASE: &'static str;
    const PREFIX: &'static str;
    const HREF_PARAM: &'static str;
    const TAG: &'static str;
    /// The Pulp name of its publish task.
    const TASK: &'static str;
    type Create: DeserializeOwned + JsonSchema;
    /// The plugin's publish task.
    type Task: TaskArgs;

    /// The publish task of the version `repository_version_id`, with the type's own fields of
    /// the request `raw` (checked here).
    fn task(repository_version_id: String, raw: &Map<String, Value>) -> CoreResult<Self::Task>;
}
