//! A domain's `storage_class` and `storage_settings` as Pulp's API takes and shows them: each
//! backend's settings with their types and defaults, the Django setting names Pulp also
//! accepts for them (`MEDIA_ROOT` for `location`), and the secret ones (write-only, shown as
//! `hidden_fields`). Only the backends this build can use are "installed".

use serde_json::{Map, Value, json};

use crate::{CoreError, CoreResult};

pub const FILE_SYSTEM: &str = "pulpcore.app.models.storage.FileSystem";
pub const S3: &str = "storages.backends.s3.S3Storage";
pub const S3_BOTO3: &str = "storages.backends.s3boto3.S3Boto3Storage";

/// Every backend Pulp names; the others are refused as not installed.
pub const CHOICES: [&str; 6] = [
    FILE_SYSTEM,
    "pulpcore.app.models.storage.PulpSFTPStorage",
    S3,
    S3_BOTO3,
    "storages.backends.azure_storage.AzureStorage",
    "storages.backends.gcloud.GoogleCloudStorage",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Type {
    Text,
    Int,
    Bool,
    Dict,
    List,
}

/// One setting: its name, type, whether null is taken, its default (`None`: required) and
/// whether it is secret.
struct Field {
    name: &'static str,
    kind: Type,
    null: bool,
    default: Option<fn() -> Value>,
    secret: bool,
}

const fn field(name: &'static str, kind: Type, default: Option<fn() -> Value>) -> Field {
    Field {
        name,
        kind,
        null: false,
        default,
        secret: false,
    }
}

const fn nullable(name: &'static str, kind: Type) -> Field {
    Field {
        name,
        kind,
        null: true,
        default: Some(|| Value::Null),
        secret: false,
    }
}

const fn secret(mut f: Field) -> Field {
    f.secret = true;
    f
}

struct Backend {
    fields: &'static [Field],
    /// Django setting names (lower-cased) and the setting each stands for.
    aliases: &'static [(&'static str, &'static str)],
}

static FILE_SYSTEM_BACKEND: Backend = Backend {
    fields: &[
        field("location", Type::Text, None),
        field("base_url", Type::Text, Some(|| json!(""))),
        field("file_permissions_mode", Type::Int, Some(|| json!(0o644))),
        nullable("directory_permissions_mode", Type::Int),
    ],
    aliases: &[
        ("media_root", "location"),
        ("media_url", "base_url"),
        ("file_upload_permissions", "file_permissions_mode"),
        (
            "file_upload_directory_permissions",
            "directory_permissions_mode",
        ),
    ],
};

static S3_BACKEND: Backend = Backend {
    fields: &[
        secret(field("access_key", Type::Text, None)),
        secret(nullable("secret_key", Type::Text)),
        secret(nullable("security_token", Type::Text)),
        field("file_overwrite", Type::Bool, Some(|| json!(true))),
        field("object_parameters", Type::Dict, Some(|| json!({}))),
        field("bucket_name", Type::Text, None),
        field("querystring_auth", Type::Bool, Some(|| json!(true))),
        field("querystring_expire", Type::Int, Some(|| json!(3600))),
        nullable("signature_version", Type::Text),
        field("location", Type::Text, Some(|| json!(""))),
        nullable("custom_domain", Type::Text),
        nullable("cloudfront_key_id", Type::Text),
        secret(nullable("cloudfront_key", Type::Text)),
        nullable("addressing_style", Type::Text),
        field("file_name_charset", Type::Text, Some(|| json!("utf-8"))),
        field("gzip", Type::Bool, Some(|| json!(false))),
        field(
            "gzip_content_types",
            Type::List,
            Some(|| {
                json!([
                    "text/css",
                    "text/javascript",
                    "application/javascript",
                    "application/x-javascript",
                    "image/svg+xml"
                ])
            }),
        ),
        field("url_protocol", Type::Text, Some(|| json!("https:"))),
        nullable("endpoint_url", Type::Text),
        nullable("proxies", Type::Dict),
        nullable("region_name", Type::Text),
        field("use_ssl", Type::Bool, Some(|| json!(true))),
        nullable("verify", Type::Bool),
        field("max_memory_size", Type::Int, Some(|| json!(0))),
        nullable("default_acl", Type::Text),
        field("use_threads", Type::Bool, Some(|| json!(true))),
        nullable("transfer_config", Type::Dict),
    ],
    aliases: &[
        ("aws_s3_access_key_id", "access_key"),
        ("aws_access_key_id", "access_key"),
        ("aws_s3_secret_access_key", "secret_key"),
        ("aws_secret_access_key", "secret_key"),
        ("aws_session_token", "security_token"),
        ("aws_security_token", "security_token"),
        ("aws_s3_file_overwrite", "file_overwrite"),
        ("aws_s3_object_parameters", "object_parameters"),
        ("aws_storage_bucket_name", "bucket_name"),
        ("aws_querystring_auth", "querystring_auth"),
        ("aws_querystring_expire", "querystring_expire"),
        ("aws_s3_signature_version", "signature_version"),
        ("aws_location", "location"),
        ("aws_s3_custom_domain", "custom_domain"),
        ("aws_cloudfront_key_id", "cloudfront_key_id"),
        ("aws_cloudfront_key", "cloudfront_key"),
        ("aws_s3_addressing_style", "addressing_style"),
        ("aws_s3_file_name_charset", "file_name_charset"),
        ("aws_is_gzipped", "gzip"),
        ("gzip_content_types", "gzip_content_types"),
        ("aws_s3_url_protocol", "url_protocol"),
        ("aws_s3_endpoint_url", "endpoint_url"),
        ("aws_s3_proxies", "proxies"),
        ("aws_s3_region_name", "region_name"),
        ("aws_s3_use_ssl", "use_ssl"),
        ("aws_s3_verify", "verify"),
        ("aws_s3_max_memory_size", "max_memory_size"),
        ("aws_default_acl", "default_acl"),
        ("aws_s3_use_threads", "use_threads"),
        ("aws_s3_transfer_config", "transfer_config"),
        // Taken and ignored, as Pulp's hidden fields are.
        ("aws_s3_session_profile", "session_profile"),
        ("aws_s3_client_config", "client_config"),
    ],
};

fn backend(class: &str) -> Option<&'static Backend> {
    match class {
        FILE_SYSTEM => Some(&FILE_SYSTEM_BACKEND),
        S3 | S3_BOTO3 => Some(&S3_BACKEND),
        _ => None,
    }
}

