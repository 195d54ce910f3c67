//! Request bodies in the encodings Pulp's clients use: JSON, form-urlencoded and multipart. File
//! parts stream straight into staged storage while their digests are computed, so an upload is
//! never held in memory; the handler then commits it as an artifact or an upload chunk.
//!
//! Values are checked against the target type's JSON schema: unknown fields are refused (as
//! Pulp does) and form strings are coerced to the schema's types before deserializing.

use std::collections::HashMap;

use axum::extract::{FromRequest, Multipart, Request};
use axum::http::header;
use depot_core::CoreError;
use depot_core::checksums::{Digests, Hasher};
use depot_core::storage::StagedFile;
use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

use crate::{ApiError, AppState};

const MAX_JSON: usize = 16 * 1024 * 1024;
/// The longest text field of a multipart form (twine sends a whole long description).
pub const MAX_TEXT_FIELD: usize = 1024 * 1024;

/// An uploaded file part, staged but not yet visible.
pub struct FilePart {
    pub staged: Box<dyn StagedFile>,
    pub digests: Digests,
    pub filename: Option<String>,
}

/// A parsed request body.
#[derive(Default)]
pub struct Fields {
    values: Map<String, Value>,
    /// Form and multipart values arrive as strings and are coerced by schema.
    textual: bool,
    files: HashMap<String, FilePart>,
}

/// The fields of a PUT (checked as `Full`: all it requires) or of a PATCH (as `Patch`: any of
/// its fields), as sent, so that one handler serves both.
pub struct Changes<Full, Patch> {
    pub fields: Map<String, Value>,
    /// Whether it is a PUT (the whole resource).
    pub whole: bool,
    of: std::marker::PhantomData<fn() -> (Full, Patch)>,
}

impl<Full, Patch> FromRequest<AppState> for Changes<Full, Patch>
where
    Full: DeserializeOwned + JsonSchema,
    Patch: DeserializeOwned + JsonSchema,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let whole = req.method() == axum::http::Method::PUT;
        let sent = Fields::from_request(req, state).await?;
        let fields = match whole {
            true => sent.parse_full::<Full>()?.1,
            false => sent.parse_patch::<Patch>()?.1,
        };
        Ok(Self {
            fields,
            whole,
            of: std::marker::PhantomData,
        })
    }
}

impl FromRequest<AppState> for Fields {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let ctype = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_ascii_lowercase();
        if ctype.starts_with("multipart/form-data") {
            let mp = Multipart::from_request(req, state)
                .await
                .map_err(|e| CoreError::invalid(format!("Multipart form parse error - {e}")))?;
            return read_multipart(mp, state).await;
        }
        let bytes = axum::body::to_bytes(req.into_body(), MAX_JSON)
            .await
            .map_err(|e| CoreError::invalid(format!("Could not read the request body: {e}")))?;
        if ctype.starts_with("application/x-www-form-urlencoded") {
            let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(&bytes)
                .map_err(|e| CoreError::invalid(format!("Form parse error - {e}")))?;
            let mut values = Map::new();
            for (k, v) in pairs {
                values.insert(k, Value::String(v));
            }
            return Ok(Fields {
                values,
                textual: true,
                files: HashMap::new(),
            });
        }
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Fields::default());
        }
        if !(ctype.is_empty() || ctype.starts_with("application/json") || ctype.ends_with("+json"))
        {
            return Err(ApiError(CoreError::invalid(format!(
                "Unsupported media type \"{ctype}\" in request."
            ))));
        }
        match serde_json::from_slice::<Value>(&bytes) {
            Ok(Value::Object(values)) => Ok(Fields {
                values,
                textual: false,
                files: HashMap::new(),
            }),
            Ok(other) => Err(ApiError(CoreError::invalid(format!(
                "Invalid data. Expected a dictionary, but got {}.",
                type_name(&other)
            )))),
            Err(e) => Err(ApiError(CoreError::invalid(format!(
                "JSON parse error - {e}"
            )))),
        }
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Array(_) => "list",
        Value::String(_) => "str",
        Value::Number(_) => "int",
        Value::Bool(_) => "bool",
        Value::Null => "NoneType",
        Value::Object(_) => "dict",
    }
}

async fn read_multipart(mut mp: Multipart, state: &AppState) -> Result<Fields, ApiError> {
    let mut fields = Fields {
        textual: true,
        ..Default::default()
    };
    loop {
        let field = mp
            .next_field()
            .await
            .map_err(|e| CoreError::invalid(format!("Multipart form parse error - {e}")))?;
        let Some(mut field) = field else { break };
        let name = field.name().unwrap_or_default().to_string();
        if let Some(filename) = field.file_name().map(str::to_string) {
            let mut staged = state.storage.stage().await?;
            let mut hasher = Hasher::new(&state.settings.allowed_checksums);
            while let Some(chunk) = field
                .chunk()
                .await
                .map_err(|e| CoreError::invalid(format!("The upload was interrupted: {e}")))?
            {
                hasher.update(&chunk);
                staged.write(&chunk).await?;
            }
            fields.files.insert(
                name,
                FilePart {
                    staged,
                    digests: hasher.finish(),
                    filename: Some(filename),
                },
            );
        } else {
            let text = text_field(&mut field, &name).await?;
            fields.values.insert(name, Value::String(text));
        }
    }
    Ok(fields)
}

