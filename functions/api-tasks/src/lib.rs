//! `tasks/` and `task-groups/`: reading, filtering, cancelling and deleting tasks; and
//! `workers/`, which run them.

mod workers;

use axum::Router;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::get;
use depot_core::hrefs::TASK;
use depot_core::models::list::{Bind, Cmp, Filter, ListQuery};
use depot_core::models::task::{self, STATES, Task, TaskGroupResponse, TaskResponse};
use depot_core::tasks::args::TaskPurge;
use depot_core::tasks::{Dispatch, TaskContext, TaskFuture, TaskRegistry, purge};
use depot_core::{CoreError, tasks};
use depot_http::list::{fetch_page, href_filters, name_filters, page_response, time_filters};
use depot_http::openapi::{self, ApiDoc, JSON_FORM_MULTIPART, Op};
use depot_http::{
    ApiResult, AppState, Authenticated, Caller, CorrelationId, Detail, Fields, ListParams,
    QueryMap, dispatched, no_content, ok, shaped,
};
use schemars::JsonSchema;
use serde::Deserialize;

const BASE: &str = "/pulp/api/v3/tasks/";
const GROUPS: &str = "/pulp/api/v3/task-groups/";
const PURGE: &str = "/pulp/api/v3/tasks/purge/";

pub fn register_tasks(reg: &mut TaskRegistry) {
    reg.register(run_purge);
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route(BASE, get(list))
        .route(
            &format!("{BASE}{{id}}/"),
            get(read).patch(cancel).delete(delete),
        )
        .route(PURGE, axum::routing::post(purge))
        .route(
            &format!("{BASE}{{id}}/profile_artifacts/"),
            get(profile_artifacts),
        )
        .route(
            &format!("{BASE}{{id}}/profile_artifacts/{{name}}/"),
            get(profile_artifact),
        )
        .route(GROUPS, get(list_groups))
        .route(workers::BASE, get(workers::list))
        .route(&format!("{}{{id}}/", workers::BASE), get(workers::read))
        .route(&format!("{GROUPS}{{id}}/"), get(read_group))
}

/// The only change a client can make to a task: cancel it.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchedTaskCancel {
    /// The desired state of the task. Only 'canceled' is accepted.
    pub state: String,
}

/// What `tasks/purge/` deletes.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Purge {
    /// Purge tasks completed earlier than this timestamp. Format '%Y-%m-%d[T%H:%M:%S]'
    pub finished_before: Option<String>,
    /// List of task-states to be purged. Only 'final' states are allowed.
    pub states: Option<Vec<String>>,
}

/// The most states a purge names (there are four final ones).
const MAX_STATES: usize = 16;

/// Pulp's purge: checks the request and dispatches the task, which deletes only what the
/// caller may delete (the list's scoping, in the task).
async fn purge(
    State(state): State<AppState>,
    caller: Caller,
    cid: CorrelationId,
    fields: Fields,
) -> ApiResult<Response> {
    caller.may_in(&state, VIEWSET, "purge", vec![]).await?;
    let body: Purge = fields.parse()?;
    let finished_before = match body.finished_before.as_deref() {
        None => depot_core::time::ago(30 * 24 * 3600),
        Some(v) => depot_core::time::normalize(v).ok_or_else(|| {
            CoreError::field(
                "finished_before",
                "Datetime has wrong format. Use one of these formats instead: \
                 YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z].",
            )
        })?,
    };
    let mut states = body.states.unwrap_or_else(|| vec!["completed".into()]);
    if states.len() > MAX_STATES {
        return Err(CoreError::field("states", "Too many states.").into());
    }
    if let Some(bad) = states
        .iter()
        .find(|s| !purge::FINAL_STATES.contains(&s.as_str()))
    {
        let shown: String = bad.chars().take(100).collect();
        return Err(
            CoreError::field("states", format!("\"{shown}\" is not a valid choice.")).into(),
        );
    }
    states.sort();
    states.dedup();
    let args = TaskPurge {
        finished_before,
        states,
    };
    let d = Dispatch::new("pulpcore.app.tasks.purge.purge", &args)
        .requested_by(&caller.user.id, &cid.0);
    dispatched(&state, d).await
}

