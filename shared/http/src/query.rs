//! Query strings: the raw pairs (repeated and comma-separated forms both accepted), the list
//! parameters every list takes, and Pulp's pagination envelope.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{Uri, header};
use depot_core::CoreError;
use depot_core::models::list::ListQuery;
use serde_json::{Map, Value, json};

use crate::ApiError;

/// All query pairs, in order.
#[derive(Debug, Clone, Default)]
pub struct QueryMap {
    pairs: Vec<(String, String)>,
    uri: String,
    /// `http://host`, as the client reached the server.
    origin: String,
}

impl<S: Send + Sync> FromRequestParts<S> for QueryMap {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let pairs = match parts.uri.query() {
            Some(q) => serde_urlencoded::from_str(q)
                .map_err(|e| CoreError::invalid(format!("Malformed query string: {e}")))?,
            None => Vec::new(),
        };
        // Set for every request the app serves (from the Host header otherwise).
        let origin = match parts.extensions.get::<crate::public_paths::PublicOrigin>() {
            Some(o) => o.0.clone(),
            None => {
                let host = parts
                    .headers
                    .get(header::HOST)
                    .and_then(|h| h.to_str().ok())
                    .unwrap_or("localhost");
                format!("http://{host}")
            }
        };
        Ok(QueryMap {
            pairs,
            uri: path_of(&parts.uri),
            origin,
        })
    }
}

fn path_of(uri: &Uri) -> String {
    depot_core::domain::public_path(uri.path())
}

impl QueryMap {
    pub fn from_pairs(pairs: Vec<(String, String)>) -> Self {
        Self {
            pairs,
            ..Default::default()
        }
    }

    /// `http(s)://host` as the client reached the server (absolute URLs start with it).
    pub fn origin(&self) -> &str {
        &self.origin
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of a parameter, splitting comma-separated values.
    pub fn list(&self, name: &str) -> Vec<String> {
        self.pairs
            .iter()
            .filter(|(k, _)| k == name)
            .flat_map(|(_, v)| v.split(',').map(|s| s.trim().to_string()))
            .filter(|s| !s.is_empty())
            .collect()
    }

    pub fn int(&self, name: &str) -> Result<Option<i64>, ApiError> {
        match self.get(name) {
            None | Some("") => Ok(None),
            Some(v) => v
                .parse::<i64>()
                .map(Some)
                .map_err(|_| ApiError(CoreError::field(name, "A valid integer is required."))),
        }
    }

    pub fn bool(&self, name: &str) -> Result<Option<bool>, ApiError> {
        match self.get(name).map(str::to_ascii_lowercase).as_deref() {
            None | Some("") => Ok(None),
            Some("true") | Some("1") => Ok(Some(true)),
            Some("false") | Some("0") => Ok(Some(false)),
            Some(_) => Err(ApiError(CoreError::field(name, "Must be a valid boolean."))),
        }
    }

    /// The full URL of this request with `offset` replaced (for `next` and `previous`).
    fn page_url(&self, limit: i64, offset: i64) -> String {
        let mut pairs: Vec<(String, String)> = self
            .pairs
            .iter()
            .filter(|(k, _)| k != "offset" && k != "limit")
            .cloned()
            .collect();
        pairs.push(("limit".into(), limit.to_string()));
        if offset > 0 {
            pairs.push(("offset".into(), offset.to_string()));
        }
        let q = serde_urlencoded::to_string(&pairs).unwrap_or_default();
        format!("{}{}?{q}", self.origin, self.uri)
    }
}

/// `limit`, `offset`, `ordering`, `fields` and `exclude_fields`.
#[derive(Debug, Clone)]
pub struct ListParams {
    pub limit: i64,
    pub offset: i64,
    pub ordering: Vec<String>,
    pub fields: Vec<String>,
    pub exclude_fields: Vec<String>,
}

pub const DEFAULT_PAGE_SIZE: i64 = 100;
/// The largest page a list answers, whatever `limit` asks for.
pub const MAX_PAGE_SIZE: i64 = 1000;

impl ListParams {
    pub fn from_query(q: &QueryMap) -> Result<Self, ApiError> {
        let limit = q.int("limit")?.unwrap_or(DEFAULT_PAGE_SIZE);
        let offset = q.int("offset")?.unwrap_or(0);
        if limit < 0 {
            return Err(ApiError(CoreError::field(
                "limit",
                "Ensure this value is greater than or equal to 0.",
            )));
        }
        if offset < 0 {
            return Err(ApiError(CoreError::field(
                "offset",
                "Ensure this value is greater than or equal to 0.",
            )));
        }
        Ok(Self {
            // Larger pages are cut to the largest; `next` leads on from there.
            limit: match limit {
                0 => DEFAULT_PAGE_SIZE,
                n => n.min(MAX_PAGE_SIZE),
            },
            offset,
            ordering: q.list("ordering"),
            fields: q.list("fields"),
            exclude_fields: q.list("exclude_fields"),
        })
    }

