//! Manifests: media types and what a pushed manifest references. The bytes are never
//! re-serialised; parsing only reads the references that must exist before it is accepted.

use serde_json::{Map, Value};

use crate::{Digest, RegistryError, RegistryResult};

pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
pub const DOCKER_SCHEMA1: &str = "application/vnd.docker.distribution.manifest.v1+json";
pub const DOCKER_SCHEMA1_SIGNED: &str = "application/vnd.docker.distribution.manifest.v1+prettyjws";
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";

/// Image config types; any other config type makes an OCI manifest an artifact.
const IMAGE_CONFIGS: [&str; 2] = [
    "application/vnd.oci.image.config.v1+json",
    "application/vnd.docker.container.image.v1+json",
];

/// Largest manifest accepted (the spec lets registries refuse above 4 MiB).
pub const MAX_SIZE: usize = 4 * 1024 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Image,
    Index,
    Artifact,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Image => "image",
            Kind::Index => "index",
            Kind::Artifact => "artifact",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Descriptor {
    pub media_type: String,
    pub digest: Digest,
    pub size: i64,
    /// Layers that live elsewhere (foreign or non-distributable) need not be pushed.
    pub foreign: bool,
    pub platform: Option<Platform>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Platform {
    pub architecture: Option<String>,
    pub os: Option<String>,
    pub variant: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Parsed {
    pub media_type: String,
    pub schema_version: i64,
    pub kind: Kind,
    pub config: Option<Descriptor>,
    pub layers: Vec<Descriptor>,
    /// What an index lists.
    pub manifests: Vec<Descriptor>,
    pub subject: Option<Digest>,
    pub artifact_type: Option<String>,
    pub annotations: Value,
}

impl Parsed {
    /// Blobs that must already be in the repository.
    pub fn required_blobs(&self) -> impl Iterator<Item = &Descriptor> {
        self.config
            .iter()
            .chain(self.layers.iter())
            .filter(|d| !d.foreign)
    }
}

fn invalid(msg: impl Into<String>) -> RegistryError {
    RegistryError::ManifestInvalid(msg.into())
}

fn descriptor(v: &Value, what: &str) -> RegistryResult<Descriptor> {
    let o = v
        .as_object()
        .ok_or_else(|| invalid(format!("{what} is not an object")))?;
    let media_type = o
        .get("mediaType")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid(format!("{what} has no mediaType")))?
        .to_string();
    let digest: Digest = o
        .get("digest")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid(format!("{what} has no digest")))?
        .parse()
        .map_err(|_| invalid(format!("{what} has an invalid digest")))?;
    let size = o
        .get("size")
        .and_then(Value::as_i64)
        .filter(|s| *s >= 0)
        .ok_or_else(|| invalid(format!("{what} has no valid size")))?;
    let foreign = media_type.contains("nondistributable") || media_type.contains(".foreign.");
    let platform = o.get("platform").and_then(Value::as_object).map(|p| {
        let s = |k: &str| p.get(k).and_then(Value::as_str).map(str::to_string);
        Platform {
            architecture: s("architecture"),
            os: s("os"),
            variant: s("variant"),
        }
    });
    Ok(Descriptor {
        media_type,
        digest,
        size,
        foreign,
        platform,
    })
}

fn descriptors(o: &Map<String, Value>, key: &str) -> RegistryResult<Vec<Descriptor>> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, v)| descriptor(v, &format!("{key}[{i}]")))
            .collect(),
        Some(_) => Err(invalid(format!("{key} is not a list"))),
    }
}

