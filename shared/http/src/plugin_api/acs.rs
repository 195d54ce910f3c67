//! An alternate content source type (`acs/<plugin>/<type>/`): what differs between types. The
//! `api-remotes` crate serves them all, beside the remotes they are made of.

use depot_core::hrefs::Kind;
use depot_core::tasks::Dispatch;
use schemars::JsonSchema;
use serde::Deserialize;

pub trait AcsType: Send + Sync + 'static {
    /// The ACS type.
    const KIND: Kind;
    /// The type of remote it is made of (which must have the `on_demand` policy).
    const REMOTE: Kind;
    const BASE: &'static str;
    const PREFIX: &'static str;
    const HREF_PARAM: &'static str;
    const TAG: &'static str;

    /// The task that refreshes path `path_id` of ACS `acs_id`: reads what the path offers.
    fn refresh(acs_id: &str, path_id: &str) -> Dispatch;
}

/// An ACS to create or replace.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AcsBody {
    /// Name of Alternate Content Source.
    pub name: String,
    /// The remote to provide alternate content source.
    pub remote: String,
    /// List of paths that will be appended to the Remote url when searching for content.
    #[serde(default)]
    pub paths: Option<Vec<String>>,
}

/// Fields to change on an ACS.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchedAcsBody {
    /// Name of Alternate Content Source.
    pub name: Option<String>,
    /// The remote to provide alternate content source.
    pub remote: Option<String>,
    /// List of paths that will be appended to the Remote url when searching for content.
    pub paths: Option<Vec<String>>,
}
