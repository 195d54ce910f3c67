//! The upload API of twine and `uv publish` (the legacy PyPI upload: a multipart POST with the
//! file in `content`, `:action=file_upload` and `sha256_digest`). The file goes to a local
//! temporary file, its metadata is read from it and checked against its name, its sha256
//! against the one sent; then it becomes a package and joins the repository in a new version.
//! Errors carry their message in the status line too, which is what twine prints.

use axum::extract::{FromRequest, Multipart, Request};
use axum::http::StatusCode;
use axum::http::{Extensions, HeaderMap};
use axum::response::{IntoResponse, Response};
use depot_core::users::User;
use depot_core::{CoreError, CoreResult};
use depot_http::{ApiError, AppState};
use depot_python::{filename, ingest, store};
use futures_util::StreamExt;
use serde_json::{Value, json};

use crate::Index;

pub async fn handle(
    state: &AppState,
    index: &Index,
    user: &User,
    req: Request,
) -> CoreResult<Response> {
    if let Err(e) = may_upload(state, index, user).await {
        return Ok(error_response(e));
    }
    Ok(match upload(state, index, user, req).await {
        Ok(r) => r,
        Err(e) => error_response(e),
    })
}

/// Pulp's policy of the index's uploads (`index_has_repo_perm:python.modify_pythonrepository`):
/// the uploader may modify the index's repository (model-wide, in its domain, or on it).
async fn may_upload(state: &AppState, index: &Index, user: &User) -> CoreResult<()> {
    let Some(repository_id) = &index.repository_id else {
        return Ok(());
    };
    let caller = depot_http::Caller::of(state, user.clone()).await?;
    let object = depot_core::access::Object::new(&depot_python::plugin::REPOSITORY, repository_id);
    match caller
        .grants
        .holds(&state.db, "python.modify_pythonrepository", &object)
        .await?
    {
        true => Ok(()),
        false => Err(depot_http::access::forbidden()),
    }
}

/// The uploading user: checked before anything else, so that an index's existence is no
/// answer to anonymous requests.
pub async fn authenticate(
    state: &AppState,
    headers: &HeaderMap,
    extensions: &Extensions,
) -> Result<User, Response> {
    // An upload is a write: a session would have to carry its CSRF token.
    let post = axum::http::Method::POST;
    let user = depot_http::auth::signed_in(state, &post, headers, extensions)
        .await
        .and_then(|u| {
            u.ok_or_else(|| CoreError::Unauthenticated("Uploads need credentials.".into()))
        });
    user.map_err(error_response)
}

/// The error as the API answers it, with its message in the status line too
/// (`400 Package x.whl already exists in index`).
fn error_response(e: CoreError) -> Response {
    let message = match &e {
        CoreError::Invalid(v) => flatten(v),
        other => other.to_string(),
    };
    let mut r = ApiError(e).into_response();
    if r.status().is_server_error() {
        return r; // internal details stay in the log
    }
    let line: String = message
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                ' '
            }
        })
        .take(300)
        .collect();
    if let Ok(reason) = hyper::ext::ReasonPhrase::try_from(line.into_bytes()) {
        r.extensions_mut().insert(reason);
    }
    r
}

/// Every message in an error body, joined.
fn flatten(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Array(a) => a.iter().map(flatten).collect::<Vec<_>>().join(" "),
        Value::Object(o) => o.values().map(flatten).collect::<Vec<_>>().join(" "),
        other => other.to_string(),
    }
}

fn bad(msg: impl Into<String>) -> CoreError {
    CoreError::invalid(msg.into())
}

