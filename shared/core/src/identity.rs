//! Identities a gateway asserts in a header, as Pulp's `JSONHeaderRemoteAuthentication` and
//! remote-user authentication read them: the gateway has authenticated the caller, and the
//! header names who it is. Only safe where clients cannot reach the server without passing the
//! gateway (which sets or strips the header).
//!
//! The JSON header (`X-RH-IDENTITY`) is base64 of a JSON document; a filter picks the user name
//! out of it. Pulp takes any jq program there; identity headers need paths and alternatives,
//! which is what [`JqFilter`] reads (anything else is refused at start-up).

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use serde_json::Value;

use crate::{CoreError, CoreResult};

/// The longest header value read (a real identity is well under 2 KiB).
pub const MAX_HEADER: usize = 8 * 1024;
/// Django's longest user name.
pub const MAX_USERNAME: usize = 150;
const MAX_ORG_ID: usize = 64;

/// The user name of every identity type the gateway sends: a user, a service account, an x509
/// certificate (its subject DN) and a SAML associate (their email).
pub const DEFAULT_FILTER: &str = ".identity.user.username // .identity.service_account.username \
     // .identity.x509.subject_dn // .identity.associate.email";

/// Who a header says the caller is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub username: String,
    /// The organisation (`identity.org_id`), when the identity has one.
    pub org_id: Option<String>,
}

/// A jq filter of paths (`.identity.user.username`), maybe joined by `//`: the first that
/// gives a string wins.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JqFilter(Vec<Vec<String>>);

impl JqFilter {
    pub fn parse(text: &str) -> Result<Self, String> {
        let unsupported = || {
            format!(
                "'{text}' is not a filter Depot reads: paths such as .identity.user.username, \
                 joined by //"
            )
        };
        let mut paths = Vec::new();
        for alternative in text.split("//") {
            let path = alternative
                .trim()
                .strip_prefix('.')
                .ok_or_else(unsupported)?;
            let keys: Vec<String> = path.split('.').map(str::to_string).collect();
            let valid = |k: &String| {
                !k.is_empty()
                    && k.chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            };
            if !keys.iter().all(valid) {
                return Err(unsupported());
            }
            paths.push(keys);
        }
        Ok(Self(paths))
    }

    /// The first non-empty string the paths reach in `doc`.
    pub fn apply<'a>(&self, doc: &'a Value) -> Option<&'a str> {
        self.0.iter().find_map(|path| {
            path.iter()
                .try_fold(doc, |v, k| v.get(k))
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
        })
    }
}

/// The identity in a JSON header value; a 401 for anything that is not one.
pub fn from_json_header(value: &str, filter: &JqFilter) -> CoreResult<Identity> {
    let denied = |why: &str| CoreError::Unauthenticated(format!("Access denied: {why}"));
    if value.len() > MAX_HEADER {
        return Err(denied("the identity header is too long."));
    }
    let value = value.trim();
    let raw = STANDARD
        .decode(value)
        .or_else(|_| STANDARD_NO_PAD.decode(value))
        .map_err(|_| denied("the identity header is not base64."))?;
    let doc: Value =
        serde_json::from_slice(&raw).map_err(|_| denied("the identity header is not JSON."))?;
    let username = filter
        .apply(&doc)
        .ok_or_else(|| denied("the identity header names no user."))?;
    let username = checked_username(username).ok_or_else(|| denied("invalid user name."))?;
    let org_id = match doc
        .pointer("/identity/org_id")
        .or(doc.pointer("/identity/internal/org_id"))
    {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.trim().to_string()),
        Some(Value::Number(n)) => Some(n.to_string()),
        Some(_) => return Err(denied("invalid org_id.")),
    };
    let org_id = org_id.filter(|o| !o.is_empty());
    if let Some(o) = &org_id
        && (o.len() > MAX_ORG_ID
            || !o
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'))
    {
        return Err(denied("invalid org_id."));
    }
    Ok(Identity { username, org_id })
}

/// The user a remote-user header names.
pub fn from_remote_user(value: &str) -> CoreResult<Identity> {
    let username = checked_username(value.trim()).ok_or_else(|| {
        CoreError::Unauthenticated("Access denied: invalid remote user name.".into())
    })?;
    Ok(Identity {
        username,
        org_id: None,
    })
}

