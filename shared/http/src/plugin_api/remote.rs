//! A remote type (`remotes/<plugin>/<type>/`): what differs between types. The `api-remotes`
//! crate serves them all.

use depot_core::hrefs::Kind;
use depot_core::models::Labels;
use depot_core::models::remote::{Policy, Remote};
use schemars::JsonSchema;
use serde::Deserialize;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

pub trait RemoteType: Send + Sync + 'static {
    const PULP_TYPE: &'static str;
    const KIND: Kind;
    const BASE: &'static str;
    const PREFIX: &'static str;
    const HREF_PARAM: &'static str;
    const TAG: &'static str;
    /// The type's own fields, kept with the settings.
    const FIELDS: &'static [&'static str];
    const DEFAULT_POLICY: Policy;

    type Create: DeserializeOwned + JsonSchema;
    type Patch: DeserializeOwned + JsonSchema;
    type Response: Serialize + JsonSchema + Send;

    fn response(remote: &Remote) -> Self::Response;

    /// The type's own checks of the fields sent (before anything is stored).
    fn validate(_raw: &serde_json::Map<String, Value>) -> depot_core::CoreResult<()> {
        Ok(())
    }
}

/// The connection settings every remote has (all optional); each type's request bodies
/// flatten it.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct RemoteSettings {
    pub pulp_labels: Option<Labels>,
    pub policy: Option<Policy>,
    pub ca_cert: Option<String>,
    pub client_cert: Option<String>,
    pub client_key: Option<String>,
    pub tls_validation: Option<bool>,
    pub proxy_url: Option<String>,
    pub proxy_username: Option<String>,
    pub proxy_password: Option<String>,
    pub username: Option<String>,
    pub password: Option<String>,
    #[schemars(range(min = 0, max = 100))]
    pub max_retries: Option<i64>,
    /// Seconds; at most a day.
    #[schemars(range(min = 0, max = MAX_TIMEOUT))]
    pub total_timeout: Option<f64>,
    #[schemars(range(min = 0, max = MAX_TIMEOUT))]
    pub connect_timeout: Option<f64>,
    #[schemars(range(min = 0, max = MAX_TIMEOUT))]
    pub sock_connect_timeout: Option<f64>,
    #[schemars(range(min = 0, max = MAX_TIMEOUT))]
    pub sock_read_timeout: Option<f64>,
    pub headers: Option<Vec<Value>>,
    #[schemars(range(min = 1, max = 1000))]
    pub download_concurrency: Option<i64>,
    #[schemars(range(min = 0, max = 2147483647))]
    pub rate_limit: Option<i64>,
}

/// The longest timeout a remote may set, in seconds.
const MAX_TIMEOUT: f64 = 86_400.0;

/// Folds the older field names into the current ones (`include_tags` into `includes`, ...).
pub fn fold_aliases(raw: &mut serde_json::Map<String, Value>) {
    for (old, new) in [("include_tags", "includes"), ("exclude_tags", "excludes")] {
        if let Some(v) = raw.remove(old) {
            match (raw.get_mut(new), v) {
                (Some(Value::Array(current)), Value::Array(more)) => current.extend(more),
                (_, v) => {
                    raw.insert(new.into(), v);
                }
            }
        }
    }
}
