//! The content-type plugins, in one list. Adding a content type is its crates, its migrations
//! and one line here; hosts (the local runner, every function binary) call [`install`] once at
//! start-up.

use depot_core::plugin::Plugin;

/// Every plugin, in the order their types are listed.
pub static PLUGINS: &[&Plugin] = &[
    &depot_file::PLUGIN,
    &depot_container::PLUGIN,
    &depot_python::PLUGIN,
];

/// Makes [`PLUGINS`] the plugins of this process.
pub fn install() {
    depot_core::plugin::install(PLUGINS);
}

#[cfg(test)]
mod tests {
    use depot_core::plugin::{self, Family};

    /// Hrefs, PRN models and task names each name exactly one thing.
    #[test]
    fn names_are_unique() {
        super::install();
        let mut collections: Vec<_> = plugin::resource_types().map(|k| k.collection).collect();
        let mut models: Vec<_> = plugin::resource_types().map(|k| k.prn_model).collect();
        let mut tasks: Vec<_> = plugin::task_specs().map(|s| s.name).collect();
        for list in [&mut collections, &mut models, &mut tasks] {
            let n = list.len();
            list.sort();
            list.dedup();
            assert_eq!(list.len(), n, "{list:?}");
        }
        let mut versions: Vec<_> = depot_core::db::migrations()
            .iter()
            .map(|m| m.version)
            .collect();
        let n = versions.len();
        versions.dedup();
        assert_eq!(versions.len(), n, "two migrations share a version");
        assert!(n >= 7);
        // One type per (family, pulp_type): a lookup by type is never ambiguous.
        let mut keys: Vec<_> = plugin::resource_types()
            .filter(|k| k.family() != Family::Other)
            .map(|k| format!("{:?} {}", k.family(), k.pulp_type))
            .collect();
        let n = keys.len();
        keys.sort();
        keys.dedup();
        assert_eq!(keys.len(), n);
    }

    #[test]
    fn version_hrefs_of_every_repository_type_parse() {
        super::install();
        let id = "0190a3c2-7d6e-7c1a-9b1e-2f3a4b5c6d7e";
        for kind in plugin::of_family(Family::Repository) {
            let href = depot_core::hrefs::version_href(kind, id, 3);
            assert_eq!(
                depot_core::hrefs::parse_version_href(&href),
                Some((id.to_string(), 3))
            );
        }
        assert_eq!(
            plugin::find(Family::Repository, "file.file")
                .map(|k| k.prn_model)
                .ok(),
            Some("file.filerepository")
        );
        assert!(plugin::find(Family::Repository, "rpm.rpm").is_err());
        assert!(plugin::find(Family::Remote, "container.container-push").is_err());
    }
}