/// A multipart text field named `name`, refused past [`MAX_TEXT_FIELD`] bytes rather than read
/// whole into memory.
pub async fn text_field(
    field: &mut axum::extract::multipart::Field<'_>,
    name: &str,
) -> Result<String, CoreError> {
    let mut text = Vec::new();
    while let Some(chunk) = field
        .chunk()
        .await
        .map_err(|e| CoreError::invalid(format!("Multipart form parse error - {e}")))?
    {
        text.extend_from_slice(&chunk);
        if text.len() > MAX_TEXT_FIELD {
            return Err(CoreError::field(name, "This value is too long."));
        }
    }
    String::from_utf8(text).map_err(|_| CoreError::field(name, "This value is not valid UTF-8."))
}

/// What a body may send for one property, from the target type's JSON schema.
#[derive(Debug, Clone)]
pub struct Property {
    pub name: String,
    /// The primary JSON type: "string", "boolean", "integer", ...
    pub kind: String,
    /// `minimum` and `maximum` of a number.
    pub minimum: Option<f64>,
    pub maximum: Option<f64>,
    /// `maxLength` of a string.
    pub max_length: Option<u64>,
}

/// The properties of `T`'s schema, and the required ones.
pub fn schema_properties<T: JsonSchema>() -> (Vec<Property>, Vec<String>) {
    let schema = crate::openapi::generator().into_root_schema_for::<T>();
    let v = schema.as_value();
    let mut props = Vec::new();
    if let Some(Value::Object(p)) = v.get("properties") {
        for (name, s) in p {
            props.push(Property {
                name: name.clone(),
                kind: primary_type(s),
                minimum: s.get("minimum").and_then(Value::as_f64),
                maximum: s.get("maximum").and_then(Value::as_f64),
                max_length: s.get("maxLength").and_then(Value::as_u64),
            });
        }
    }
    let required = v
        .get("required")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    (props, required)
}

/// Fields that name or locate something: one line of text, no control characters at all (a
/// line break in a relative path would become two lines of a published PULP_MANIFEST).
const SINGLE_LINE: &[&str] = &[
    "name",
    "base_path",
    "relative_path",
    "upstream_name",
    "url",
    "username",
    "password",
    "proxy_url",
    "proxy_username",
    "proxy_password",
    "filename",
    "tag",
    "namespace",
];

/// Checks a value against its property's bounds: numbers within `minimum`/`maximum` (finite,
/// so that they fit what they become: durations, sizes, counts), strings within `maxLength`
/// and without control characters (tabs and line breaks only where text may have lines).
fn check_bounds(p: &Property, v: &Value) -> Result<(), String> {
    match v {
        Value::Number(n) => {
            let x = n.as_f64().unwrap_or(f64::INFINITY);
            if !x.is_finite() {
                return Err("A valid number is required.".into());
            }
            if let Some(min) = p.minimum
                && x < min
            {
                return Err(format!(
                    "Ensure this value is greater than or equal to {}.",
                    number_text(min)
                ));
            }
            if let Some(max) = p.maximum
                && x > max
            {
                return Err(format!(
                    "Ensure this value is less than or equal to {}.",
                    number_text(max)
                ));
            }
        }
        Value::String(s) => {
            if let Some(max) = p.max_length
                && s.chars().count() as u64 > max
            {
                return Err(format!(
                    "Ensure this field has no more than {max} characters."
                ));
            }
            let single_line = SINGLE_LINE.contains(&p.name.as_str());
            let bad = s
                .chars()
                .any(|c| c.is_control() && (single_line || !matches!(c, '\t' | '\n' | '\r')));
            if bad {
                return Err("Control characters are not allowed in this field.".into());
            }
        }
        _ => {}
    }
    Ok(())
}

fn number_text(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{}", x as i64)
    } else {
        x.to_string()
    }
}

fn primary_type(s: &Value) -> String {
    match s.get("type") {
        Some(Value::String(t)) => t.clone(),
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(Value::as_str)
            .find(|t| *t != "null")
            .unwrap_or("string")
            .to_string(),
        _ => match s
            .get("anyOf")
            .or_else(|| s.get("oneOf"))
            .and_then(Value::as_array)
        {
            Some(alts) => alts
                .iter()
                .map(primary_type)
                .find(|t| t != "null")
                .unwrap_or_else(|| "string".into()),
            None => "string".into(),
        },
    }
}

