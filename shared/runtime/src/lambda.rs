//! The Lambda host: one handler takes every event the function's triggers send and answers in
//! the shape Lambda expects for it.

use std::convert::Infallible;

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use axum::Router;
use depot_core::Core;
use depot_core::tasks;
use depot_queue::TaskMessage;
use lambda_http::request::{LambdaRequest, RequestContext};
use lambda_http::tower::ServiceExt;
use lambda_http::{Adapter, RequestExt, Service};
use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::value::RawValue;
use serde_json::{Value, json};

use crate::events::{Event, strip_stage};
use crate::{Function, Kind, migrate_now};

pub async fn run(function: &Function, core: Core) -> Result<(), Error> {
    let app = function.router.map(|r| depot_http::app(r(), core.clone()));
    if core.settings.lambda_response_stream {
        // Behind a Function URL in RESPONSE_STREAM mode: bodies are streamed (up to 200 MB),
        // not buffered (6 MB). Such a function takes HTTP events only.
        let Some(app) = app else {
            return Err(format!(
                "{} serves no HTTP routes, so DEPOT_LAMBDA_RESPONSE_STREAM does not apply",
                function.name
            )
            .into());
        };
        return lambda_http::run_with_streaming_response(service_fn(move |req| {
            serve_http(app.clone(), req)
        }))
        .await;
    }
    let (name, kind) = (function.name, function.kind);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Box<RawValue>>| {
        let (core, app) = (core.clone(), app.clone());
        async move { handle(name, kind, &core, app, event).await }
    }))
    .await
}

async fn handle(
    name: &'static str,
    kind: Kind,
    core: &Core,
    app: Option<Router>,
    event: LambdaEvent<Box<RawValue>>,
) -> Result<Value, Error> {
    let LambdaEvent { payload, context } = event;
    match Event::of(payload.get()) {
        Event::Sqs => {
            let batch: SqsEvent = serde_json::from_str(payload.get())?;
            let worker = format!("{name}@{}", context.env_config.log_stream);
            Ok(serde_json::to_value(
                run_batch(core, kind, &worker, batch).await,
            )?)
        }
        Event::Scheduled if kind == Kind::Sweeper => {
            let failed = tasks::sweep(core).await?;
            Ok(json!({ "failed_tasks": failed }))
        }
        Event::Http => {
            let Some(app) = app else {
                return Err(format!("{name} serves no HTTP routes").into());
            };
            let request: LambdaRequest = serde_json::from_str(payload.get())?;
            // lambda_http's own adapter turns the event into a request and the response into
            // the answer for the event's origin (API Gateway v1/v2, Function URL, ALB).
            let mut adapter = Adapter::from(service_fn(move |req| serve_http(app.clone(), req)));
            let response = adapter.call(LambdaEvent::new(request, context)).await?;
            Ok(serde_json::to_value(response)?)
        }
        Event::Other if kind == Kind::Migrate => {
            let password = migrate_now(core).await?;
            Ok(json!({ "migrated": true, "admin_password": password }))
        }
        Event::Scheduled | Event::Other => {
            Err(format!("{name} does not take this kind of event").into())
        }
    }
}

/// Runs one HTTP request through the routes, with the API Gateway stage taken off the path.
async fn serve_http(
    app: Router,
    req: lambda_http::Request,
) -> Result<axum::response::Response, Infallible> {
    let (stage, source_ip) = match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV1(c)) => (c.stage.clone(), c.identity.source_ip.clone()),
        Some(RequestContext::ApiGatewayV2(c)) => (c.stage.clone(), c.http.source_ip.clone()),
        _ => (None, None),
    };
    let (mut parts, body) = req.into_parts();
    if let Some(path) = strip_stage(parts.uri.path(), stage.as_deref()) {
        let path_and_query = match parts.uri.query() {
            Some(q) => format!("{path}?{q}"),
            None => path,
        };
        let mut uri = parts.uri.clone().into_parts();
        if let Ok(pq) = path_and_query.parse() {
            uri.path_and_query = Some(pq);
            if let Ok(u) = axum::http::Uri::from_parts(uri) {
                parts.uri = u;
            }
        }
    }
    // The client's address, as the HTTP server gives it (failed sign-ins are counted by it).
    if let Some(ip) = source_ip.and_then(|ip| ip.parse::<std::net::IpAddr>().ok()) {
        parts
            .extensions
            .insert(axum::extract::ConnectInfo(std::net::SocketAddr::new(ip, 0)));
    }
    let req = axum::http::Request::from_parts(parts, axum::body::Body::new(body));
    app.oneshot(req).await
}

/// Handles the batch's records side by side: tasks, or object storage notifications for the
/// scan function. A record that could not be handled (an unreadable message, the database or
/// clamd unreachable) is reported so that SQS delivers it again, and after `maxReceiveCount`
/// moves it to the dead-letter queue. A task that ran and failed is done: its failure is
/// recorded on the task.
/// The execution environment is the worker `worker` of `workers/`: recorded (a heartbeat) at
/// each batch, since a frozen environment beats no heart between them.
pub async fn run_batch(core: &Core, kind: Kind, worker: &str, batch: SqsEvent) -> SqsBatchResponse {
    let worker_id = match kind {
        Kind::Scan => Ok(String::new()),
        _ => depot_core::models::worker::register(&core.db, worker)
            .await
            .map_err(|e| format!("cannot record the worker: {e}")),
    };
    let worker_id = &worker_id;
    let outcomes = futures_util::future::join_all(batch.records.iter().map(|m| async move {
        let outcome = match worker_id {
            Ok(id) => run_record(core, kind, id, m).await,
            Err(e) => Err(e.clone()),
        };
        (m.message_id.clone().unwrap_or_default(), outcome)
    }))
    .await;
    let mut response = SqsBatchResponse::default();
    for (id, outcome) in outcomes {
        if let Err(e) = outcome {
            tracing::warn!(message = %id, "queue message not processed: {e}");
            response.add_failure(id);
        }
    }
    response
}

async fn run_record(core: &Core, kind: Kind, worker: &str, m: &SqsMessage) -> Result<(), String> {
    let body = m.body.as_deref().ok_or("the message has no body")?;
    if kind == Kind::Scan {
        return depot_core::scan::on_notification(core, body)
            .await
            .map(|_| ())
            .map_err(|e| e.to_string());
    }
    let message: TaskMessage =
        serde_json::from_str(body).map_err(|e| format!("not a task message: {e}"))?;
    tasks::run_task(core, &message.task_id, Some(worker))
        .await
        .map_err(|e| e.to_string())
}
