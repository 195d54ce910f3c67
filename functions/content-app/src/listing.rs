//! Directory listings as Pulp's content app writes them, to the byte where clients and tests
//! read them: `./`-relative links, a `../` link below the root, and for files the time they
//! came and their size, in columns.

use axum::http::StatusCode;
use axum::response::Response;
use depot_core::models::serving::DirEntry;
use depot_http::html::escape;

/// Where dates start: names are padded to this many characters (longer ones push them on).
const NAME_COLUMN: usize = 100;

/// A stored timestamp (`2024-01-02T03:04:05.000000Z`) as listings show it: `02-Jan-2024 03:04`.
fn listed_date(stored: &str) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let month = stored
        .get(5..7)
        .and_then(|m| m.parse::<usize>().ok())
        .and_then(|m| MONTHS.get(m.wrapping_sub(1)));
    match (
        stored.get(0..4),
        month,
        stored.get(8..10),
        stored.get(11..16),
    ) {
        (Some(y), Some(m), Some(d), Some(hm)) => format!("{d}-{m}-{y} {hm}"),
        _ => String::new(),
    }
}

/// A size in decimal units, as Jinja's `filesizeformat` writes it: `0 Bytes`, `1 Byte`,
/// `999 Bytes`, `1.0 kB`, `2.5 MB`.
fn listed_size(bytes: i64) -> String {
    const UNITS: [&str; 8] = ["kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"];
    let b = bytes as f64;
    if bytes == 1 {
        return "1 Byte".into();
    }
    if b < 1000.0 {
        return format!("{bytes} Bytes");
    }
    for (i, unit) in UNITS.iter().enumerate() {
        let next = 1000f64.powi(i as i32 + 2);
        if b < next || i == UNITS.len() - 1 {
            return format!("{:.1} {unit}", 1000.0 * b / next);
        }
    }
    unreachable!("the last unit returns")
}

fn line(entry: &DirEntry) -> String {
    let name = escape(&entry.name);
    let pad = " ".repeat(NAME_COLUMN.saturating_sub(name.chars().count()));
    let date = entry
        .created
        .as_deref()
        .map(listed_date)
        .unwrap_or_default();
    let size = entry.size.map(listed_size).unwrap_or_default();
    format!("<a href=\"./{name}\">{name}</a>{pad}{date}  {size}\n")
}

/// The listing of `path`; `root`: the top of the content app (or of a domain's), which has no
/// parent link.
pub fn listing(path: &str, root: bool, entries: &[DirEntry]) -> Response {
    let path = escape(path);
    let parent = if root { "" } else { "<a href=\"../\">../</a>" };
    let mut sorted: Vec<&DirEntry> = entries.iter().collect();
    sorted.sort_by(|a, b| a.name.cmp(&b.name));
    let items: String = sorted.into_iter().map(line).collect();
    crate::html(
        StatusCode::OK,
        format!(
            "\n<html>\n<head><title>Index of {path}</title></head>\n<body bgcolor=\"white\">\n\
             <h1>Index of {path}</h1>\n<hr><pre>{parent}\n{items}</pre><hr></body>\n</html>\n"
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_dates_read_as_pulps() {
        assert_eq!(listed_size(0), "0 Bytes");
        assert_eq!(listed_size(1), "1 Byte");
        assert_eq!(listed_size(999), "999 Bytes");
        assert_eq!(listed_size(1000), "1.0 kB");
        assert_eq!(listed_size(2_500_000), "2.5 MB");
        assert_eq!(listed_size(i64::MAX), "9.2 EB");
        assert_eq!(
            listed_date("2024-01-02T03:04:05.000000Z"),
            "02-Jan-2024 03:04"
        );
        assert_eq!(listed_date("junk"), "");
        assert_eq!(listed_date("2024-13-02T03:04:05.000000Z"), "");
    }

    #[test]
    fn files_line_up_and_names_are_escaped() {
        let file = DirEntry {
            name: "a<b".into(),
            created: Some("2024-01-02T03:04:05.000000Z".into()),
            size: Some(0),
        };
        let l = line(&file);
        assert!(l.starts_with("<a href=\"./a&lt;b\">a&lt;b</a>"), "{l}");
        assert!(l.ends_with("02-Jan-2024 03:04  0 Bytes\n"), "{l}");
        let link = "<a href=\"./a&lt;b\">a&lt;b</a>";
        assert_eq!(l.find("02-Jan").unwrap(), link.len() + 100 - "a&lt;b".len());
        assert_eq!(
            line(&DirEntry::dir("d/".into())),
            format!("<a href=\"./d/\">d/</a>{}  \n", " ".repeat(98))
        );
    }
}
