//! File alternate content sources (`acs/file/file/`): file remotes whose PULP_MANIFESTs name
//! files a sync or an on-demand fetch may take instead of the primary remote's.

use depot_core::hrefs::Kind;
use depot_core::tasks::Dispatch;
use depot_http::plugin_api::AcsType;

pub struct Acs;

/// Pulp's task name for an ACS refresh: a sync of the path's manifest.
pub const REFRESH_TASK: &str = "pulp_file.app.tasks.synchronizing.synchronize";

impl AcsType for Acs {
    const KIND: Kind = &crate::ACS;
    const REMOTE: Kind = &crate::REMOTE;
    const BASE: &'static str = "/pulp/api/v3/acs/file/file/";
    const PREFIX: &'static str = "acs_file_file";
    const HREF_PARAM: &'static str = "file_file_alternate_content_source_href";
    const TAG: &'static str = "Acs: File";

    fn refresh(acs_id: &str, path_id: &str) -> Dispatch {
        let args = crate::AcsRefresh {
            acs_id: acs_id.to_string(),
            path_id: path_id.to_string(),
        };
        Dispatch::new(REFRESH_TASK, &args)
    }
}
