//! Running a list query with Pulp's common filters and pagination.

use depot_core::labels::LabelSelect;
use depot_core::models::labels_from_text;
use depot_core::models::list::{Bind, ListQuery};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::{ApiResult, AppState, ListParams, QueryMap};

/// Adds `name`, `name__contains`, `name__icontains`, `name__startswith`, `name__in` and
/// `name__iexact` filters on `column`.
pub fn name_filters(q: &mut ListQuery, query: &QueryMap, field: &str, column: &str) {
    if let Some(v) = query.get(field) {
        q.filter(&format!("{column} = ?"), vec![Bind::Text(v.into())]);
    }
    if let Some(v) = query.get(&format!("{field}__iexact")) {
        q.filter(
            &format!("LOWER({column}) = ?"),
            vec![Bind::Text(v.to_lowercase())],
        );
    }
    if let Some(v) = query.get(&format!("{field}__contains")) {
        q.filter(
            &format!("{column} LIKE ? ESCAPE '\\'"),
            vec![Bind::Text(format!("%{}%", like_escape(v)))],
        );
    }
    if let Some(v) = query.get(&format!("{field}__icontains")) {
        q.filter(
            &format!("LOWER({column}) LIKE ? ESCAPE '\\'"),
            vec![Bind::Text(format!("%{}%", like_escape(&v.to_lowercase())))],
        );
    }
    if let Some(v) = query.get(&format!("{field}__startswith")) {
        q.filter(
            &format!("{column} LIKE ? ESCAPE '\\'"),
            vec![Bind::Text(format!("{}%", like_escape(v)))],
        );
    }
    let list = query.list(&format!("{field}__in"));
    if query.get(&format!("{field}__in")).is_some() {
        q.filter_in(column, list);
    }
}

fn like_escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

/// Adds `pulp_href__in` and `prn__in` filters for hrefs of `kind`.
pub fn href_filters(
    q: &mut ListQuery,
    query: &QueryMap,
    kind: depot_core::hrefs::Kind,
    column: &str,
) {
    if query.get("pulp_href__in").is_some() {
        let ids = query
            .list("pulp_href__in")
            .iter()
            .filter_map(|h| kind.parse(h))
            .collect();
        q.filter_in(column, ids);
    }
    if query.get("prn__in").is_some() {
        let ids = query
            .list("prn__in")
            .iter()
            .filter_map(|h| kind.parse_ref(h))
            .collect();
        q.filter_in(column, ids);
    }
    if query.get("pulp_id__in").is_some() {
        q.filter_in(column, query.list("pulp_id__in"));
    }
}

/// Runs the query: the total count and one page of rows. With `pulp_label_select`, labels are
/// matched in Rust on `labels_column` (a column name of the select list, without its table).
pub async fn fetch_page(
    state: &AppState,
    q: &ListQuery,
    params: &ListParams,
    query: &QueryMap,
    labels_column: Option<&str>,
) -> ApiResult<(i64, Vec<AnyRow>)> {
    if let (Some(expr), Some(col)) = (query.get("pulp_label_select"), labels_column) {
        let select = LabelSelect::parse(expr)?;
        let mut count = 0i64;
        let mut page = Vec::new();
        for row in q.fetch(&state.db, None, 0).await? {
            let text: String = row.try_get(col)?;
            if select.matches(&labels_from_text(&text)) {
                if count >= params.offset && (page.len() as i64) < params.limit {
                    page.push(row);
                }
                count += 1;
            }
        }
        return Ok((count, page));
    }
    let count = q.count(&state.db).await?;
    let rows = if params.offset >= count {
        Vec::new()
    } else {
        q.fetch(&state.db, Some(params.limit), params.offset)
            .await?
    };
    Ok((count, rows))
}

/// Serializes each row through `f`.
pub fn to_values<R: serde::Serialize>(
    rows: &[AnyRow],
    f: impl Fn(&AnyRow) -> depot_core::CoreResult<R>,
) -> depot_core::CoreResult<Vec<serde_json::Value>> {
    rows.iter()
        .map(|r| f(r).map(|v| serde_json::to_value(v).unwrap_or_default()))
        .collect()
}