/// The most bytes a domain's settings take as JSON.
const MAX_SETTINGS_BYTES: usize = 16 * 1024;

/// Checks `class` as a choice and an installed backend.
pub fn check_class(class: &str) -> CoreResult<()> {
    if !CHOICES.contains(&class) {
        return Err(CoreError::field(
            "storage_class",
            format!("\"{class}\" is not a valid choice."),
        ));
    }
    if backend(class).is_none() {
        return Err(CoreError::field(
            "storage_class",
            "Backend is not installed on Pulp.",
        ));
    }
    Ok(())
}

/// `given` settings for `class`, validated, with Pulp's setting names translated and the
/// defaults filled in.
pub fn validate(class: &str, given: &Value) -> CoreResult<Map<String, Value>> {
    check_class(class)?;
    let backend = backend(class).expect("checked above");
    let invalid = |errors: Value| CoreError::Invalid(json!({ "storage_settings": errors }));
    let given = match given {
        Value::Object(m) => m.clone(),
        Value::String(s) => match serde_json::from_str::<Value>(s) {
            Ok(Value::Object(m)) => m,
            _ => {
                return Err(CoreError::Invalid(
                    json!({"storage_settings": ["Improper JSON string passed in"]}),
                ));
            }
        },
        _ => {
            return Err(CoreError::Invalid(
                json!({"storage_settings": ["Storage settings should be a JSON object."]}),
            ));
        }
    };
    if Value::Object(given.clone()).to_string().len() > MAX_SETTINGS_BYTES {
        return Err(invalid(json!([format!(
            "Ensure the settings take no more than {MAX_SETTINGS_BYTES} bytes."
        )])));
    }
    let mut named = Map::new();
    let mut unexpected = Map::new();
    for (key, value) in given {
        let alias = backend
            .aliases
            .iter()
            .find(|(a, _)| *a == key.to_ascii_lowercase())
            .map(|(_, f)| *f);
        match alias {
            Some(f) => {
                named.insert(f.to_string(), value);
            }
            None if backend.fields.iter().any(|f| f.name == key)
                || backend.aliases.iter().any(|(_, f)| *f == key) =>
            {
                named.insert(key, value);
            }
            None => {
                // A string, not a list: DRF keeps nested messages as they are raised.
                unexpected.insert(key, json!("Unexpected field"));
            }
        }
    }
    if !unexpected.is_empty() {
        return Err(invalid(Value::Object(unexpected)));
    }
    let mut out = Map::new();
    let mut errors = Map::new();
    for f in backend.fields {
        match named.get(f.name) {
            None => match f.default {
                Some(default) => {
                    out.insert(f.name.into(), default());
                }
                None => {
                    errors.insert(f.name.into(), json!(["This field is required."]));
                }
            },
            Some(Value::Null) if f.null => {
                out.insert(f.name.into(), Value::Null);
            }
            Some(Value::Null) => {
                errors.insert(f.name.into(), json!(["This field may not be null."]));
            }
            Some(v) => match typed(f.kind, v) {
                Some(v) => {
                    out.insert(f.name.into(), v);
                }
                None => {
                    errors.insert(f.name.into(), json!([type_error(f.kind)]));
                }
            },
        }
    }
    if !errors.is_empty() {
        return Err(invalid(Value::Object(errors)));
    }
    if std::ptr::eq(backend, &S3_BACKEND) {
        if out.get("verify") == Some(&json!(true)) {
            // Pulp keeps `verify` as null (verify) or false.
            out.insert("verify".into(), Value::Null);
        }
        let set = |k: &str| out.get(k).is_some_and(|v| !v.is_null() && v != "");
        if !set("secret_key") && !set("security_token") {
            return Err(invalid(json!({
                "non_field_errors": ["One of 'secret_key' or 'security_token' must be set."]
            })));
        }
    }
    Ok(out)
}