fn coerce(kind: &str, v: Value) -> Result<Value, String> {
    let Value::String(s) = v else { return Ok(v) };
    match kind {
        "boolean" => match s.to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" => Ok(Value::Bool(true)),
            "false" | "0" | "no" | "off" => Ok(Value::Bool(false)),
            "" => Ok(Value::Null),
            _ => Err("Must be a valid boolean.".into()),
        },
        "integer" => {
            if s.is_empty() || s == "null" {
                return Ok(Value::Null);
            }
            s.trim()
                .parse::<i64>()
                .map(|n| json!(n))
                .map_err(|_| "A valid integer is required.".into())
        }
        "number" => {
            if s.is_empty() || s == "null" {
                return Ok(Value::Null);
            }
            s.trim()
                .parse::<f64>()
                .ok()
                .filter(|n| n.is_finite())
                .map(|n| json!(n))
                .ok_or_else(|| "A valid number is required.".into())
        }
        "object" | "array" => {
            if s.is_empty() || s == "null" {
                return Ok(Value::Null);
            }
            serde_json::from_str(&s).map_err(|_| "Value must be valid JSON.".into())
        }
        _ => Ok(Value::String(s)),
    }
}

impl Fields {
    pub fn take_file(&mut self, name: &str) -> Option<FilePart> {
        self.files.remove(name)
    }

    pub fn has(&self, name: &str) -> bool {
        self.values.contains_key(name)
    }

    /// Drops fields a resource shows but does not take (read-only ones Pulp accepts and
    /// ignores).
    pub fn ignore(&mut self, names: &[&str]) {
        for n in names {
            self.values.remove(*n);
        }
    }

    /// The text value of field `name`, before any parsing (for checks that precede it).
    /// The value sent for `name`, as sent (a multipart field is a string).
    pub fn value(&self, name: &str) -> Option<&Value> {
        self.values.get(name)
    }

    pub fn text(&self, name: &str) -> Option<&str> {
        self.values.get(name).and_then(Value::as_str)
    }

    /// Validates and deserializes into `T`. Unknown fields and file parts nobody took are
    /// refused with Pulp's "Unexpected field".
    pub fn parse<T: DeserializeOwned + JsonSchema>(self) -> Result<T, ApiError> {
        self.parse_checked(true).map(|(t, _)| t)
    }

    /// Like [`Fields::parse`], also returning the coerced values that were sent.
    pub fn parse_full<T: DeserializeOwned + JsonSchema>(
        self,
    ) -> Result<(T, Map<String, Value>), ApiError> {
        self.parse_checked(true)
    }

    /// Like [`Fields::parse`] for PATCH: nothing is required, and the coerced values are
    /// returned too so the caller can tell an absent field from an explicit null.
    pub fn parse_patch<T: DeserializeOwned + JsonSchema>(
        self,
    ) -> Result<(T, Map<String, Value>), ApiError> {
        self.parse_checked(false)
    }

    fn parse_checked<T: DeserializeOwned + JsonSchema>(
        self,
        enforce_required: bool,
    ) -> Result<(T, Map<String, Value>), ApiError> {
        let (props, required) = schema_properties::<T>();
        let required = if enforce_required {
            required
        } else {
            Vec::new()
        };
        let mut errors = Map::new();
        let mut values = Map::new();
        for (k, v) in self.values {
            match props.iter().find(|p| p.name == k) {
                None => {
                    errors.insert(k, json!(["Unexpected field"]));
                }
                Some(p) => {
                    let v = if self.textual {
                        coerce(&p.kind, v)
                    } else {
                        Ok(v)
                    };
                    let v = v.and_then(|v| check_bounds(p, &v).map(|()| v));
                    match v {
                        Ok(v) => {
                            values.insert(k, v);
                        }
                        Err(msg) => {
                            errors.insert(k, json!([msg]));
                        }
                    }
                }
            }
        }
        for k in self.files.keys() {
            errors.insert(k.clone(), json!(["Unexpected field"]));
        }
        for r in required {
            if !values.contains_key(&r) && !errors.contains_key(&r) && r != "file" {
                errors.insert(r, json!(["This field is required."]));
            }
        }
        if !errors.is_empty() {
            return Err(ApiError(CoreError::Invalid(Value::Object(errors))));
        }
        let de = Value::Object(values.clone());
        let parsed = serde_path_to_error::deserialize(de).map_err(|e| {
            let path = e.path().to_string();
            let inner = e.into_inner().to_string();
            let msg = if inner.starts_with("invalid type: null") {
                "This field may not be null.".to_string()
            } else {
                inner
            };
            let field = if path == "." || path.is_empty() {
                "non_field_errors".to_string()
            } else {
                path
            };
            ApiError(CoreError::Invalid(json!({ field: [msg] })))
        })?;
        Ok((parsed, values))
    }
}

/// A file form field; only its schema matters (the bytes arrive as a [`FilePart`]).
#[derive(Debug, Default, Clone)]
pub struct FileField;

impl<'de> serde::Deserialize<'de> for FileField {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        serde::de::IgnoredAny::deserialize(d)?;
        Ok(FileField)
    }
}

impl JsonSchema for FileField {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "FileField".into()
    }
    fn inline_schema() -> bool {
        true
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({"type": "string", "format": "binary"})
    }
}
