//! Python packages in vulnerability scans: OSV knows them as `PyPI` packages, by name and
//! version (one query per package file, as pulp_python asks).

use depot_core::Core;
use depot_core::models::version::Version;
use depot_core::vulnerability::{Package, PackagesFuture, Scannable};

pub static SCANNABLE: Scannable = Scannable {
    repository: &crate::plugin::REPOSITORY,
    ecosystem: "PyPI",
    packages,
};

fn packages(core: Core, v: Version) -> PackagesFuture {
    Box::pin(async move {
        let found = crate::store::in_version(&core.db, &v.repository_id, v.number, None).await?;
        Ok(found
            .into_iter()
            .map(|p| Package {
                content_id: p.content_id,
                name: p.name,
                version: p.version,
            })
            .collect())
    })
}
