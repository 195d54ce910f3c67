//! A distribution type (`distributions/<plugin>/<type>/`): what differs between types. The
//! `api-distributions` crate serves them all.

use std::collections::HashMap;
use std::future::Future;

use depot_core::CoreResult;
use depot_core::config::Settings;
use depot_core::db::Db;
use depot_core::hrefs::Kind;
use depot_core::models::distribution::{Distribution, FileDistributionResponse};
use schemars::JsonSchema;
use serde::Serialize;
use serde::de::DeserializeOwned;

pub trait DistributionType: Send + Sync + 'static {
    const PULP_TYPE: &'static str;
    const KIND: Kind;
    const BASE: &'static str;
    const PREFIX: &'static str;
    const HREF_PARAM: &'static str;
    const TAG: &'static str;
    /// The repository types it may serve (empty: it serves no repository).
    const REPOSITORIES: &'static [Kind];
    /// The publication type it may serve, if any.
    const PUBLICATION: Option<Kind>;
    /// The remote type of its `remote` field, if it has one.
    const REMOTE: Option<Kind>;

    type Create: DeserializeOwned + JsonSchema;
    type Patch: DeserializeOwned + JsonSchema;
    type Response: Serialize + JsonSchema + Send;

    /// The type's response; `related` is what [`Self::related`] found for this distribution.
    fn response(
        common: FileDistributionResponse,
        d: &Distribution,
        related: Option<String>,
        s: &Settings,
    ) -> Self::Response;

    /// An href each distribution of a page shows besides its row (a container distribution's
    /// namespace), by distribution id: looked up once for the whole page.
    fn related(
        _db: &Db,
        _ds: &[Distribution],
    ) -> impl Future<Output = CoreResult<HashMap<String, String>>> + Send {
        async { Ok(HashMap::new()) }
    }

    /// What the type does once a distribution of it was created or changed (a container
    /// distribution's namespace is made when missing).
    fn saved(_db: &Db, _d: &Distribution) -> impl Future<Output = CoreResult<()>> + Send {
        async { Ok(()) }
    }

    /// The type's own rules for a base path.
    fn validate_base_path(_base_path: &str) -> CoreResult<()> {
        Ok(())
    }
}