/// Reads a pushed manifest. `content_type` is the request's Content-Type; the manifest's own
/// `mediaType`, when present, must agree with it.
pub fn parse(bytes: &[u8], content_type: Option<&str>) -> RegistryResult<Parsed> {
    if bytes.len() > MAX_SIZE {
        return Err(invalid("the manifest is larger than 4 MiB"));
    }
    let v: Value =
        serde_json::from_slice(bytes).map_err(|e| invalid(format!("not valid JSON: {e}")))?;
    let o = v.as_object().ok_or_else(|| invalid("not a JSON object"))?;
    let content_type = content_type
        .map(|c| c.split(';').next().unwrap_or(c).trim())
        .filter(|c| !c.is_empty() && *c != "application/json" && *c != "application/octet-stream");
    let declared = o.get("mediaType").and_then(Value::as_str);
    let media_type = match (declared, content_type) {
        (Some(d), Some(c)) if d != c => {
            return Err(invalid(format!(
                "mediaType '{d}' does not match the Content-Type '{c}'"
            )));
        }
        (Some(d), _) => d.to_string(),
        (None, Some(c)) => c.to_string(),
        (None, None) if o.contains_key("manifests") => OCI_INDEX.to_string(),
        (None, None) => OCI_MANIFEST.to_string(),
    };
    let schema_version = o.get("schemaVersion").and_then(Value::as_i64).unwrap_or(0);
    match media_type.as_str() {
        DOCKER_SCHEMA1 | DOCKER_SCHEMA1_SIGNED => {
            return Err(invalid(
                "Docker schema 1 manifests are not accepted; push schema 2 or OCI",
            ));
        }
        DOCKER_MANIFEST | DOCKER_LIST | OCI_MANIFEST | OCI_INDEX => {}
        other => {
            return Err(invalid(format!("unknown manifest media type '{other}'")));
        }
    }
    if schema_version != 2 {
        return Err(invalid("schemaVersion must be 2"));
    }
    let subject = match o.get("subject") {
        None | Some(Value::Null) => None,
        Some(s) => Some(descriptor(s, "subject")?.digest),
    };
    let artifact_type = o
        .get("artifactType")
        .and_then(Value::as_str)
        .map(str::to_string);
    let annotations = o
        .get("annotations")
        .cloned()
        .unwrap_or(Value::Object(Map::new()));
    if media_type == DOCKER_LIST || media_type == OCI_INDEX {
        if !o.contains_key("manifests") {
            return Err(invalid("an index needs a manifests list"));
        }
        return Ok(Parsed {
            media_type,
            schema_version,
            kind: Kind::Index,
            config: None,
            layers: Vec::new(),
            manifests: descriptors(o, "manifests")?,
            subject,
            artifact_type,
            annotations,
        });
    }
    let config = descriptor(
        o.get("config")
            .ok_or_else(|| invalid("an image manifest needs a config"))?,
        "config",
    )?;
    let kind = if IMAGE_CONFIGS.contains(&config.media_type.as_str()) {
        Kind::Image
    } else {
        Kind::Artifact
    };
    Ok(Parsed {
        media_type,
        schema_version,
        kind,
        config: Some(config),
        layers: descriptors(o, "layers")?,
        manifests: Vec::new(),
        subject,
        artifact_type,
        annotations,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(n: char) -> String {
        format!("sha256:{}", n.to_string().repeat(64))
    }

    #[test]
    fn image_and_index() {
        let m = serde_json::json!({
            "schemaVersion": 2, "mediaType": OCI_MANIFEST,
            "config": {"mediaType": IMAGE_CONFIGS[0], "digest": d('a'), "size": 2},
            "layers": [
                {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": d('b'), "size": 5},
                {"mediaType": "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip", "digest": d('c'), "size": 5, "urls": ["http://x"]}
            ]
        });
        let p = parse(m.to_string().as_bytes(), Some(OCI_MANIFEST)).unwrap();
        assert_eq!(p.kind, Kind::Image);
        assert_eq!(p.required_blobs().count(), 2);
        let i = serde_json::json!({"schemaVersion": 2, "manifests": [
            {"mediaType": OCI_MANIFEST, "digest": d('d'), "size": 10, "platform": {"architecture": "arm64", "os": "linux"}}
        ]});
        let p = parse(i.to_string().as_bytes(), Some(DOCKER_LIST)).unwrap();
        assert_eq!((p.kind, p.media_type.as_str()), (Kind::Index, DOCKER_LIST));
        assert_eq!(
            p.manifests[0]
                .platform
                .as_ref()
                .unwrap()
                .architecture
                .as_deref(),
            Some("arm64")
        );
    }

    #[test]
    fn refusals() {
        for (body, ct) in [
            ("not json", None),
            ("[]", None),
            (
                r#"{"schemaVersion": 1, "mediaType": "application/vnd.docker.distribution.manifest.v1+json"}"#,
                None,
            ),
            (
                r#"{"schemaVersion": 2, "mediaType": "application/x-unknown"}"#,
                None,
            ),
            (
                r#"{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json"}"#,
                None,
            ),
            (
                r#"{"schemaVersion": 2, "config": {"mediaType": "x", "digest": "sha256:zz", "size": 1}}"#,
                None,
            ),
            (
                r#"{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": []}"#,
                Some(OCI_MANIFEST),
            ),
        ] {
            assert!(
                matches!(
                    parse(body.as_bytes(), ct),
                    Err(RegistryError::ManifestInvalid(_))
                ),
                "{body}"
            );
        }
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        /// JSON of any shape, nested a few levels, with the keys manifests have.
        fn json_value() -> impl Strategy<Value = serde_json::Value> {
            let leaf = prop_oneof![
                Just(serde_json::Value::Null),
                any::<bool>().prop_map(serde_json::Value::from),
                any::<i64>().prop_map(serde_json::Value::from),
                any::<f64>().prop_map(|f| serde_json::json!(f)),
                "[ -~]{0,20}".prop_map(serde_json::Value::from),
                Just(serde_json::Value::from(format!(
                    "sha256:{}",
                    "a".repeat(64)
                ))),
            ];
            leaf.prop_recursive(4, 64, 8, |inner| {
                let key = prop_oneof![
                    Just("schemaVersion".to_string()),
                    Just("mediaType".to_string()),
                    Just("config".to_string()),
                    Just("layers".to_string()),
                    Just("manifests".to_string()),
                    Just("digest".to_string()),
                    Just("size".to_string()),
                    Just("platform".to_string()),
                    Just("subject".to_string()),
                    Just("urls".to_string()),
                    "[a-z]{1,8}",
                ];
                prop_oneof![
                    proptest::collection::vec(inner.clone(), 0..4)
                        .prop_map(serde_json::Value::from),
                    proptest::collection::btree_map(key, inner, 0..6)
                        .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
                ]
            })
        }

        proptest! {
            #[test]
            fn any_bytes_parse_or_not_without_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256), ct in proptest::option::of("[ -~]{0,60}")) {
                let _ = parse(&bytes, ct.as_deref());
            }

            #[test]
            fn any_json_parses_or_not_without_panic(v in json_value()) {
                for ct in [None, Some(OCI_MANIFEST), Some(OCI_INDEX), Some(DOCKER_MANIFEST), Some(DOCKER_LIST)] {
                    if let Ok(parsed) = parse(v.to_string().as_bytes(), ct) {
                        for d in parsed.required_blobs() {
                            prop_assert!(d.size >= 0);
                        }
                    }
                }
            }
        }
    }
}
