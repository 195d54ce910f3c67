//! The content-type plugins, in one list. Adding a content type is its crates, its migrations
//! and one line here; hosts (the local runner, every function binary) call [`install`] once at
//! start-up, and the resource-family crates walk [`visit_api`] for the plugins' REST types.

use depot_core::plugin::Plugin;
use depot_http::plugin_api::ApiVisitor;

/// Each plugin crate exports `PLUGIN` (its descriptor) and `api::visit` (its REST pieces).
macro_rules! plugins {
    ($($krate:ident),* $(,)?) => {
        /// Every plugin, in the order their types are listed.
        pub static PLUGINS: &[&Plugin] = &[$(&$krate::PLUGIN),*];

        /// Shows every plugin's REST pieces to `v`, in the same order.
        pub fn visit_api<V: ApiVisitor>(v: &mut V) {
            $($krate::api::visit(v);)*
        }
    };
}

plugins![depot_file, depot_container, depot_python];

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

    /// The REST types the plugins show are the resource types their descriptors list.
    #[test]
    fn rest_types_match_the_descriptors() {
        use depot_http::plugin_api::*;
        struct Kinds(Vec<(Family, &'static str)>);
        impl ApiVisitor for Kinds {
            fn repository<T: RepositoryType>(&mut self) {
                self.0.push((Family::Repository, T::KIND.prn_model));
            }
            fn remote<T: RemoteType>(&mut self) {
                self.0.push((Family::Remote, T::KIND.prn_model));
            }
            fn distribution<T: DistributionType>(&mut self) {
                self.0.push((Family::Distribution, T::KIND.prn_model));
            }
            fn publication<T: PublicationType>(&mut self) {
                self.0.push((Family::Publication, T::KIND.prn_model));
            }
        }
        super::install();
        let mut shown = Kinds(Vec::new());
        super::visit_api(&mut shown);
        let families = [
            Family::Repository,
            Family::Remote,
            Family::Distribution,
            Family::Publication,
        ];
        let mut listed: Vec<_> = plugin::resource_types()
            .filter(|k| families.contains(&k.family()))
            .map(|k| (k.family(), k.prn_model))
            .collect();
        let key = |p: &(Family, &str)| format!("{:?} {}", p.0, p.1);
        listed.sort_by_key(key);
        shown.0.sort_by_key(key);
        assert_eq!(shown.0, listed);
    }
}
