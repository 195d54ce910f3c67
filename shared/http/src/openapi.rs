//! The OpenAPI 3 document Pulp's clients read. Schemas come from the Rust request and response
//! types (schemars); each API crate adds its operations with Pulp's paths, operationIds,
//! parameters, content types and status codes.

use schemars::JsonSchema;
use schemars::generate::{SchemaGenerator, SchemaSettings};
use serde_json::{Map, Value, json};

pub fn generator() -> SchemaGenerator {
    SchemaSettings::openapi3().into_generator()
}

/// Request body encodings an operation accepts.
pub const JSON_FORM_MULTIPART: &[&str] = &[
    "application/json",
    "application/x-www-form-urlencoded",
    "multipart/form-data",
];
pub const MULTIPART_FORM: &[&str] = &["multipart/form-data", "application/x-www-form-urlencoded"];

pub struct Op {
    pub path: String,
    pub method: &'static str,
    pub operation_id: String,
    pub summary: &'static str,
    pub tag: &'static str,
    pub params: Vec<Value>,
    pub body: Option<(Value, &'static [&'static str])>,
    pub responses: Vec<(u16, Option<Value>)>,
    pub auth: bool,
}

impl Op {
    pub fn new(
        method: &'static str,
        path: impl Into<String>,
        operation_id: impl Into<String>,
        tag: &'static str,
    ) -> Self {
        Self {
            path: path.into(),
            method,
            operation_id: operation_id.into(),
            summary: "",
            tag,
            params: Vec::new(),
            body: None,
            responses: Vec::new(),
            auth: true,
        }
    }

    pub fn summary(mut self, s: &'static str) -> Self {
        self.summary = s;
        self
    }

    pub fn param(mut self, p: Value) -> Self {
        self.params.push(p);
        self
    }

    pub fn params(mut self, ps: Vec<Value>) -> Self {
        self.params.extend(ps);
        self
    }

    pub fn body(mut self, schema: Value, types: &'static [&'static str]) -> Self {
        self.body = Some((schema, types));
        self
    }

    pub fn response(mut self, status: u16, schema: Option<Value>) -> Self {
        self.responses.push((status, schema));
        self
    }

    pub fn anonymous(mut self) -> Self {
        self.auth = false;
        self
    }
}

/// A path parameter holding a whole href, as pulpcore models detail operations.
pub fn href_param(name: &str) -> Value {
    json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}})
}

pub fn query_param(name: &str, kind: &str, description: &str) -> Value {
    json!({"name": name, "in": "query", "required": false, "description": description, "schema": {"type": kind}})
}

/// An array query parameter sent comma-joined (pulpcore's `*__in` and `ordering`).
pub fn csv_param(name: &str, description: &str) -> Value {
    json!({"name": name, "in": "query", "required": false, "description": description,
           "schema": {"type": "array", "items": {"type": "string"}}, "explode": false, "style": "form"})
}

/// `fields` and `exclude_fields`, which every GET takes.
pub fn field_params() -> Vec<Value> {
    vec![
        json!({"name": "fields", "in": "query", "required": false, "description": "A list of fields to include in the response.",
               "schema": {"type": "array", "items": {"type": "string"}}}),
        json!({"name": "exclude_fields", "in": "query", "required": false, "description": "A list of fields to exclude from the response.",
               "schema": {"type": "array", "items": {"type": "string"}}}),
    ]
}

/// The parameters every list takes.
pub fn list_params() -> Vec<Value> {
    let mut v = vec![
        query_param("limit", "integer", "Number of results to return per page."),
        query_param(
            "offset",
            "integer",
            "The initial index from which to return the results.",
        ),
        csv_param("ordering", "Which field to use when ordering the results."),
    ];
    v.extend(field_params());
    v
}