/// The purge task, as the user who dispatched it.
fn run_purge(ctx: TaskContext, args: TaskPurge) -> TaskFuture {
    Box::pin(async move {
        let user = ctx.task.created_by.clone();
        purge::run(
            &ctx.core,
            &ctx.progress,
            user.as_deref(),
            &args.finished_before,
            &args.states,
        )
        .await?;
        Ok(None)
    })
}

fn add_filters(q: &mut ListQuery, query: &QueryMap) -> ApiResult<()> {
    if let Some(s) = query.get("state") {
        q.with(Filter::Is("state", Bind::Text(s.into())))?;
    }
    if let Some(s) = query.get("state__ne") {
        q.with(Filter::Cmp("state", Cmp::Ne, Bind::Text(s.into())))?;
    }
    if query.get("state__in").is_some() {
        let states = query.list("state__in");
        if let Some(bad) = states.iter().find(|s| !STATES.contains(&s.as_str())) {
            return Err(CoreError::field(
                "state__in",
                format!("Select a valid choice. {bad} is not one of the available choices."),
            )
            .into());
        }
        q.with(Filter::In("state", states))?;
    }
    name_filters(q, query, "name")?;
    name_filters(q, query, "logging_cid")?;
    href_filters(q, query, &depot_core::hrefs::TASK)?;
    time_filters(q, query, "started_at", &["__gte", "__lte", "__gt", "__lt"])?;
    time_filters(q, query, "finished_at", &["__gte", "__lte", "__gt", "__lt"])?;
    // `pulp_created` orders by the dispatch sequence; its filters compare the time.
    for (suffix, cmp) in [("__gte", Cmp::Ge), ("__lte", Cmp::Le)] {
        let param = format!("pulp_created{suffix}");
        if let Some(v) = query.get(&param) {
            let ts = depot_core::time::normalize(v)
                .ok_or_else(|| CoreError::field(&param, "Enter a valid date/time."))?;
            q.with(Filter::Cmp("created", cmp, Bind::Text(ts)))?;
        }
    }
    // Resource filters match PRNs or hrefs inside the stored JSON lists.
    for (param, fields) in [
        (
            "reserved_resources",
            &["exclusive_resources", "shared_resources"][..],
        ),
        ("exclusive_resources", &["exclusive_resources"][..]),
        ("shared_resources", &["shared_resources"][..]),
    ] {
        for value in query
            .list(param)
            .into_iter()
            .chain(query.list(&format!("{param}__in")))
        {
            // Hrefs become the PRNs reservations are recorded with.
            let prn = depot_core::hrefs::to_prn(&value).unwrap_or(value);
            let any = fields
                .iter()
                .map(|f| Filter::Listed(f, prn.clone()))
                .collect();
            q.with(Filter::AnyOf(any))?;
        }
    }
    if let Some(h) = query.get("created_resources") {
        // An href, as Pulp's filter takes it; anything else is a bad filter.
        if !h.starts_with(depot_core::domain::api_root().as_str()) {
            let shown: String = h.chars().take(200).collect();
            return Err(
                CoreError::field("created_resources", format!("URI not valid: {shown}")).into(),
            );
        }
        q.with(Filter::Listed("created_resources", h.to_string()))?;
    }
    if let Some(g) = query.get("task_group") {
        let id = depot_core::hrefs::TASK_GROUP
            .parse_ref(g)
            .unwrap_or_default();
        q.with(Filter::Is("task_group", Bind::Text(id)))?;
    }
    if let Some(p) = query.get("parent_task") {
        let id = depot_core::hrefs::TASK.parse_ref(p).unwrap_or_default();
        q.with(Filter::Is("parent_task", Bind::Text(id)))?;
    }
    if let Some(w) = query.get("worker") {
        let id = depot_core::hrefs::WORKER.parse_ref(w).unwrap_or_default();
        q.with(Filter::Is("worker", Bind::Text(id)))?;
    }
    Ok(())
}

/// The tasks' policy, as Pulp names the viewset.
const VIEWSET: &str = "tasks";

/// The permissions whoever dispatched a task holds on it (Pulp gives them `core.task_owner`
/// on the task; here the task's `created_by` says it, without a role row per task).
fn dispatcher_permissions() -> &'static [&'static str] {
    depot_core::access::CORE_ROLES
        .iter()
        .find(|r| r.name == "core.task_owner")
        .map_or(&[], |r| r.permissions)
}

