//! `login/`: who is signed in (GET), a session for them (POST: the `sessionid` and
//! `csrftoken` cookies Pulp's web UI signs in with), its end (DELETE), and changes users make
//! to themselves (PATCH), as Pulp serves them.

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::Response;
use axum::routing::get;
use depot_core::hrefs::USER;
use depot_core::models::user;
use depot_core::{CoreError, sessions, users};
use depot_http::openapi::{ApiDoc, JSON_FORM_MULTIPART, Op};
use depot_http::{ApiResult, AppState, Caller, Fields, created, no_content, ok};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

const BASE: &str = "/pulp/api/v3/login/";

pub fn routes() -> Router<AppState> {
    Router::new().route(BASE, get(read).post(login).patch(update).delete(logout))
}

/// The signed-in user.
#[derive(Debug, Serialize, JsonSchema)]
#[schemars(rename = "Login")]
pub struct LoginResponse {
    pub pulp_href: String,
    pub prn: String,
    pub username: String,
}

/// What users may change about themselves.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "PatchedLoginUpdate")]
#[allow(dead_code)] // read through the fields that were sent
pub struct LoginUpdate {
    /// 150 characters or fewer. Letters, digits and @/./+/-/_ only.
    pub username: Option<String>,
    /// Old password
    pub old_password: Option<String>,
    /// New password
    pub new_password: Option<String>,
    /// First name
    pub first_name: Option<String>,
    /// Last name
    pub last_name: Option<String>,
    /// Email address
    pub email: Option<String>,
}

/// A user's own fields, after a change.
#[derive(Debug, Serialize, JsonSchema)]
#[schemars(rename = "LoginUpdate")]
pub struct LoginUpdateResponse {
    pub username: String,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
}

fn shown(caller: &Caller) -> LoginResponse {
    LoginResponse {
        pulp_href: USER.href(&caller.user.id),
        prn: USER.prn(&caller.user.id),
        username: caller.user.username.clone(),
    }
}

async fn read(caller: Caller) -> ApiResult<Response> {
    Ok(ok(&shown(&caller)))
}

/// A `Set-Cookie` value, its attributes in Django's order: a client that reads several
/// cookies joined by commas (one header value) parses `HttpOnly` only when it is not last.
fn cookie(name: &str, value: &str, max_age: u64, http_only: bool) -> ApiResult<HeaderValue> {
    let only = if http_only { "; HttpOnly" } else { "" };
    HeaderValue::from_str(&format!(
        "{name}={value}{only}; Max-Age={max_age}; Path=/; SameSite=Lax"
    ))
    .map_err(|_| CoreError::Internal("an unprintable cookie".into()).into())
}

async fn login(State(state): State<AppState>, caller: Caller) -> ApiResult<Response> {
    let age = state.settings.session_cookie_age;
    let (key, csrf) = sessions::create(&state.db, &caller.user.id, age).await?;
    let mut resp = created(&shown(&caller));
    let headers = resp.headers_mut();
    headers.append(
        header::SET_COOKIE,
        cookie(sessions::COOKIE, &key, age, true)?,
    );
    // Read by the page's scripts, to send back in `X-CSRFToken`.
    headers.append(
        header::SET_COOKIE,
        cookie(sessions::CSRF_COOKIE, &csrf, age, false)?,
    );
    Ok(resp)
}

async fn logout(
    State(state): State<AppState>,
    _: Caller,
    headers: HeaderMap,
) -> ApiResult<Response> {
    if let Some(key) = depot_http::auth::session_key(&headers) {
        sessions::delete(&state.db, key).await?;
    }
    let mut resp = no_content();
    for name in [sessions::COOKIE, sessions::CSRF_COOKIE] {
        resp.headers_mut()
            .append(header::SET_COOKIE, cookie(name, "", 0, true)?);
    }
    Ok(resp)
}

async fn update(
    State(state): State<AppState>,
    caller: Caller,
    fields: Fields,
) -> ApiResult<Response> {
    let (_, raw) = fields.parse_patch::<LoginUpdate>()?;
    let text = |f: &str| raw.get(f).and_then(Value::as_str);
    let mut changes: Map<String, Value> = raw
        .iter()
        .filter(|(k, _)| ["username", "first_name", "last_name", "email"].contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let new_password = match (text("old_password"), text("new_password")) {
        (None, Some(_)) => {
            return Err(
                CoreError::invalid("Old password is required to update the password.").into(),
            );
        }
        (Some(old), Some(new)) => {
            if !users::has_password(&state.db, &caller.user.id, old).await? {
                return Err(CoreError::invalid("Old password is incorrect.").into());
            }
            if old == new {
                return Err(CoreError::invalid(
                    "New password cannot be the same as the old password.",
                )
                .into());
            }
            changes.insert("password".into(), Value::String(new.to_string()));
            true
        }
        _ => false,
    };
    let record = user::update(&state.db, &caller.user.id, &changes).await?;
    if new_password || changes.contains_key("username") {
        // The old password, and sessions made with it, sign in no more.
        state.auth_cache.forget();
    }
    if new_password {
        sessions::delete_all(&state.db, &caller.user.id).await?;
    }
    Ok(ok(&LoginUpdateResponse {
        username: record.username,
        first_name: record.first_name,
        last_name: record.last_name,
        email: record.email,
    }))
}

pub fn openapi(doc: &mut ApiDoc) {
    let resp = doc.schema::<LoginResponse>();
    let update = doc.schema::<LoginUpdate>();
    let updated = doc.schema::<LoginUpdateResponse>();
    let tag = "Login";
    doc.add(Op::new("get", BASE, "login_read", tag).response(200, Some(resp.clone())));
    doc.add(Op::new("post", BASE, "login", tag).response(201, Some(resp)));
    doc.add(
        Op::new("patch", BASE, "login_update", tag)
            .body(update, JSON_FORM_MULTIPART)
            .response(200, Some(updated)),
    );
    doc.add(Op::new("delete", BASE, "logout", tag).response(204, None));
}