/// The list parameters plus filters: `plain` ones take one string, `csv` ones a list.
/// A generic list of every type of a family (Pulp's `repositories/`, `remotes/`, ...), with
/// its filters and `extra` ones; `page` is the schema of a page.
pub fn generic_list(
    doc: &mut ApiDoc,
    (path, op_id, tag): (&str, &str, &'static str),
    page: Value,
    extra: Vec<Value>,
) {
    let mut filters = list_filters(
        &[
            "name",
            "name__contains",
            "name__icontains",
            "name__startswith",
            "name__iexact",
            "pulp_label_select",
            "pulp_type",
            "q",
        ],
        &[
            "name__in",
            "pulp_href__in",
            "prn__in",
            "pulp_id__in",
            "pulp_type__in",
        ],
    );
    filters.extend(extra);
    doc.add(
        Op::new("get", path.to_string(), op_id.to_string(), tag)
            .summary("List every type")
            .params(filters)
            .response(200, Some(page)),
    );
}

/// The filters every named resource's list takes on `name` (DRF's lookups Pulp offers).
pub const NAME_FILTERS: [&str; 5] = [
    "name",
    "name__contains",
    "name__icontains",
    "name__iexact",
    "name__startswith",
];

pub fn list_filters(plain: &[&str], csv: &[&str]) -> Vec<Value> {
    let mut v = list_params();
    v.extend(plain.iter().map(|f| query_param(f, "string", f)));
    v.extend(csv.iter().map(|f| csv_param(f, f)));
    v
}

pub struct ApiDoc {
    generator: SchemaGenerator,
    paths: Map<String, Value>,
}

impl Default for ApiDoc {
    fn default() -> Self {
        Self {
            generator: generator(),
            paths: Map::new(),
        }
    }
}

impl ApiDoc {
    /// A reference to `T`'s schema, registering it.
    pub fn schema<T: JsonSchema>(&mut self) -> Value {
        self.generator.subschema_for::<T>().to_value()
    }

    /// A paginated list of `T`.
    pub fn paginated<T: JsonSchema>(&mut self) -> Value {
        let item = self.schema::<T>();
        json!({"type": "object", "required": ["count", "results"], "properties": {
            "count": {"type": "integer"},
            "next": {"type": "string", "nullable": true, "format": "uri"},
            "previous": {"type": "string", "nullable": true, "format": "uri"},
            "results": {"type": "array", "items": item}
        }})
    }

    pub fn add(&mut self, op: Op) {
        let mut o = Map::new();
        o.insert("operationId".into(), json!(op.operation_id));
        if !op.summary.is_empty() {
            o.insert("summary".into(), json!(op.summary));
        }
        o.insert("tags".into(), json!([op.tag]));
        let takes_input = op.body.is_some() || op.params.iter().any(|p| p["in"] == "query");
        if !op.params.is_empty() {
            o.insert("parameters".into(), Value::Array(op.params));
        }
        if let Some((schema, types)) = op.body {
            let content: Map<String, Value> = types
                .iter()
                .map(|t| (t.to_string(), json!({"schema": schema.clone()})))
                .collect();
            o.insert(
                "requestBody".into(),
                json!({"content": content, "required": true}),
            );
        }
        let mut responses = Map::new();
        let mut answers = op.responses;
        // The errors every operation of its shape can answer, with the body of `error.rs`.
        let mut errors = Vec::new();
        if takes_input {
            errors.push(400);
        }
        if op.auth {
            errors.extend([401, 429]);
        }
        if op.path.contains('{') {
            errors.push(404);
        }
        for status in errors {
            if !answers.iter().any(|(s, _)| *s == status) {
                answers.push((
                    status,
                    Some(json!({"$ref": "#/components/schemas/ErrorResponse"})),
                ));
            }
        }
        for (status, schema) in answers {
            let mut r = Map::new();
            r.insert("description".into(), json!(describe_status(status)));
            if let Some(s) = schema {
                r.insert("content".into(), json!({"application/json": {"schema": s}}));
            }
            responses.insert(status.to_string(), Value::Object(r));
        }
        o.insert("responses".into(), Value::Object(responses));
        if op.auth {
            o.insert(
                "security".into(),
                json!([{"basicAuth": []}, {"cookieAuth": []}]),
            );
        }
        let entry = self.paths.entry(op.path).or_insert_with(|| json!({}));
        entry[op.method] = Value::Object(o);
    }

    /// The finished document.
    pub fn build(mut self, versions: &[(&str, &str)]) -> Value {
        let mut schemas = self.generator.take_definitions(true);
        // What the server sets is read-only in responses, as Pulp's schema says (clients
        // generated from it must not send them).
        for (name, schema) in schemas.iter_mut() {
            if !name.ends_with("Response") {
                continue;
            }
            if let Some(props) = schema.get_mut("properties").and_then(Value::as_object_mut) {
                for field in ["pulp_href", "prn", "pulp_created", "pulp_last_updated"] {
                    if let Some(Value::Object(p)) = props.get_mut(field) {
                        p.insert("readOnly".into(), json!(true));
                    }
                }
            }
        }
        schemas.insert(
            "ErrorResponse".into(),
            json!({
                "type": "object",
                "description": "What is wrong: {\"detail\": message}, or {field: [messages]} \
                                for invalid input.",
                "properties": {"detail": {"type": "string"}},
                "additionalProperties": true
            }),
        );
        let app_versions: Map<String, Value> = versions
            .iter()
            .map(|(k, v)| (k.to_string(), json!(v)))
            .collect();
        json!({
            "openapi": "3.0.3",
            "info": {
                "title": "Pulp 3 API (Depot)",
                "version": "v3",
                "description": "Depot speaks the Pulp 3 REST API.",
                "license": {"name": "GNU General Public License v2.0 or later"},
                "x-pulp-app-versions": app_versions,
                "x-pulp-domain-enabled": false
            },
            "paths": self.paths,
            "components": {
                "schemas": schemas,
                "securitySchemes": {
                    "basicAuth": {"type": "http", "scheme": "basic"},
                    "cookieAuth": {"type": "apiKey", "in": "cookie", "name": "sessionid"}
                }
            }
        })
    }
}

fn describe_status(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        202 => "Accepted: a task was dispatched",
        204 => "No content",
        400 => "Invalid input: what is wrong, by field",
        401 => "No credentials, or wrong ones",
        404 => "Not found",
        409 => "Conflict",
        429 => "Too many failed sign-ins: try again later",
        _ => "Response",
    }
}