/// Task `id`, on which the caller may do `action`: not found unless they may see it,
/// forbidden unless the tasks' policy allows it.
async fn allowed(state: &AppState, caller: &mut Caller, id: &str, action: &str) -> ApiResult<Task> {
    let t = task::get_in_domain(&state.db, id).await?;
    if t.created_by.as_deref() == Some(caller.user.id.as_str()) {
        caller.grants.imply(id, dispatcher_permissions());
    }
    caller.may(state, BASE, (&TASK, id), action, vec![]).await?;
    Ok(t)
}

async fn list(
    State(state): State<AppState>,
    caller: Caller,
    query: QueryMap,
) -> ApiResult<Response> {
    caller.may_in(&state, VIEWSET, "list", vec![]).await?;
    let params = ListParams::from_query(&query)?;
    let mut q = ListQuery::of(&task::TABLE);
    if let Some(grantee) = caller.scope(&state, &TASK).await? {
        let mine = Filter::Is("created_by", Bind::Text(caller.user.id.clone()));
        q.with(Filter::AnyOf(vec![mine, Filter::Granted("id", grantee)]))?;
    }
    add_filters(&mut q, &query)?;
    let orderings = [
        "pulp_created",
        "started_at",
        "finished_at",
        "name",
        "state",
        "pk",
    ];
    params.order(&mut q, &orderings, &[("pulp_created", true)])?;
    page_response(&state, &q, &params, &query, None, |r| {
        Task::from_row(r).map(|t| t.response())
    })
    .await
}

async fn read(
    State(state): State<AppState>,
    mut caller: Caller,
    Path(id): Path<String>,
    query: QueryMap,
) -> ApiResult<Response> {
    let t = allowed(&state, &mut caller, &id, "retrieve").await?;
    shaped(&query, &t.response())
}

async fn cancel(
    State(state): State<AppState>,
    mut caller: Caller,
    Path(id): Path<String>,
    fields: Fields,
) -> ApiResult<Response> {
    allowed(&state, &mut caller, &id, "partial_update").await?;
    let body: PatchedTaskCancel = fields.parse()?;
    if body.state != "canceled" {
        return Err(CoreError::field("state", "The only acceptable value is 'canceled'.").into());
    }
    match tasks::cancel(&state, &id).await {
        Ok(t) => Ok(ok(&t.response())),
        Err(CoreError::Conflict(_)) => {
            let t = task::get(&state.db, &id).await?;
            Ok(depot_http::json(
                axum::http::StatusCode::CONFLICT,
                &t.response(),
            ))
        }
        Err(e) => Err(e.into()),
    }
}

async fn delete(
    State(state): State<AppState>,
    mut caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    allowed(&state, &mut caller, &id, "destroy").await?;
    task::delete(&state.db, &id).await?;
    Ok(no_content())
}

/// Pulp's links to a task's profile artifacts.
#[derive(Debug, serde::Serialize, JsonSchema)]
pub struct ProfileArtifactResponse {
    pub urls: std::collections::BTreeMap<String, String>,
}

/// The task's profile artifacts (see `depot_core::tasks::diagnostics`), each a link to its
/// bytes: those who may see them download them from the API.
async fn profile_artifacts(
    State(state): State<AppState>,
    mut caller: Caller,
    Path(id): Path<String>,
    query: QueryMap,
) -> ApiResult<Response> {
    let t = allowed(&state, &mut caller, &id, "profile_artifacts").await?;
    let urls = task::profile_artifacts(&state.db, &t.id)
        .await?
        .into_iter()
        .map(|(name, ..)| {
            let url = format!("{}{}profile_artifacts/{name}/", query.origin(), t.href());
            (name, url)
        })
        .collect();
    Ok(ok(&ProfileArtifactResponse { urls }))
}

/// The bytes of one profile artifact of the task.
async fn profile_artifact(
    State(state): State<AppState>,
    mut caller: Caller,
    Path((id, name)): Path<(String, String)>,
    method: axum::http::Method,
) -> ApiResult<Response> {
    let t = allowed(&state, &mut caller, &id, "profile_artifacts").await?;
    let found = task::profile_artifacts(&state.db, &t.id).await?;
    let Some((name, key, size)) = found.into_iter().find(|(n, ..)| *n == name) else {
        return Err(CoreError::not_found("Profile artifact").into());
    };
    let text = axum::http::HeaderValue::from_static("text/csv");
    let file = format!("{name}.csv");
    Ok(depot_http::files::serve_stored(&state, &method, None, &key, size, &file, text).await?)
}