/// `value` as a setting of type `kind` (DRF's coercions: numbers from strings, and so on).
fn typed(kind: Type, value: &Value) -> Option<Value> {
    match (kind, value) {
        (Type::Text, Value::String(s)) if s.len() <= 1024 => Some(value.clone()),
        (Type::Text, Value::Number(n)) => Some(json!(n.to_string())),
        (Type::Int, Value::Number(n)) => n.as_i64().map(|n| json!(n)),
        (Type::Int, Value::String(s)) => s.trim().parse::<i64>().ok().map(|n| json!(n)),
        (Type::Bool, Value::Bool(_)) => Some(value.clone()),
        (Type::Bool, Value::String(s)) => match s.to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" => Some(json!(true)),
            "false" | "0" | "no" | "off" => Some(json!(false)),
            _ => None,
        },
        (Type::Dict, Value::Object(_)) => Some(value.clone()),
        (Type::List, Value::Array(items)) if items.iter().all(Value::is_string) => {
            Some(value.clone())
        }
        _ => None,
    }
}

fn type_error(kind: Type) -> &'static str {
    match kind {
        Type::Text => "Not a valid string.",
        Type::Int => "A valid integer is required.",
        Type::Bool => "Must be a valid boolean.",
        Type::Dict => "Expected a dictionary of items.",
        Type::List => "Expected a list of items.",
    }
}

/// Where a domain with `class` and (validated) `settings` keeps its files; `None` for the
/// deployment's own storage (a file system without a location).
pub fn storage_settings(
    class: &str,
    settings: &Map<String, Value>,
) -> Option<crate::config::StorageSettings> {
    use crate::config::{S3Settings, StorageSettings};
    let text = |k: &str| {
        settings
            .get(k)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    match class {
        FILE_SYSTEM => text("location").map(|root| StorageSettings::Fs { root: root.into() }),
        S3 | S3_BOTO3 => {
            let endpoint_url = text("endpoint_url");
            Some(StorageSettings::S3(S3Settings {
                bucket: text("bucket_name")?,
                prefix: text("location")
                    .unwrap_or_default()
                    .trim_matches('/')
                    .to_string(),
                path_style: match text("addressing_style").as_deref() {
                    Some(style) => style == "path",
                    None => endpoint_url.is_some(),
                },
                endpoint_url,
                region: text("region_name"),
                access_key: text("access_key"),
                secret_key: text("secret_key"),
                querystring_expire: settings
                    .get("querystring_expire")
                    .and_then(Value::as_u64)
                    .unwrap_or(3600),
            }))
        }
        _ => None,
    }
}

/// Stored settings as the API shows them: secrets left out and listed in `hidden_fields`.
pub fn shown(class: &str, stored: &Map<String, Value>) -> Value {
    let Some(backend) = backend(class) else {
        return json!({});
    };
    let mut out = Map::new();
    let mut hidden = Vec::new();
    for f in backend.fields {
        let value = stored
            .get(f.name)
            .cloned()
            .or_else(|| f.default.map(|d| d()))
            .unwrap_or(Value::Null);
        if f.secret {
            let is_set = !value.is_null() && value != "";
            hidden.push(json!({"name": f.name, "is_set": is_set}));
        } else {
            out.insert(f.name.into(), value);
        }
    }
    out.insert("hidden_fields".into(), Value::Array(hidden));
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_system_settings_take_django_names_and_fill_defaults() {
        let s = validate(FILE_SYSTEM, &json!({"MEDIA_ROOT": ""})).unwrap();
        assert_eq!(
            shown(FILE_SYSTEM, &s),
            json!({"location": "", "base_url": "", "directory_permissions_mode": null,
                   "file_permissions_mode": 420, "hidden_fields": []})
        );
        let e = validate(FILE_SYSTEM, &json!({"nope": 1})).unwrap_err();
        assert!(e.to_string().contains("Unexpected field"), "{e}");
        assert!(validate(FILE_SYSTEM, &json!({})).is_err());
    }

    #[test]
    fn s3_secrets_are_hidden_and_one_is_required() {
        let s = validate(
            S3,
            &json!({"AWS_ACCESS_KEY_ID": "a", "AWS_SECRET_ACCESS_KEY": "b",
                    "AWS_STORAGE_BUCKET_NAME": "pulp3", "AWS_DEFAULT_ACL": null}),
        )
        .unwrap();
        let shown = shown(S3, &s);
        assert!(shown.get("access_key").is_none());
        assert_eq!(shown["bucket_name"], "pulp3");
        assert!(
            shown["hidden_fields"]
                .as_array()
                .unwrap()
                .contains(&json!({"name": "secret_key", "is_set": true}))
        );
        assert!(validate(S3, &json!({"access_key": "a", "bucket_name": "b"})).is_err());
        assert!(check_class("storages.backends.azure_storage.AzureStorage").is_err());
        assert!(check_class("x").is_err());
    }
}
