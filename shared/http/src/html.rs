//! HTML the server writes itself (directory listings, the simple index).

/// `s` fit for HTML text and attribute values, escaped as Jinja's `|e` does (the templates of
/// Pulp and of PyPI's index), so pages read byte for byte as theirs.
pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&#34;")
        .replace('\'', "&#39;")
}
