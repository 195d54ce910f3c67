//! Distribution file names: wheels (`name-version[-build]-python-abi-platform.whl`, PEP 427)
//! and sdists (`name-version.tar.gz` or `.zip`, PEP 625).

use std::str::FromStr;

use depot_core::{CoreError, CoreResult};
use pep440_rs::Version;

/// What a file name says about the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DistFile {
    pub name: String,
    pub version: String,
    /// `bdist_wheel` or `sdist`, as Pulp and twine name them.
    pub packagetype: &'static str,
    /// The wheel's python tag (`py3`, `cp312`), `source` for an sdist.
    pub python_version: String,
}

fn invalid(filename: &str, why: &str) -> CoreError {
    CoreError::invalid(format!(
        "Invalid distribution file name '{filename}': {why}."
    ))
}

/// Reads a distribution file name; anything else is a 400 that says why.
pub fn parse(filename: &str) -> CoreResult<DistFile> {
    if filename.contains('/') || filename.contains('\\') || filename.starts_with('.') {
        return Err(invalid(filename, "it must be a plain file name"));
    }
    if let Some(stem) = filename.strip_suffix(".whl") {
        let parts: Vec<&str> = stem.split('-').collect();
        if parts.len() != 5 && parts.len() != 6 {
            return Err(invalid(
                filename,
                "a wheel is name-version[-build]-python-abi-platform.whl",
            ));
        }
        let (name, version) = (parts[0], parts[1]);
        check(filename, name, version)?;
        return Ok(DistFile {
            name: name.to_string(),
            version: version.to_string(),
            packagetype: "bdist_wheel",
            python_version: parts[parts.len() - 3].to_string(),
        });
    }
    let stem = filename
        .strip_suffix(".tar.gz")
        .or_else(|| filename.strip_suffix(".zip"))
        .ok_or_else(|| {
            invalid(
                filename,
                "only wheels (.whl) and sdists (.tar.gz, .zip) are accepted",
            )
        })?;
    let (name, version) = stem
        .rsplit_once('-')
        .ok_or_else(|| invalid(filename, "an sdist is name-version.tar.gz"))?;
    check(filename, name, version)?;
    Ok(DistFile {
        name: name.to_string(),
        version: version.to_string(),
        packagetype: "sdist",
        python_version: "source".to_string(),
    })
}

fn check(filename: &str, name: &str, version: &str) -> CoreResult<()> {
    if !crate::names::is_valid(name) {
        return Err(invalid(filename, "the project name is not valid"));
    }
    Version::from_str(version)
        .map_err(|_| invalid(filename, "the version is not a PEP 440 version"))?;
    Ok(())
}

/// Whether two version strings are the same PEP 440 version (`1.0` and `1.0.0` are).
pub fn same_version(a: &str, b: &str) -> bool {
    match (Version::from_str(a), Version::from_str(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wheels_and_sdists() {
        let w = parse("tinypkg_demo-0.1.0-py3-none-any.whl").unwrap();
        assert_eq!(
            (w.name.as_str(), w.version.as_str(), w.packagetype),
            ("tinypkg_demo", "0.1.0", "bdist_wheel")
        );
        assert_eq!(w.python_version, "py3");
        let b = parse("numpy-2.0.0-1-cp312-cp312-manylinux_2_17_x86_64.whl").unwrap();
        assert_eq!(b.python_version, "cp312");
        let s = parse("python-dateutil-2.8.2.tar.gz").unwrap();
        assert_eq!(
            (s.name.as_str(), s.version.as_str(), s.packagetype),
            ("python-dateutil", "2.8.2", "sdist")
        );
        for bad in [
            "x.txt",
            "a-1.0.whl",
            "-1.0.tar.gz",
            "a-notaversion.tar.gz",
            "../a-1.0.tar.gz",
            "a-1.0.egg",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        assert!(same_version("1.0", "1.0.0"));
        assert!(!same_version("1.0", "1.1"));
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn any_file_name_parses_or_not_without_panic(name in prop_oneof![any::<String>(), "[a-zA-Z0-9_.+!-]{0,20}(-[a-zA-Z0-9_.+!]{0,10}){0,5}(\\.whl|\\.tar\\.gz|\\.zip|\\.egg)?"]) {
                if let Ok(d) = parse(&name) {
                    prop_assert!(!d.name.is_empty() && !d.version.is_empty());
                }
            }
        }
    }
}