    /// Orders `q` as `ordering` asks, by fields among `allowed` (each a field of the list's
    /// table), else by `default` (fields, each with whether descending).
    pub fn order(
        &self,
        q: &mut ListQuery,
        allowed: &[&str],
        default: &[(&str, bool)],
    ) -> Result<(), ApiError> {
        if self.ordering.is_empty() {
            for (field, descending) in default {
                q.order(field, *descending)?;
            }
            return Ok(());
        }
        for o in &self.ordering {
            let (desc, name) = match o.strip_prefix('-') {
                Some(n) => (true, n),
                None => (false, o.as_str()),
            };
            if !allowed.contains(&name) {
                return Err(ApiError(CoreError::field(
                    "ordering",
                    format!("Select a valid choice. {name} is not one of the available choices."),
                )));
            }
            q.order(name, desc)?;
        }
        Ok(())
    }

    /// Applies `fields` / `exclude_fields` to one serialized object.
    pub fn shape(&self, v: Value) -> Value {
        let Value::Object(map) = v else { return v };
        let map: Map<String, Value> = map
            .into_iter()
            .filter(|(k, _)| self.fields.is_empty() || self.fields.iter().any(|f| f == k))
            .filter(|(k, _)| !self.exclude_fields.iter().any(|f| f == k))
            .collect();
        Value::Object(map)
    }

    /// Pulp's pagination envelope.
    pub fn page(&self, q: &QueryMap, count: i64, results: Vec<Value>) -> Value {
        // Saturating: an offset near i64::MAX must not wrap round to a link back to the start.
        let following = self.offset.saturating_add(self.limit);
        let next = (following < count).then(|| q.page_url(self.limit, following));
        let previous = (self.offset > 0).then(|| {
            // Past the end, `previous` leads to the last page, as in DRF.
            let before = self.offset.min(count).saturating_sub(self.limit).max(0);
            q.page_url(self.limit, before)
        });
        let results: Vec<Value> = results.into_iter().map(|r| self.shape(r)).collect();
        json!({"count": count, "next": next, "previous": previous, "results": results})
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> (QueryMap, ListParams) {
        let q = QueryMap::from_pairs(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        );
        let p = ListParams::from_query(&q).unwrap();
        (q, p)
    }

    fn offset_of(link: &Value) -> i64 {
        let url = link.as_str().unwrap();
        url.split(['?', '&'])
            .find_map(|kv| kv.strip_prefix("offset="))
            .map_or(0, |v| v.parse().unwrap())
    }

    #[test]
    fn pages_never_wrap_around() {
        let (q, p) = params(&[("offset", "9223372036854775807"), ("limit", "1")]);
        let page = p.page(&q, 5, vec![]);
        assert!(page["next"].is_null(), "{page}");
        assert_eq!(offset_of(&page["previous"]), 4);

        let (q, p) = params(&[("offset", "1"), ("limit", "9223372036854775807")]);
        assert_eq!(p.limit, MAX_PAGE_SIZE);
        let page = p.page(&q, 5000, vec![]);
        assert_eq!(offset_of(&page["next"]), 1001);
        assert_eq!(offset_of(&page["previous"]), 0);
        assert_ne!(page["next"], page["previous"]);
    }

    #[test]
    fn following_next_ends() {
        for (count, limit) in [(0, 1), (7, 3), (100, 100), (1001, 1000)] {
            let mut offset = 0i64;
            let mut pages = 0;
            loop {
                let (q, p) = params(&[
                    ("offset", &offset.to_string()),
                    ("limit", &limit.to_string()),
                ]);
                let page = p.page(&q, count, vec![]);
                pages += 1;
                assert!(pages <= count / limit + 1, "no end for count {count}");
                if page["next"].is_null() {
                    break;
                }
                let next = offset_of(&page["next"]);
                assert!(next > offset);
                offset = next;
            }
        }
    }
}