/// The six operations of a resource: list, create, read, partial_update, update and delete.
/// With `async_op`, update and delete are Pulp's asynchronous ones (update 200 when nothing
/// changed, else 202; delete 202); without, both answer at once (200, 204).
pub struct Crud {
    /// List path, e.g. `/pulp/api/v3/remotes/file/file/`.
    pub base: &'static str,
    /// Detail path parameter, e.g. `file_file_remote_href`.
    pub href_param: &'static str,
    /// operationId prefix, e.g. `remotes_file_file`.
    pub prefix: &'static str,
    pub tag: &'static str,
    pub filters: Vec<Value>,
    pub page: Value,
    pub response: Value,
    pub request: Value,
    pub patched: Value,
    /// What create answers: 201 with the entity, or 202 with a task; `None`: no create.
    pub create: Option<(u16, Value)>,
    /// Whether DELETE on the detail path is served.
    pub delete: bool,
    /// The task answer of updates and deletes; `None`: they answer at once.
    pub async_op: Option<Value>,
}

pub fn add_crud(doc: &mut ApiDoc, c: Crud) {
    let detail = format!("{{{}}}", c.href_param);
    let id = |action: &str| format!("{}_{action}", c.prefix);
    let p = || href_param(c.href_param);
    doc.add(
        Op::new("get", c.base, id("list"), c.tag)
            .params(c.filters)
            .response(200, Some(c.page)),
    );
    if let Some((status, schema)) = c.create {
        doc.add(
            Op::new("post", c.base, id("create"), c.tag)
                .body(c.request.clone(), JSON_FORM_MULTIPART)
                .response(status, Some(schema)),
        );
    }
    doc.add(
        Op::new("get", detail.clone(), id("read"), c.tag)
            .param(p())
            .params(field_params())
            .response(200, Some(c.response.clone())),
    );
    for (method, action, body) in [
        ("patch", "partial_update", c.patched),
        ("put", "update", c.request),
    ] {
        let op = Op::new(method, detail.clone(), id(action), c.tag)
            .param(p())
            .body(body, JSON_FORM_MULTIPART)
            .response(200, Some(c.response.clone()));
        doc.add(match &c.async_op {
            Some(task) => op.response(202, Some(task.clone())),
            None => op,
        });
    }
    if c.delete {
        let op = Op::new("delete", detail, id("delete"), c.tag).param(p());
        doc.add(match c.async_op {
            Some(task) => op.response(202, Some(task)),
            None => op.response(204, None),
        });
    }
}
