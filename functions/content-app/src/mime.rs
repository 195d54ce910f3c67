//! The `Content-Type` of a served file, told by its last extension alone, as Pulp's content app
//! tells it: the common types of the web (IANA's registry, as MDN and Python's `mimetypes` list
//! them), compressed files by their compression, and `application/octet-stream` for anything
//! else, so that a client never gets a guess from a rare extension (`.f`, `.....f`).

/// Extension (lowercase, without the dot) and type, sorted by extension.
const TYPES: &[(&str, &str)] = &[
    ("7z", "application/x-7z-compressed"),
    ("aac", "audio/aac"),
    ("abw", "application/x-abiword"),
    ("apk", "application/vnd.android.package-archive"),
    ("arc", "application/x-freearc"),
    ("asc", "text/plain"),
    ("avi", "video/x-msvideo"),
    ("avif", "image/avif"),
    ("azw", "application/vnd.amazon.ebook"),
    ("bat", "text/plain"),
    ("bin", "application/octet-stream"),
    ("bmp", "image/bmp"),
    ("bz", "application/x-bzip"),
    ("bz2", "application/x-bzip2"),
    ("c", "text/plain"),
    ("cda", "application/x-cdf"),
    ("cpio", "application/x-cpio"),
    ("crt", "application/x-x509-ca-cert"),
    ("csh", "application/x-csh"),
    ("css", "text/css"),
    ("csv", "text/csv"),
    ("deb", "application/vnd.debian.binary-package"),
    ("doc", "application/msword"),
    (
        "docx",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ),
    ("eot", "application/vnd.ms-fontobject"),
    ("epub", "application/epub+zip"),
    ("gif", "image/gif"),
    ("gz", "application/gzip"),
    ("gzip", "application/gzip"),
    ("h", "text/plain"),
    ("htm", "text/html"),
    ("html", "text/html"),
    ("ico", "image/vnd.microsoft.icon"),
    ("ics", "text/calendar"),
    ("iso", "application/x-iso9660-image"),
    ("jar", "application/java-archive"),
    ("jpeg", "image/jpeg"),
    ("jpg", "image/jpeg"),
    ("js", "text/javascript"),
    ("json", "application/json"),
    ("jsonld", "application/ld+json"),
    ("md", "text/markdown"),
    ("mid", "audio/midi"),
    ("midi", "audio/midi"),
    ("mjs", "text/javascript"),
    ("mp3", "audio/mpeg"),
    ("mp4", "video/mp4"),
    ("mpeg", "video/mpeg"),
    ("odp", "application/vnd.oasis.opendocument.presentation"),
    ("ods", "application/vnd.oasis.opendocument.spreadsheet"),
    ("odt", "application/vnd.oasis.opendocument.text"),
    ("oga", "audio/ogg"),
    ("ogv", "video/ogg"),
    ("ogx", "application/ogg"),
    ("opus", "audio/ogg"),
    ("otf", "font/otf"),
    ("pdf", "application/pdf"),
    ("pem", "application/x-pem-file"),
    ("php", "application/x-httpd-php"),
    ("png", "image/png"),
    ("ppt", "application/vnd.ms-powerpoint"),
    (
        "pptx",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    ),
    ("py", "text/x-python"),
    ("rar", "application/vnd.rar"),
    ("rpm", "application/x-rpm"),
    ("rtf", "application/rtf"),
    ("sh", "application/x-sh"),
    ("svg", "image/svg+xml"),
    ("tar", "application/x-tar"),
    ("tif", "image/tiff"),
    ("tiff", "image/tiff"),
    ("ts", "video/mp2t"),
    ("ttf", "font/ttf"),
    ("txt", "text/plain"),
    ("vsd", "application/vnd.visio"),
    ("wasm", "application/wasm"),
    ("wav", "audio/wav"),
    ("weba", "audio/webm"),
    ("webm", "video/webm"),
    ("webp", "image/webp"),
    ("whl", "application/zip"),
    ("woff", "font/woff"),
    ("woff2", "font/woff2"),
    ("xhtml", "application/xhtml+xml"),
    ("xls", "application/vnd.ms-excel"),
    (
        "xlsx",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ),
    ("xml", "text/xml"),
    ("xul", "application/vnd.mozilla.xul+xml"),
    ("xz", "application/x-xz"),
    ("yaml", "application/yaml"),
    ("yml", "application/yaml"),
    ("zip", "application/zip"),
    ("zst", "application/zstd"),
    ("zstd", "application/zstd"),
];

pub const OCTET_STREAM: &str = "application/octet-stream";

/// The type of the file at `path`, by its last extension (`a.tar.gz` is gzip).
pub fn of(path: &str) -> &'static str {
    let name = path.rsplit('/').next().unwrap_or(path);
    // Leading dots make a hidden file, not an extension (`.bashrc`).
    let stem_and_ext = name.trim_start_matches('.');
    let Some((stem, ext)) = stem_and_ext.rsplit_once('.') else {
        return OCTET_STREAM;
    };
    if stem.is_empty() || ext.is_empty() {
        return OCTET_STREAM;
    }
    let ext = ext.to_ascii_lowercase();
    TYPES
        .binary_search_by(|(e, _)| (*e).cmp(ext.as_str()))
        .map_or(OCTET_STREAM, |i| TYPES[i].1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_are_sorted_and_told_by_the_last_extension() {
        assert!(TYPES.windows(2).all(|w| w[0].0 < w[1].0));
        for (path, want) in [
            ("x.tar.gz", "application/gzip"),
            ("x.xml.bz2", "application/x-bzip2"),
            ("x.json.zstd", "application/zstd"),
            ("x.xml.xz", "application/x-xz"),
            ("x.json", "application/json"),
            ("x.txt", "text/plain"),
            ("x.xml", "text/xml"),
            ("d/x.JPG", "image/jpeg"),
            ("x.halabala", OCTET_STREAM),
            ("x.asd/.asd/a", OCTET_STREAM),
            ("x.....f", OCTET_STREAM),
            (".bashrc", OCTET_STREAM),
            ("x.", OCTET_STREAM),
            ("PULP_MANIFEST", OCTET_STREAM),
        ] {
            assert_eq!(of(path), want, "{path}");
        }
    }
}