async fn read_group(
    State(state): State<AppState>,
    Detail { id, query }: Detail,
) -> ApiResult<Response> {
    let g = task::group_response(&state.db, &id).await?;
    shaped(&query, &g)
}

async fn list_groups(
    State(state): State<AppState>,
    _: Authenticated,
    query: QueryMap,
) -> ApiResult<Response> {
    let params = ListParams::from_query(&query)?;
    let mut q = ListQuery::of(&task::GROUP_TABLE);
    q.order("pulp_created", true)?;
    let (count, rows) = fetch_page(&state, &q, &params, &query, None).await?;
    let mut results = Vec::new();
    for r in rows {
        let id = task::group_id(&r)?;
        results.push(
            serde_json::to_value(task::group_response(&state.db, &id).await?).unwrap_or_default(),
        );
    }
    Ok(ok(&params.page(&query, count, results)))
}

pub fn openapi(doc: &mut ApiDoc) {
    workers::openapi(doc);
    let resp = doc.schema::<TaskResponse>();
    let page = doc.paginated::<TaskResponse>();
    let group = doc.schema::<TaskGroupResponse>();
    let group_page = doc.paginated::<TaskGroupResponse>();
    let cancel = doc.schema::<PatchedTaskCancel>();
    let purge_body = doc.schema::<Purge>();
    let task_started = doc.schema::<depot_core::models::AsyncOperationResponse>();
    let filters = openapi::list_filters(
        &[
            "state",
            "state__ne",
            "name",
            "name__contains",
            "name__icontains",
            "name__startswith",
            "logging_cid",
            "logging_cid__contains",
            "reserved_resources",
            "exclusive_resources",
            "shared_resources",
            "created_resources",
            "started_at__gte",
            "started_at__lte",
            "started_at__gt",
            "started_at__lt",
            "finished_at__gte",
            "finished_at__lte",
            "finished_at__gt",
            "finished_at__lt",
            "pulp_created__gte",
            "pulp_created__lte",
            "task_group",
            "parent_task",
            "worker",
        ],
        &[
            "state__in",
            "name__in",
            "reserved_resources__in",
            "exclusive_resources__in",
            "shared_resources__in",
            "pulp_href__in",
            "prn__in",
            "pulp_id__in",
        ],
    );
    let p = || openapi::href_param("task_href");
    doc.add(
        Op::new("get", BASE, "tasks_list", "Tasks")
            .params(filters)
            .response(200, Some(page)),
    );
    doc.add(
        Op::new("get", "{task_href}", "tasks_read", "Tasks")
            .param(p())
            .params(openapi::field_params())
            .response(200, Some(resp.clone())),
    );
    doc.add(
        Op::new("patch", "{task_href}", "tasks_cancel", "Tasks")
            .param(p())
            .body(cancel.clone(), JSON_FORM_MULTIPART)
            .response(200, Some(resp.clone()))
            .response(409, Some(resp)),
    );
    doc.add(
        Op::new("delete", "{task_href}", "tasks_delete", "Tasks")
            .param(p())
            .response(204, None),
    );
    let profiles = doc.schema::<ProfileArtifactResponse>();
    doc.add(
        Op::new(
            "get",
            "{task_href}profile_artifacts/",
            "tasks_profile_artifacts",
            "Tasks",
        )
        .summary("Fetch downloadable links for profile artifacts")
        .param(p())
        .response(200, Some(profiles)),
    );
    doc.add(
        Op::new("post", PURGE, "tasks_purge", "Tasks")
            .body(purge_body, JSON_FORM_MULTIPART)
            .response(202, Some(task_started)),
    );
    doc.add(
        Op::new("get", GROUPS, "task_groups_list", "Task-Groups")
            .params(openapi::list_params())
            .response(200, Some(group_page)),
    );
    doc.add(
        Op::new(
            "get",
            "{task_group_href}",
            "task_groups_read",
            "Task-Groups",
        )
        .param(openapi::href_param("task_group_href"))
        .params(openapi::field_params())
        .response(200, Some(group)),
    );
}
