//! `content/<plugin>/<type>/`: the content endpoints of every plugin (file content, container
//! manifests, blobs and tags, python packages). Content is the family whose endpoints differ
//! most between types, so each plugin writes its own (see its `api::content`), over the helpers
//! of `depot_http::plugin_api::content`; this crate serves them together, with Pulp's generic
//! list of every type, `content/`.

use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use depot_core::CoreResult;
use depot_core::models::content::{self, ContentResponse};
use depot_core::models::list::ListQuery;
use depot_core::plugin::Family;
use depot_http::expression::{Terms, label_term, term_error};
use depot_http::list::{content_family_scope, fetch_page, href_filters_any};
use depot_http::openapi::{self, ApiDoc, Op};
use depot_http::plugin_api::content::{VERSION_FILTERS, repository_version_filters};
use depot_http::plugin_api::{self, FamilyApi};
use depot_http::{ApiResult, AppState, Caller, ListParams, QueryMap, ok};

const ALL: &str = "/pulp/api/v3/content/";

/// The filters a `q` term may name on `content/`, besides the version filters.
const Q_KEYS: [&str; 6] = [
    "pulp_label_select",
    "pulp_type",
    "pulp_type__in",
    "pulp_href__in",
    "prn__in",
    "pulp_id__in",
];

pub fn router() -> Router<AppState> {
    plugin_api::mount::<ContentFamily>(depot_plugins::visit_api).route(ALL, get(list_all))
}

pub fn openapi(doc: &mut ApiDoc) {
    plugin_api::document::<ContentFamily>(doc, depot_plugins::visit_api);
    let page = doc.paginated::<ContentResponse>();
    let filters = openapi::list_filters(
        &["pulp_label_select", "pulp_type__in"]
            .iter()
            .chain(&VERSION_FILTERS)
            .copied()
            .collect::<Vec<_>>(),
        &["pulp_href__in", "prn__in", "pulp_id__in"],
    );
    doc.add(
        Op::new("get", ALL, "content_list", "Content")
            .summary("List content of every type")
            .params(filters)
            .response(200, Some(page)),
    );
}

/// This family: only the plugins' own routes.
struct ContentFamily;

impl FamilyApi for ContentFamily {
    const FAMILY: Family = Family::Content;
}

/// The filters of `content/` but labels: by repository version and by href or type.
async fn filters(state: &AppState, q: &mut ListQuery, query: &QueryMap) -> CoreResult<()> {
    repository_version_filters(state, q, query)
        .await
        .map_err(|e| e.0)?;
    href_filters_any(q, query, Family::Content)
}

/// `content/`: content of every type the caller may see, as every type shows it.
async fn list_all(
    State(state): State<AppState>,
    caller: Caller,
    query: QueryMap,
) -> ApiResult<Response> {
    let params = ListParams::from_query(&query)?;
    let mut q = ListQuery::of(&content::TABLE);
    q.with(content_family_scope(&state, &caller).await?)?;
    filters(&state, &mut q, &query).await?;
    // In `q`, labels are one more term (outside, the page's own selector).
    let keys: Vec<&str> = Q_KEYS.iter().chain(&VERSION_FILTERS).copied().collect();
    if let Some(mut terms) = Terms::of(&query, &content::TABLE, &keys)? {
        for (recorder, term) in terms.iter_mut() {
            label_term(recorder, term, "pulp_labels")?;
            filters(&state, recorder, term).await.map_err(term_error)?;
        }
        q.with(terms.into_filter())?;
    }
    params.order(
        &mut q,
        &["pulp_created", "pulp_last_updated", "pk"],
        &[("pulp_created", true)],
    )?;
    let (count, rows) = fetch_page(&state, &q, &params, &query, Some("pulp_labels")).await?;
    let results = content::generic_responses(&state.db, &rows)
        .await?
        .into_iter()
        .map(|c| serde_json::to_value(c).unwrap_or_default())
        .collect();
    Ok(ok(&params.page(&query, count, results)))
}
