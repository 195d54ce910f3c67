//! Project names: PEP 508's grammar and PEP 503's normal form.

use depot_core::{CoreError, CoreResult};

/// `^([A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9])$`, case-insensitively (PEP 508).
pub fn is_valid(name: &str) -> bool {
    let alnum = |c: char| c.is_ascii_alphanumeric();
    let first = name.chars().next();
    let last = name.chars().last();
    first.is_some_and(alnum)
        && last.is_some_and(alnum)
        && name.chars().all(|c| alnum(c) || "._-".contains(c))
}

pub fn validate(name: &str) -> CoreResult<()> {
    if is_valid(name) {
        Ok(())
    } else {
        Err(CoreError::invalid(format!(
            "'{name}' is not a valid project name (PEP 508)."
        )))
    }
}

/// Lower case, with every run of `-`, `_` and `.` made one `-` (PEP 503).
pub fn normalize(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut in_run = false;
    for c in name.chars() {
        if "-_.".contains(c) {
            if !in_run {
                out.push('-');
            }
            in_run = true;
        } else {
            out.push(c.to_ascii_lowercase());
            in_run = false;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normal_forms() {
        assert_eq!(normalize("Friendly-Bard"), "friendly-bard");
        assert_eq!(normalize("FRIENDLY._-BARD"), "friendly-bard");
        assert_eq!(normalize("tinypkg_demo"), "tinypkg-demo");
        for good in ["a", "A1", "zope.interface", "typing_extensions", "x-y"] {
            assert!(is_valid(good), "{good}");
        }
        for bad in ["", "-a", "a-", "a b", "a/b", "é", ".a"] {
            assert!(!is_valid(bad), "{bad}");
        }
    }
}