/// A user name as stored: not empty, at most 150 characters, no control characters.
fn checked_username(name: &str) -> Option<String> {
    let ok = !name.is_empty()
        && name.chars().count() <= MAX_USERNAME
        && !name.chars().any(char::is_control);
    ok.then(|| name.to_string())
}

/// The header a Pulp setting names: the WSGI environ name (`HTTP_X_RH_IDENTITY`) or the header
/// itself (`X-RH-IDENTITY`), as a lower-case header name.
pub fn header_name(setting: &str) -> Result<String, String> {
    let name = match setting.strip_prefix("HTTP_") {
        Some(rest) => rest.replace('_', "-"),
        None if setting.chars().any(|c| c == '-') => setting.to_string(),
        None => {
            return Err(format!(
                "'{setting}' names no request header (HTTP_<NAME>, or the header itself)"
            ));
        }
    };
    let valid = !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    valid
        .then(|| name.to_ascii_lowercase())
        .ok_or_else(|| format!("'{setting}' is not a header name"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn header(doc: &Value) -> String {
        STANDARD.encode(doc.to_string())
    }

    fn default_filter() -> JqFilter {
        JqFilter::parse(DEFAULT_FILTER).unwrap()
    }

    #[test]
    fn every_identity_type_names_its_user() {
        let f = default_filter();
        let cases = [
            (
                json!({"identity": {"org_id": "123", "user": {"username": "alice"}}}),
                "alice",
            ),
            (
                json!({"identity": {"org_id": 42, "service_account": {"username": "svc-1"}}}),
                "svc-1",
            ),
            (
                json!({"identity": {"org_id": "7", "x509": {"subject_dn": "CN=host,O=Org"}}}),
                "CN=host,O=Org",
            ),
            (
                json!({"identity": {"associate": {"email": "a@example.com"}}}),
                "a@example.com",
            ),
        ];
        for (doc, user) in cases {
            let id = from_json_header(&header(&doc), &f).unwrap();
            assert_eq!(id.username, user);
        }
        let id = from_json_header(
            &header(&json!({"identity": {"org_id": 42, "user": {"username": "a"}}})),
            &f,
        )
        .unwrap();
        assert_eq!(id.org_id.as_deref(), Some("42"));
        let no_org = json!({"identity": {"user": {"username": "a"}}});
        assert_eq!(from_json_header(&header(&no_org), &f).unwrap().org_id, None);
    }

    #[test]
    fn malformed_headers_are_refused() {
        let f = default_filter();
        let good = header(&json!({"identity": {"org_id": "1", "user": {"username": "alice"}}}));
        let long = "a".repeat(200);
        let bad = [
            "".to_string(),
            "not base64!".to_string(),
            STANDARD.encode("not json"),
            good[..good.len() / 2].to_string(),
            header(&json!({"identity": {}})),
            header(&json!({"identity": {"user": {"username": ""}}})),
            header(&json!({"identity": {"user": {"username": 5}}})),
            header(&json!({"identity": {"user": {"username": long}}})),
            header(&json!({"identity": {"user": {"username": "a\nb"}}})),
            header(&json!({"identity": {"org_id": "1; DROP", "user": {"username": "a"}}})),
            header(&json!({"identity": {"org_id": [1], "user": {"username": "a"}}})),
            header(&json!([1, 2])),
            "A".repeat(MAX_HEADER + 4),
        ];
        for value in bad {
            let e = from_json_header(&value, &f).unwrap_err();
            assert!(matches!(e, CoreError::Unauthenticated(_)), "{value}: {e:?}");
        }
        assert!(from_json_header(&good, &f).is_ok());
    }

    #[test]
    fn filters_and_header_names() {
        let f = JqFilter::parse(".identity.user.username").unwrap();
        let doc = json!({"identity": {"user": {"username": "u"}}});
        assert_eq!(f.apply(&doc), Some("u"));
        for bad in [
            "",
            "identity.user",
            ".identity | .user",
            ".a..b",
            ".a[0]",
            "//",
        ] {
            assert!(JqFilter::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(header_name("HTTP_X_RH_IDENTITY").unwrap(), "x-rh-identity");
        assert_eq!(header_name("X-RH-Identity").unwrap(), "x-rh-identity");
        assert_eq!(header_name("HTTP_REMOTE_USER").unwrap(), "remote-user");
        assert!(header_name("REMOTE_USER").is_err());
        assert!(header_name("HTTP_").is_err());
        assert!(from_remote_user("bob").is_ok());
        assert!(from_remote_user("").is_err());
    }
}