async fn upload(
    state: &AppState,
    index: &Index,
    user: &User,
    req: Request,
) -> CoreResult<Response> {
    if !index.allow_uploads {
        return Err(CoreError::Forbidden("Index is not allowing uploads".into()));
    }
    let repository_id = index
        .repository_id
        .clone()
        .ok_or_else(|| bad("This index has no repository to upload to."))?;
    let form = Form::read(state, req).await?;
    if form.action.as_deref().unwrap_or("file_upload") != "file_upload" {
        return Err(bad("Only :action=file_upload is supported."));
    }
    if form.protocol_version.as_deref().is_some_and(|v| v != "1") {
        return Err(bad("Only protocol_version 1 is supported."));
    }
    let sha256 = form
        .sha256
        .as_deref()
        .filter(|s| s.len() == 64 && s.chars().all(|c| c.is_ascii_hexdigit()))
        .ok_or_else(|| bad("sha256_digest is required: the file's sha256 in 64 hex digits."))?;
    let (name, file) = form
        .content
        .ok_or_else(|| bad("The file to upload is missing (the 'content' field)."))?;
    let dist = filename::parse(&name)?;
    if form
        .filetype
        .as_deref()
        .is_some_and(|t| t != dist.packagetype)
    {
        return Err(bad(format!(
            "filetype {} does not match the file {name}.",
            form.filetype.unwrap_or_default()
        )));
    }
    if store::filename_in_version(&state.db, &repository_id, index.number, &name)
        .await?
        .is_some()
    {
        return Err(bad(format!("Package {name} already exists in index")));
    }
    let claims = ingest::Claims {
        name: form.name,
        version: form.version,
    };
    let content_id = ingest::file(state, &file, &name, Some(sha256), &claims).await?;
    // Without overwrite, a file of that name that another upload added meanwhile is refused.
    let task =
        crate::add_to_repository(state, &repository_id, &[content_id], false, Some(&user.id))
            .await?;
    if task.state == "failed" {
        let why = task
            .error
            .get("description")
            .and_then(Value::as_str)
            .unwrap_or("");
        return Err(bad(
            if why.contains(depot_core::models::version::OVERWRITE_REJECTED) {
                format!("Package {name} already exists in index")
            } else {
                why.to_string()
            },
        ));
    }
    let href = depot_core::hrefs::TASK.href(&task.id);
    Ok((StatusCode::OK, axum::Json(json!({"task": href}))).into_response())
}

/// The fields of an upload that matter; the file in a local temporary file.
struct Form {
    name: Option<String>,
    version: Option<String>,
    action: Option<String>,
    protocol_version: Option<String>,
    sha256: Option<String>,
    filetype: Option<String>,
    content: Option<(String, tempfile::TempPath)>,
}

impl Form {
    async fn read(state: &AppState, req: Request) -> CoreResult<Form> {
        let mut mp = Multipart::from_request(req, state)
            .await
            .map_err(|e| bad(format!("An upload is a multipart/form-data POST: {e}")))?;
        let mut form = Form {
            name: None,
            version: None,
            action: None,
            protocol_version: None,
            sha256: None,
            filetype: None,
            content: None,
        };
        let broken = |e: axum::extract::multipart::MultipartError| {
            bad(format!("Reading the upload failed: {e}"))
        };
        while let Some(mut field) = mp.next_field().await.map_err(broken)? {
            let name = field.name().unwrap_or_default().to_string();
            if name == "content" {
                let filename = field
                    .file_name()
                    .map(str::to_string)
                    .ok_or_else(|| bad("The 'content' field has no file name."))?;
                let path = ingest::to_temp_file(field.map(|c| c.map_err(broken))).await?;
                form.content = Some((filename, path));
                continue;
            }
            let value = depot_http::body::text_field(&mut field, &name).await?;
            match name.as_str() {
                "name" => form.name = Some(value),
                "version" => form.version = Some(value),
                ":action" => form.action = Some(value),
                "protocol_version" => form.protocol_version = Some(value),
                "sha256_digest" => form.sha256 = Some(value.trim().to_ascii_lowercase()),
                "filetype" => form.filetype = Some(value),
                _ => {} // twine's other fields (summary, ...) are read from the file itself
            }
        }
        Ok(form)
    }
}
