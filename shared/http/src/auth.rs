//! Authentication for every write and every read except status and docs: HTTP Basic, the
//! identity a gateway asserts in a header (`depot_core::identity`) when that is configured, or
//! the session cookie `login/` sets (its writes must repeat its CSRF token).

use std::sync::{Arc, Mutex};

use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;
use axum::http::{Extensions, HeaderMap, Method, header};
use depot_core::config::HeaderAuth;
use depot_core::users::{self, Credentials, User};
use depot_core::{CoreError, sessions};

use crate::{ApiError, AppState, QueryMap};

/// Extracting this requires valid credentials, of a user allowed to act (a superuser, until
/// roles exist).
pub struct Authenticated(pub User);

impl FromRequestParts<AppState> for Authenticated {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let user = signed_in(state, &parts.method, &parts.headers, &parts.extensions)
            .await?
            .ok_or_else(|| {
                CoreError::Unauthenticated("Authentication credentials were not provided.".into())
            })?;
        user.permitted()?;
        Ok(Authenticated(user))
    }
}

/// The user the request's credentials name (`None`: it carries none), noted for the access
/// log. Wrong credentials are an error, never anonymous; a session that ended is none.
pub async fn signed_in(
    state: &AppState,
    method: &Method,
    headers: &HeaderMap,
    extensions: &Extensions,
) -> Result<Option<User>, CoreError> {
    let auth = &state.settings.header_auth;
    let user = match credentials(headers, auth)? {
        Some(credentials) => {
            users::authenticate(
                &state.db,
                &state.auth_cache,
                auth,
                credentials,
                state.settings.domain_enabled,
            )
            .await?
        }
        None => match session_key(headers) {
            Some(key) => match sessions::find(&state.db, key).await? {
                Some(session) => {
                    check_csrf(method, headers, &session.csrf_token)?;
                    session.user
                }
                None => return Ok(None),
            },
            None => return Ok(None),
        },
    };
    if let Some(slot) = extensions.get::<SignedIn>() {
        slot.note(&user);
    }
    Ok(Some(user))
}

/// The value of cookie `name` in the request's `Cookie` headers.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
}

/// The session key the request's cookie carries.
pub fn session_key(headers: &HeaderMap) -> Option<&str> {
    cookie(headers, sessions::COOKIE)
}

/// A write made with a session must carry its CSRF token (Django's check): a page of another
/// site can make the browser send the cookie, but cannot read the token.
fn check_csrf(method: &Method, headers: &HeaderMap, token: &str) -> Result<(), CoreError> {
    if method.is_safe() {
        return Ok(());
    }
    let sent = headers
        .get(sessions::CSRF_HEADER)
        .and_then(|v| v.to_str().ok());
    match sent {
        None => Err(CoreError::Forbidden(
            "CSRF Failed: CSRF token missing.".into(),
        )),
        Some(sent) if sessions::same_token(sent, token) => Ok(()),
        Some(_) => Err(CoreError::Forbidden(
            "CSRF Failed: CSRF token incorrect.".into(),
        )),
    }
}

/// The credentials a request carries, in Pulp's order: the identity header and the remote-user
/// header (each only when configured), then Basic. Empty Basic credentials (containers/image
/// sends them when it has none) are none.
pub fn credentials<'a>(
    headers: &'a HeaderMap,
    auth: &HeaderAuth,
) -> Result<Option<Credentials<'a>>, CoreError> {
    let text = |name: &str| -> Result<Option<&'a str>, CoreError> {
        headers
            .get(name)
            .map(|v| {
                v.to_str().map_err(|_| {
                    CoreError::Unauthenticated(format!("The {name} header is not text."))
                })
            })
            .transpose()
    };
    if let Some((name, _)) = &auth.json_header
        && let Some(v) = text(name)?
    {
        return Ok(Some(Credentials::JsonHeader(v)));
    }
    if let Some(name) = &auth.remote_user_header
        && let Some(v) = text(name)?
    {
        return Ok(Some(Credentials::RemoteUser(v)));
    }
    Ok(text(header::AUTHORIZATION.as_str())?
        .filter(|v| !users::is_empty_basic(v))
        .map(Credentials::Basic))
}

/// Who signed in during a request, for its access log line (set by the correlation-id layer,
/// filled by [`signed_in`]).
#[derive(Clone, Default)]
pub struct SignedIn(Arc<Mutex<Option<User>>>);

impl SignedIn {
    fn note(&self, user: &User) {
        if let Ok(mut who) = self.0.lock() {
            *who = Some(user.clone());
        }
    }

    /// The user name and organisation, `-` for none.
    pub fn names(&self) -> (String, String) {
        let who = self.0.lock().ok().and_then(|w| w.clone());
        match who {
            Some(u) => (u.username, u.org_id.unwrap_or_else(|| "-".into())),
            None => ("-".into(), "-".into()),
        }
    }
}

/// What a read of one resource takes: an authenticated caller, the `{id}` of the path, and
/// the query (`fields`, `exclude_fields`).
pub struct Detail {
    pub id: String,
    pub query: QueryMap,
}

impl FromRequestParts<AppState> for Detail {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Authenticated::from_request_parts(parts, state).await?;
        // `{id}` only fails to extract when it is not UTF-8: no resource has such an id.
        let Path(id) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError(CoreError::not_found("resource")))?;
        let query = QueryMap::from_request_parts(parts, state).await?;
        Ok(Self { id, query })
    }
}
