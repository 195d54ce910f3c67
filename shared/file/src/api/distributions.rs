//! File distributions (`distributions/file/file/`).

use depot_core::config::Settings;
use depot_core::hrefs::Kind;
use depot_core::models::Labels;
use depot_core::models::distribution::{Distribution, FileDistributionResponse};
use depot_http::plugin_api::DistributionType;
use schemars::JsonSchema;
use serde::Deserialize;

/// File distributions: served by the content app.
pub struct Distributions;

impl DistributionType for Distributions {
    const PULP_TYPE: &'static str = "file.file";
    const KIND: Kind = &crate::DISTRIBUTION;
    const BASE: &'static str = "/pulp/api/v3/distributions/file/file/";
    const PREFIX: &'static str = "distributions_file_file";
    const HREF_PARAM: &'static str = "file_file_distribution_href";
    const TAG: &'static str = "Distributions: File";
    const REPOSITORIES: &'static [Kind] = &[&crate::REPOSITORY];
    const PUBLICATION: Option<Kind> = Some(&crate::PUBLICATION);
    const REMOTE: Option<Kind> = None;

    type Create = FileDistribution;
    type Patch = PatchedFileDistribution;
    type Response = FileDistributionResponse;

    fn response(
        common: FileDistributionResponse,
        _: &Distribution,
        _: Option<String>,
        _: &Settings,
    ) -> Self::Response {
        common
    }
}

/// A file distribution serving at most one of repository, repository_version and publication.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct FileDistribution {
    pub name: String,
    pub base_path: String,
    pub content_guard: Option<String>,
    pub hidden: Option<bool>,
    pub pulp_labels: Option<Labels>,
    pub repository: Option<String>,
    pub repository_version: Option<String>,
    pub publication: Option<String>,
    pub checkpoint: Option<bool>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct PatchedFileDistribution {
    pub name: Option<String>,
    pub base_path: Option<String>,
    pub content_guard: Option<String>,
    pub hidden: Option<bool>,
    pub pulp_labels: Option<Labels>,
    pub repository: Option<String>,
    pub repository_version: Option<String>,
    pub publication: Option<String>,
    pub checkpoint: Option<bool>,
}
