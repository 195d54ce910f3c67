//! Alternate content sources of every type the plugins have (`acs/<plugin>/<type>/`): list,
//! create, read, update and delete (tasks, as in Pulp), and `refresh/`, which dispatches one
//! task per path of the ACS in one task group. Written once over [`AcsType`].

use std::marker::PhantomData;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::post;
use depot_core::access::Object;
use depot_core::hrefs::{self, Kind, TASK_GROUP};
use depot_core::labels::Labeled;
use depot_core::models::acs::{self, Acs, AcsResponse};
use depot_core::models::list::{Bind, Filter, Grantee, ListQuery};
use depot_core::models::remote::{self, Policy};
use depot_core::models::{AsyncOperationResponse, TaskGroupOperationResponse, task};
use depot_core::tasks::args::AcsUpdate;
use depot_core::tasks::{Dispatch, TaskContext, TaskFuture};
use depot_core::{CoreError, CoreResult};
use depot_http::crud::{self, Resource};
use depot_http::list::{fetch_page, href_filters, name_filters, scoped};
use depot_http::openapi::{self, ApiDoc, Op};
use depot_http::plugin_api::AcsType;
use depot_http::plugin_api::acs::{AcsBody, PatchedAcsBody};
use depot_http::{
    ApiResult, AppState, Caller, CorrelationId, Fields, ListParams, QueryMap, created, dispatched,
    ok,
};
use serde_json::{Map, Value};

/// The routes of ACS type `T`: the generic ones and `refresh/`.
pub fn routes<T: AcsType>() -> Router<AppState> {
    crud::routes::<AcsOf<T>>().route(&format!("{}{{id}}/refresh/", T::BASE), post(refresh::<T>))
}

/// The ACSes of type `T`, for the generic handlers.
struct AcsOf<T>(PhantomData<fn() -> T>);

impl<T: AcsType> Resource for AcsOf<T> {
    const BASE: &'static str = T::BASE;
    const KIND: Kind = T::KIND;
    const LABELED: Option<Labeled> = None;
    type Model = Acs;
    type Response = AcsResponse;
    type Create = AcsBody;
    type Patch = PatchedAcsBody;

    async fn find(state: &AppState, id: &str) -> ApiResult<Acs> {
        Ok(acs::get_of_type(&state.db, id, T::KIND).await?)
    }

    async fn show(state: &AppState, a: &Acs) -> ApiResult<AcsResponse> {
        Ok(a.response(&state.db).await?)
    }

    async fn list(state: AppState, query: QueryMap, scope: Option<Grantee>) -> ApiResult<Response> {
        let params = ListParams::from_query(&query)?;
        let mut q = ListQuery::of(&acs::TABLE);
        q.with(Filter::Is(
            "pulp_type",
            Bind::Text(T::KIND.pulp_type.into()),
        ))?;
        scoped(&mut q, scope)?;
        name_filters(&mut q, &query, "name")?;
        href_filters(&mut q, &query, T::KIND)?;
        let orderings = ["name", "pulp_created", "pulp_last_updated", "pk"];
        params.order(&mut q, &orderings, &[("name", false)])?;
        let (count, rows) = fetch_page(&state, &q, &params, &query, None).await?;
        let mut results = Vec::with_capacity(rows.len());
        // Each row's paths are one more query; a page is bounded, and ACSes are few.
        for row in &rows {
            let a = Acs::from_row(row)?.response(&state.db).await?;
            results.push(serde_json::to_value(a).unwrap_or_default());
        }
        Ok(ok(&params.page(&query, count, results)))
    }

    async fn create(
        state: AppState,
        caller: Caller,
        _: CorrelationId,
        fields: Fields,
    ) -> ApiResult<Response> {
        let (body, _) = fields.parse_full::<AcsBody>()?;
        let name = CoreError::check_name(&body.name)?;
        let remote_id = checked_remote::<T>(&state, &body.remote).await?;
        let paths = body.paths.unwrap_or_default();
        acs::validate_paths(&paths)?;
        let a = acs::create(&state.db, T::KIND, name, &remote_id, &paths).await?;
        caller.created(&state, &Object::new(T::KIND, &a.id)).await?;
        Ok(created(&a.response(&state.db).await?))
    }

