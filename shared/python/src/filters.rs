//! Which projects, versions and files of an upstream index a python remote takes, from its
//! `includes`/`excludes` (PEP 508 requirements such as `django~=4.0`), `prereleases`,
//! `package_types`, `exclude_platforms` and `keep_latest_packages`.

use std::collections::BTreeMap;
use std::str::FromStr;

use depot_core::models::remote::Remote;
use depot_core::{CoreError, CoreResult};
use pep440_rs::{Version, VersionSpecifiers};
use pep508_rs::{Requirement, VersionOrUrl};
use serde_json::Value;

use crate::filename::DistFile;
use crate::names::normalize;

/// A project named in `includes` or `excludes`, with its version specifiers (none: all).
#[derive(Debug, Clone)]
pub struct Spec {
    pub name: String,
    pub versions: Option<VersionSpecifiers>,
}

pub fn parse_spec(text: &str) -> CoreResult<Spec> {
    let r = Requirement::<pep508_rs::VerbatimUrl>::from_str(text)
        .map_err(|e| CoreError::invalid(format!("'{text}' is not a requirement: {e}")))?;
    let versions = match r.version_or_url {
        Some(VersionOrUrl::VersionSpecifier(v)) => Some(v),
        Some(VersionOrUrl::Url(_)) => {
            return Err(CoreError::invalid(format!(
                "'{text}' names a URL, not versions"
            )));
        }
        None => None,
    };
    Ok(Spec {
        name: normalize(r.name.as_ref()),
        versions,
    })
}

/// Checks the requirement lists of a remote (for a 400 when it is made).
pub fn validate(list: &[String]) -> CoreResult<()> {
    list.iter().try_for_each(|s| parse_spec(s).map(|_| ()))
}

/// The filters of a python remote.
#[derive(Debug, Clone, Default)]
pub struct Filters {
    pub includes: Vec<Spec>,
    pub excludes: Vec<Spec>,
    pub prereleases: bool,
    pub package_types: Vec<String>,
    pub exclude_platforms: Vec<String>,
    pub keep_latest: usize,
}

impl Filters {
    pub fn of(remote: &Remote) -> CoreResult<Self> {
        let specs = |k: &str| -> CoreResult<Vec<Spec>> {
            remote
                .strings(k)
                .unwrap_or_default()
                .iter()
                .map(|s| parse_spec(s))
                .collect()
        };
        Ok(Filters {
            includes: specs("includes")?,
            excludes: specs("excludes")?,
            prereleases: remote
                .setting("prereleases")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            package_types: remote.strings("package_types").unwrap_or_default(),
            exclude_platforms: remote.strings("exclude_platforms").unwrap_or_default(),
            keep_latest: remote
                .setting("keep_latest_packages")
                .and_then(Value::as_u64)
                .unwrap_or(0) as usize,
        })
    }

    /// Whether the project is wanted at all (an exclude without versions drops it).
    pub fn wants_project(&self, name: &str) -> bool {
        let name = normalize(name);
        let included = self.includes.is_empty() || self.includes.iter().any(|s| s.name == name);
        let excluded = self
            .excludes
            .iter()
            .any(|s| s.name == name && s.versions.is_none());
        included && !excluded
    }

    fn wants_version(&self, name: &str, version: &Version) -> bool {
        let name = normalize(name);
        let matches =
            |s: &Spec| s.name == name && s.versions.as_ref().is_none_or(|v| v.contains(version));
        if !self.includes.is_empty() && !self.includes.iter().any(matches) {
            return false;
        }
        if self
            .excludes
            .iter()
            .any(|s| s.name == name && s.versions.is_some() && matches(s))
        {
            return false;
        }
        self.prereleases || !version.any_prerelease()
    }

    fn wants_file(&self, dist: &DistFile, filename: &str) -> bool {
        if !self.package_types.is_empty()
            && !self.package_types.iter().any(|t| t == dist.packagetype)
        {
            return false;
        }
        let platform = |p: &str| match p {
            "windows" => filename.contains("-win"),
            "macos" => filename.contains("-macosx"),
            "freebsd" => filename.contains("-freebsd"),
            "linux" => filename.contains("linux"),
            _ => false,
        };
        !(dist.packagetype == "bdist_wheel" && self.exclude_platforms.iter().any(|p| platform(p)))
    }

    /// The files to take among a project's, keeping the `keep_latest` newest versions.
    pub fn select<T>(
        &self,
        files: Vec<(DistFile, T)>,
        filename_of: impl Fn(&T) -> &str,
    ) -> Vec<(DistFile, T)> {
        let mut by_version: BTreeMap<Version, Vec<(DistFile, T)>> = BTreeMap::new();
        for (dist, f) in files {
            let Ok(v) = Version::from_str(&dist.version) else {
                continue;
            };
            if self.wants_version(&dist.name, &v) && self.wants_file(&dist, filename_of(&f)) {
                by_version.entry(v).or_default().push((dist, f));
            }
        }
        let keep = if self.keep_latest == 0 {
            usize::MAX
        } else {
            self.keep_latest
        };
        by_version
            .into_values()
            .rev()
            .take(keep)
            .flatten()
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filename::parse;

    #[test]
    fn includes_excludes_and_latest() {
        let f = Filters {
            includes: vec![parse_spec("app>=1.0").unwrap(), parse_spec("lib").unwrap()],
            excludes: vec![parse_spec("app==1.5").unwrap(), parse_spec("gone").unwrap()],
            keep_latest: 2,
            ..Default::default()
        };
        assert!(f.wants_project("App") && f.wants_project("lib") && !f.wants_project("other"));
        let names = [
            "app-0.9.tar.gz",
            "app-1.0.tar.gz",
            "app-1.5.tar.gz",
            "app-2.0.tar.gz",
            "app-3.0rc1.tar.gz",
        ];
        let files = names
            .iter()
            .map(|n| (parse(n).unwrap(), n.to_string()))
            .collect();
        let kept: Vec<String> = f
            .select(files, |s| s.as_str())
            .into_iter()
            .map(|(_, n)| n)
            .collect();
        assert_eq!(kept, vec!["app-2.0.tar.gz", "app-1.0.tar.gz"]);
        assert!(parse_spec("not a requirement !!").is_err());
        let g = Filters {
            exclude_platforms: vec!["windows".into()],
            package_types: vec!["bdist_wheel".into()],
            ..Default::default()
        };
        let files = [
            "x-1.0-cp312-cp312-win_amd64.whl",
            "x-1.0-py3-none-any.whl",
            "x-1.0.tar.gz",
        ]
        .iter()
        .map(|n| (parse(n).unwrap(), n.to_string()))
        .collect();
        let kept: Vec<String> = g
            .select(files, |s| s.as_str())
            .into_iter()
            .map(|(_, n)| n)
            .collect();
        assert_eq!(kept, vec!["x-1.0-py3-none-any.whl"]);
    }
}
