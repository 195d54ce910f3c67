//! Whether a request may fetch what a content guard protects, as Pulp's guards decide: an RBAC
//! guard asks for its `download` permission (of whoever the request signs in as), a header
//! guard for a header's value, a content-redirect guard for a URL it signed, an X.509 guard for
//! a client certificate of its CA, and a composite guard for any of its members.

use axum::http::{Extensions, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use depot_core::CoreResult;
use depot_core::access::{Check, Object};
use depot_core::hrefs::{
    COMPOSITE_GUARD, ENVVAR_GUARD, HEADER_GUARD, RBAC_GUARD, REDIRECT_GUARD, X509_GUARD,
};
use depot_core::models::content_guard::{self, Guard, Loaded};

use crate::access::viewset_of;
use crate::{AppState, Caller};

/// Where the proxy that ends TLS puts the client's certificate (PEM, URL-encoded, as nginx's
/// `$ssl_client_escaped_cert`), as Pulp's certguard reads it.
pub const CLIENT_CERT_HEADER: &str = "x-client-cert";

/// The parts of a request a guard looks at.
pub struct GuardRequest<'a> {
    pub method: &'a Method,
    pub headers: &'a HeaderMap,
    pub extensions: &'a Extensions,
    pub path: &'a str,
    pub query: Option<&'a str>,
}

/// Whether `req` passes guard `id`: `Ok(Err(reason))` when it does not.
pub async fn permit(
    state: &AppState,
    id: &str,
    req: &GuardRequest<'_>,
) -> CoreResult<Result<(), String>> {
    match content_guard::load(&state.db, id).await? {
        Some(loaded) => permit_loaded(state, &loaded, req).await,
        // Removed meanwhile: the distribution is unguarded now (see `content_guard::delete`).
        None => Ok(Ok(())),
    }
}

/// Whether `req` passes a guard already loaded.
pub async fn permit_loaded(
    state: &AppState,
    loaded: &Loaded,
    req: &GuardRequest<'_>,
) -> CoreResult<Result<(), String>> {
    let Loaded { guard, members } = loaded;
    if guard.kind != &COMPOSITE_GUARD {
        return one(state, guard, req).await;
    }
    if members.is_empty() {
        return Ok(Ok(()));
    }
    let mut refusals = Vec::new();
    for member in members {
        match one(state, member, req).await? {
            Ok(()) => return Ok(Ok(())),
            Err(why) => refusals.push(format!(
                "Guard: '{}', HREF: '{}', denial: [{why}].",
                member.name,
                member.href()
            )),
        }
    }
    Ok(Err(format!(
        "Access forbidden. Refusals: [{}]",
        refusals.join(", ")
    )))
}

async fn one(
    state: &AppState,
    guard: &Guard,
    req: &GuardRequest<'_>,
) -> CoreResult<Result<(), String>> {
    let kind = guard.kind;
    Ok(if kind == &RBAC_GUARD {
        rbac(state, guard, req).await?
    } else if kind == &HEADER_GUARD {
        header(guard, req)
    } else if kind == &REDIRECT_GUARD {
        guard.check_signed(&state.db, req.path, req.query)?
    } else if kind == &X509_GUARD {
        let sent = req
            .headers
            .get(CLIENT_CERT_HEADER)
            .and_then(|v| v.to_str().ok());
        content_guard::x509::check(guard.ca_certificate.as_deref().unwrap_or(""), sent)
    } else if kind == &ENVVAR_GUARD {
        let sent = guard
            .header_name
            .as_deref()
            .and_then(|name| req.headers.get(name))
            .and_then(|v| v.to_str().ok());
        let var = guard.env_var.as_deref().unwrap_or("");
        content_guard::envvar::check(var, &state.settings.envvar_guard_vars, sent)
    } else {
        Err("Access denied.".into())
    })
}

async fn rbac(
    state: &AppState,
    guard: &Guard,
    req: &GuardRequest<'_>,
) -> CoreResult<Result<(), String>> {
    let user = match crate::auth::signed_in(state, req.method, req.headers, req.extensions).await {
        Ok(Some(user)) => user,
        Ok(None) => return Ok(Err("Authentication credentials were not provided.".into())),
        Err(_) => return Ok(Err("Invalid credentials.".into())),
    };
    let caller = Caller::of(state, user).await?;
    let check = Check {
        action: "download",
        object: Some(Object::new(guard.kind, &guard.id)),
        ..Check::default()
    };
    let viewset = viewset_of(guard.kind.collection);
    Ok(match caller.authorize(state, viewset, check).await {
        Ok(()) => Ok(()),
        Err(_) => Err("You do not have permission to perform this action.".into()),
    })
}

fn header(guard: &Guard, req: &GuardRequest<'_>) -> Result<(), String> {
    let denied = || Err("Access denied.".to_string());
    let (Some(name), Some(expected)) = (&guard.header_name, &guard.header_value) else {
        return denied();
    };
    let Some(sent) = req.headers.get(name.as_str()).and_then(|v| v.to_str().ok()) else {
        return denied();
    };
    let Ok(decoded) = STANDARD.decode(sent.trim()) else {
        return denied();
    };
    let value = match &guard.jq_filter {
        Some(filter) => {
            let Ok(filter) = depot_core::identity::JqFilter::parse(filter) else {
                return denied();
            };
            let Ok(doc) = serde_json::from_slice::<serde_json::Value>(&decoded) else {
                return denied();
            };
            match filter.apply(&doc) {
                Some(v) => v.to_string(),
                None => return denied(),
            }
        }
        None => match String::from_utf8(decoded) {
            Ok(v) => v,
            Err(_) => return denied(),
        },
    };
    match depot_core::sessions::same_token(&value, expected) {
        true => Ok(()),
        false => denied(),
    }
}

/// A 403 whose reason phrase says why (as Pulp's content app answers a refused guard),
/// and whose body says it too.
pub fn refused(reason: &str) -> Response {
    // A reason phrase is one line of visible ASCII; anything else is left out.
    let phrase: String = reason
        .chars()
        .filter(|c| c.is_ascii() && !c.is_ascii_control())
        .take(1024)
        .collect();
    let mut resp = (StatusCode::FORBIDDEN, reason.to_string()).into_response();
    if let Ok(p) = hyper::ext::ReasonPhrase::try_from(phrase.into_bytes()) {
        resp.extensions_mut().insert(p);
    }
    resp.headers_mut().insert(
        axum::http::header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    resp
}