    async fn update(
        state: AppState,
        caller: Caller,
        cid: CorrelationId,
        id: String,
        changes: Map<String, Value>,
    ) -> ApiResult<Response> {
        let text = |f: &str| changes.get(f).and_then(Value::as_str);
        let name = text("name").map(CoreError::check_name).transpose()?;
        let remote_id = match text("remote") {
            Some(r) => Some(checked_remote::<T>(&state, r).await?),
            None => None,
        };
        let paths = match changes.get("paths") {
            Some(Value::Array(list)) => {
                let paths: Vec<String> = list
                    .iter()
                    .map(|p| p.as_str().unwrap_or_default().to_string())
                    .collect();
                acs::validate_paths(&paths)?;
                Some(paths)
            }
            _ => None,
        };
        let args = AcsUpdate {
            id: id.clone(),
            name: name.map(str::to_string),
            remote_id,
            paths,
        };
        let d = Dispatch::new("pulpcore.app.tasks.base.general_update", &args)
            .exclusive(vec![T::KIND.prn(&id)])
            .immediate()
            .requested_by(&caller.user.id, &cid.0);
        dispatched(&state, d).await
    }
}

/// The id of the remote `reference` names: one of the ACS type's remote type, in this domain,
/// with the `on_demand` policy, as Pulp requires.
async fn checked_remote<T: AcsType>(state: &AppState, reference: &str) -> CoreResult<String> {
    let id = hrefs::resolve(T::REMOTE, "remote", reference)?;
    let r = remote::get_of_type(&state.db, &id, T::REMOTE.pulp_type)
        .await
        .map_err(|_| hrefs::missing("remote", reference))?;
    if r.policy != Policy::OnDemand {
        return Err(CoreError::field(
            "remote",
            "Remote used with alternate content source must have the 'on_demand' policy.",
        ));
    }
    Ok(id)
}

/// `refresh/`: one task per path, each reading what its path offers, in one task group.
async fn refresh<T: AcsType>(
    State(state): State<AppState>,
    caller: Caller,
    cid: CorrelationId,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let a = acs::get_of_type(&state.db, &id, T::KIND).await?;
    caller
        .may(&state, T::BASE, (T::KIND, &id), "refresh", vec![])
        .await?;
    let paths = acs::paths(&state.db, &id).await?;
    let description = format!("Refreshing {} alternate content source paths.", paths.len());
    let group = task::create_group(&state.db, &description).await?;
    for p in &paths {
        let mut d = T::refresh(&id, &p.id)
            .shared([T::REMOTE.prn(&a.remote_id), T::KIND.prn(&id)])
            .requested_by(&caller.user.id, &cid.0);
        d.task_group = Some(group.clone());
        depot_core::tasks::dispatch(&state, d).await?;
    }
    task::finish_group_dispatch(&state.db, &group).await?;
    let body = TaskGroupOperationResponse {
        task_group: TASK_GROUP.href(&group),
    };
    Ok(depot_http::json(StatusCode::ACCEPTED, &body))
}

/// The `acs.update` task: applies a checked update.
pub fn run_update(ctx: TaskContext, args: AcsUpdate) -> TaskFuture {
    Box::pin(async move {
        let a = acs::update(
            &ctx.core.db,
            &args.id,
            args.name.as_deref(),
            args.remote_id.as_deref(),
            args.paths.as_deref(),
        )
        .await?;
        Ok(Some(
            serde_json::to_value(a.response(&ctx.core.db).await?).unwrap_or_default(),
        ))
    })
}

/// The OpenAPI operations of ACS type `T`.
pub fn openapi<T: AcsType>(doc: &mut ApiDoc) {
    let resp = doc.schema::<AcsResponse>();
    let async_op = doc.schema::<AsyncOperationResponse>();
    let group_op = doc.schema::<TaskGroupOperationResponse>();
    let crud = openapi::Crud {
        base: T::BASE,
        href_param: T::HREF_PARAM,
        prefix: T::PREFIX,
        tag: T::TAG,
        filters: openapi::list_filters(
            &[
                "name",
                "name__contains",
                "name__icontains",
                "name__startswith",
                "name__iexact",
            ],
            &["name__in", "pulp_href__in", "prn__in", "pulp_id__in"],
        ),
        page: doc.paginated::<AcsResponse>(),
        request: doc.schema::<AcsBody>(),
        patched: doc.schema::<PatchedAcsBody>(),
        create: Some((201, resp.clone())),
        response: resp,
        delete: true,
        async_op: Some(async_op),
    };
    openapi::add_crud(doc, crud);
    doc.add(
        Op::new(
            "post",
            format!("{{{}}}refresh/", T::HREF_PARAM),
            format!("{}_refresh", T::PREFIX),
            T::TAG,
        )
        .summary("Refresh metadata")
        .param(openapi::href_param(T::HREF_PARAM))
        .response(202, Some(group_op)),
    );
    depot_http::object_roles::openapi(doc, T::HREF_PARAM, T::PREFIX, T::TAG);
}
