//! Replication (Pulp's `replicate`): a domain here mirrors the distributions of an upstream
//! Pulp. For each plugin that can ([`Replicable`]) and that the upstream has, each upstream
//! distribution that serves something gets a remote and a repository of its name here (made or
//! brought up to date at once), a sync in the replication's task group when its content may
//! have changed, and, once every sync is done, a distribution at the same base path serving the
//! repository's latest version ([`finalize`]). What the upstream no longer has is deleted, as
//! the upstream Pulp's `policy` allows.

use std::collections::HashSet;
use std::future::Future;
use std::pin::Pin;

use serde_json::{Map, Value, json};
use sqlx::Row;

use crate::download::CappedBody;
use crate::models::distribution::{self, BASE_PATHS, NewDistribution, Source};
use crate::models::remote::{self, NewRemote};
use crate::models::repository::{self, NewRepository};
use crate::models::upstream_pulp::{self, Policy, UpstreamPulp};
use crate::models::{Labels, labels_from_text, task};
use crate::plugin::{self, Kind};
use crate::tasks::args::{
    DistributionCreate, DistributionUpdate, FinalizeReplication, ReplicaDistribution, Replicate,
};
use crate::tasks::{Dispatch, TaskContext};
use crate::{Core, CoreError, CoreResult};

/// The label that marks what a replication made: the upstream Pulp's id.
pub const LABEL: &str = "UpstreamPulp";
/// The most upstream distributions one replication reads (per plugin).
pub const MAX_DISTRIBUTIONS: usize = 10_000;
/// The largest answer read from the upstream API.
const MAX_ANSWER: usize = 8 * 1024 * 1024;
/// A page of the upstream's distribution list.
const PAGE: usize = 100;

/// A plugin's part in replication: its types, how an upstream distribution becomes a remote
/// URL, and its sync.
pub struct Replicable {
    /// The upstream plugin component it needs (`file`), as `status/` lists it.
    pub component: &'static str,
    /// The upstream's list of the distributions, under its `api/v3/`.
    pub distributions: &'static str,
    pub remote: Kind,
    pub repository: Kind,
    pub distribution: Kind,
    /// The URL of the remote that mirrors an upstream distribution; `None` when it serves
    /// nothing.
    pub remote_url: for<'a> fn(&'a Upstream, &'a Value) -> BoxFuture<'a, Option<String>>,
    /// Fields the remote of an upstream distribution has besides its URL, labels and the
    /// upstream Pulp's settings (a `policy` here wins over the upstream Pulp's `remote_policy`).
    pub remote_fields: fn(&Value) -> Map<String, Value>,
    /// Fields of the repository made for a remote at `url` (besides its name and labels).
    pub repository_fields: fn(url: &str) -> Map<String, Value>,
    /// Fields the distribution takes from the upstream one, besides its name, base path and
    /// labels (`private`, `description`).
    pub distribution_fields: fn(&Value) -> Map<String, Value>,
    /// The sync of the repository from the remote (a mirror), to be dispatched.
    pub sync: fn(repository_id: String, remote_id: String) -> Dispatch,
}

/// A plugin's sync task `name` with `args`, as replication dispatches it: holding the
/// repository, sharing the remote.
pub fn sync_dispatch<A: crate::tasks::TaskArgs>(
    name: &'static str,
    args: &A,
    (repository, repository_id): (Kind, &str),
    (remote, remote_id): (Kind, &str),
) -> Dispatch {
    Dispatch::new(name, args)
        .exclusive([repository.prn(repository_id)])
        .shared([remote.prn(remote_id)])
}

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = CoreResult<T>> + Send + 'a>>;

/// The upstream Pulp's REST API, read with its connection settings.
pub struct Upstream {
    core: Core,
    remote: remote::Remote,
    /// `http://host:port`, where hrefs are.
    origin: String,
    /// The absolute URL of its `api/v3/` (in its domain, when it names one).
    api: String,
}

impl Upstream {
    pub fn new(core: &Core, server: &UpstreamPulp) -> CoreResult<Self> {
        let origin = server.base_url.trim_end_matches('/').to_string();
        let mut api = format!("{origin}/");
        for part in server.api_root.split('/').filter(|p| !p.is_empty()) {
            api.push_str(part);
            api.push('/');
        }
        if let Some(d) = &server.domain {
            api.push_str(d);
            api.push('/');
        }
        api.push_str("api/v3/");
        Ok(Self {
            core: core.clone(),
            remote: server.api_remote(&core.db)?,
            origin,
            api,
        })
    }

    /// The upstream's origin: where its relative URLs are.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// GETs `path` under the upstream's `api/v3/` as JSON.
    pub async fn get(&self, path: &str) -> CoreResult<Value> {
        self.fetch(&format!("{}{path}", self.api)).await
    }

    /// GETs an href the upstream gave (a path on its host) as JSON.
    pub async fn follow(&self, href: &str) -> CoreResult<Value> {
        if !href.starts_with('/') || href.starts_with("//") || href.contains("..") {
            return Err(self.error(format!("it named '{href}', which is not one of its hrefs")));
        }
        self.fetch(&format!("{}{href}", self.origin)).await
    }

    async fn fetch(&self, url: &str) -> CoreResult<Value> {
        let r = crate::download::get(&self.core, &self.remote, url)
            .await
            .map_err(|e| self.error(e.to_string()))?;
        let body = crate::download::read_capped(r, MAX_ANSWER)
            .await
            .map_err(|e| match e {
                CappedBody::TooLarge => self.error(format!("its answer to {url} is too large")),
                CappedBody::Broken(why) => self.error(why),
            })?;
        serde_json::from_slice(&body)
            .map_err(|e| self.error(format!("its answer to {url} is not JSON: {e}")))
    }

    fn error(&self, why: String) -> CoreError {
        CoreError::Remote(format!(
            "The upstream Pulp at {} could not be read: {why}",
            self.origin
        ))
    }

    /// Every distribution of a list (`q` applied), a page at a time, at most
    /// [`MAX_DISTRIBUTIONS`].
    async fn distributions(&self, list: &str, q: Option<&str>) -> CoreResult<Vec<Value>> {
        let mut out = Vec::new();
        loop {
            let mut url = reqwest::Url::parse(&format!("{}{list}", self.api))
                .map_err(|e| self.error(e.to_string()))?;
            url.query_pairs_mut()
                .append_pair("limit", &PAGE.to_string())
                .append_pair("offset", &out.len().to_string());
            if let Some(q) = q {
                url.query_pairs_mut().append_pair("q", q);
            }
            let page = self.fetch(url.as_str()).await?;
            let results = page
                .get("results")
                .and_then(Value::as_array)
                .ok_or_else(|| self.error(format!("its answer to {url} is not a page")))?;
            out.extend(results.iter().cloned());
            if out.len() > MAX_DISTRIBUTIONS {
                return Err(self.error(format!(
                    "it has more than {MAX_DISTRIBUTIONS} distributions to replicate"
                )));
            }
            let count = page.get("count").and_then(Value::as_u64).unwrap_or(0) as usize;
            if results.is_empty() || out.len() >= count {
                return Ok(out);
            }
        }
    }
}

/// Whether an upstream's `status/` lists plugin `component`.
fn has_plugin(status: &Value, component: &str) -> bool {
    status
        .get("versions")
        .and_then(Value::as_array)
        .is_some_and(|vs| {
            vs.iter()
                .any(|v| v.get("component").and_then(Value::as_str) == Some(component))
        })
}

/// Whether replication manages `labels`' object under `server`'s policy.
fn managed(server: &UpstreamPulp, labels: &Labels) -> bool {
    server.policy != Policy::Labeled
        || labels.get(LABEL).and_then(Value::as_str) == Some(server.id.as_str())
}

/// The labels of what replication makes from an upstream object: the object's, and the mark.
fn labels_of(server: &UpstreamPulp, upstream: &Value) -> Labels {
    let mut labels = upstream
        .get("pulp_labels")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    labels.insert(LABEL.into(), Value::String(server.id.clone()));
    labels
}

/// A row of one of the replicated tables, found by name in the domain in force.
struct Found {
    id: String,
    pulp_type: String,
    labels: Labels,
}

async fn find(core: &Core, table: &str, column: &str, value: &str) -> CoreResult<Option<Found>> {
    // `table` and `column` are this module's constants, never a client's.
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT id, pulp_type, pulp_labels FROM {table} WHERE {column} = $1 AND domain_id = $2"
    )))
    .bind(value)
    .bind(crate::domain::id().to_string())
    .fetch_optional(core.db.pool())
    .await?;
    row.map(|r| {
        Ok(Found {
            id: r.try_get(0)?,
            pulp_type: r.try_get(1)?,
            labels: labels_from_text(&r.try_get::<String, _>(2)?),
        })
    })
    .transpose()
}

/// The rows of `kind` in `table` whose names are not in `keep` and that `server` manages.
async fn missing(
    core: &Core,
    server: &UpstreamPulp,
    table: &str,
    kind: Kind,
    keep: &HashSet<String>,
) -> CoreResult<Vec<String>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT id, name, pulp_labels FROM {table} WHERE pulp_type = $1 AND domain_id = $2"
    )))
    .bind(kind.pulp_type)
    .bind(crate::domain::id().to_string())
    .fetch_all(core.db.pool())
    .await?;
    let mut out = Vec::new();
    for r in rows {
        let name: String = r.try_get(1)?;
        let labels = labels_from_text(&r.try_get::<String, _>(2)?);
        if !keep.contains(&name) && managed(server, &labels) {
            out.push(r.try_get(0)?);
        }
    }
    Ok(out)
}

/// The replicate task: reads the upstream, makes or updates the remotes and repositories,
/// dispatches the syncs, distribution changes and deletions in the task group, then
/// [`finalize`].
pub async fn run(ctx: &TaskContext, args: Replicate) -> CoreResult<()> {
    let group = ctx
        .task
        .task_group_id
        .clone()
        .ok_or_else(|| CoreError::Internal("a replication runs in a task group".into()))?;
    let done = replicate(ctx, args, &group).await;
    // Whether it got there or not, the group will have no more tasks.
    task::finish_group_dispatch(&ctx.core.db, &group).await?;
    done
}

/// What replication makes of one upstream distribution.
struct Planned {
    name: String,
    base_path: String,
    labels: Labels,
    /// The plugin's own fields ([`Replicable::distribution_fields`]).
    fields: Map<String, Value>,
    repository_id: String,
}

async fn replicate(ctx: &TaskContext, args: Replicate, group: &str) -> CoreResult<()> {
    let core = &ctx.core;
    let server = upstream_pulp::get(&core.db, &args.upstream_pulp_id).await?;
    let upstream = Upstream::new(core, &server)?;
    let status = upstream.get("status/").await?;
    let q = args.q_select.as_deref().or(server.q_select.as_deref());
    let in_group = |d: Dispatch| {
        let mut d = d.shared([server.prn()]);
        // Queued, never run inline in this task.
        d.immediate = false;
        d.task_group = Some(group.to_string());
        if let Some(user) = &ctx.task.created_by {
            d = d.requested_by(user, &ctx.task.logging_cid);
        }
        d
    };
    let mut distributions = Vec::new();
    let code = "replicate.distributions";
    ctx.progress
        .start(code, "Replicating distributions", None)
        .await;
    for r in plugin::installed().iter().filter_map(|p| p.replicable) {
        if !has_plugin(&status, r.component) {
            continue;
        }
        let mut planned = Vec::new();
        for distro in upstream.distributions(r.distributions, q).await? {
            if let Some(p) = replicate_one(ctx, &server, &upstream, r, &distro, &in_group).await? {
                planned.push(p);
            }
            ctx.progress.advance(code, 1).await;
        }
        // Before any deletion: a distribution renamed upstream is kept under its new name.
        let mut kept = HashSet::new();
        for p in &planned {
            if let Some(id) = place_distribution(ctx, &server, r, p, &in_group).await? {
                kept.insert(id);
            }
        }
        let names: HashSet<String> = planned.iter().map(|p| p.name.clone()).collect();
        // A run narrowed by its own q_select replicates a subset: it deletes nothing.
        if args.q_select.is_none() && server.policy != Policy::Nodelete {
            let tables = [
                ("distributions", r.distribution),
                ("repositories", r.repository),
                ("remotes", r.remote),
            ];
            for (table, kind) in tables {
                for id in missing(core, &server, table, kind, &names).await? {
                    if kept.contains(&id) {
                        continue;
                    }
                    let d = crate::tasks::general::delete_dispatch(kind, &id)
                        .exclusive([BASE_PATHS.to_string()]);
                    crate::tasks::dispatch(core, in_group(d)).await?;
                }
            }
        }
        distributions.extend(planned.into_iter().map(|p| ReplicaDistribution {
            pulp_type: r.distribution.pulp_type.to_string(),
            name: p.name,
            repository_id: p.repository_id,
        }));
    }
    ctx.progress.complete(code).await;
    let finalize = FinalizeReplication {
        upstream_pulp_id: server.id.clone(),
        distributions,
    };
    let mut d = Dispatch::new("pulpcore.app.tasks.replica.finalize_replication", &finalize)
        .exclusive([server.prn(), BASE_PATHS.to_string()]);
    d.task_group = Some(group.to_string());
    if let Some(user) = &ctx.task.created_by {
        d = d.requested_by(user, &ctx.task.logging_cid);
    }
    crate::tasks::dispatch(core, d).await?;
    Ok(())
}

/// Makes the distribution of `p` (serving nothing until [`finalize`]), or brings the one of
/// its name, or else of its base path, up to date: in the group's tasks, which hold the base
/// paths. Answers the id of a distribution kept.
async fn place_distribution(
    ctx: &TaskContext,
    server: &UpstreamPulp,
    r: &Replicable,
    p: &Planned,
    in_group: &impl Fn(Dispatch) -> Dispatch,
) -> CoreResult<Option<String>> {
    let core = &ctx.core;
    let existing = match find(core, "distributions", "name", &p.name).await? {
        Some(f) => Some(f),
        // Renamed upstream: the one at its base path takes the new name.
        None => find(core, "distributions", "base_path", &p.base_path).await?,
    };
    match existing {
        Some(f) if f.pulp_type != r.distribution.pulp_type || !managed(server, &f.labels) => {
            Ok(None)
        }
        Some(f) => {
            let d = distribution::get(&core.db, &f.id).await?;
            let mut changes = Map::new();
            if d.name != p.name {
                changes.insert("name".into(), json!(p.name));
            }
            if d.base_path != p.base_path {
                changes.insert("base_path".into(), json!(p.base_path));
            }
            if d.pulp_labels != p.labels {
                changes.insert("pulp_labels".into(), Value::Object(p.labels.clone()));
            }
            let now = |k: &str| match k {
                "private" => json!(d.private),
                "description" => json!(d.description),
                _ => Value::Null,
            };
            for (k, v) in &p.fields {
                if &now(k) != v {
                    changes.insert(k.clone(), v.clone());
                }
            }
            if !changes.is_empty() {
                let args = DistributionUpdate {
                    id: f.id.clone(),
                    changes,
                    source: None,
                };
                let d = Dispatch::new("pulpcore.app.tasks.base.general_update", &args)
                    .exclusive([BASE_PATHS.to_string(), r.distribution.prn(&f.id)]);
                crate::tasks::dispatch(core, in_group(d)).await?;
            }
            Ok(Some(f.id))
        }
        None => {
            let args = DistributionCreate(NewDistribution {
                pulp_type: r.distribution.pulp_type.to_string(),
                name: p.name.clone(),
                base_path: p.base_path.clone(),
                pulp_labels: p.labels.clone(),
                hidden: false,
                source: Source::default(),
                checkpoint: false,
                private: p
                    .fields
                    .get("private")
                    .and_then(Value::as_bool)
                    .unwrap_or(false),
                description: p
                    .fields
                    .get("description")
                    .and_then(Value::as_str)
                    .map(str::to_string),
                remote_id: None,
                pull_through_id: None,
                allow_uploads: true,
                content_guard: crate::models::domain::default_guard(&core.db).await?,
            });
            let d = Dispatch::new("pulpcore.app.tasks.base.general_create", &args)
                .exclusive([BASE_PATHS.to_string()]);
            crate::tasks::dispatch(core, in_group(d)).await?;
            Ok(None)
        }
    }
}

/// One upstream distribution: its remote and repository here, made or updated, and its sync
/// dispatched when needed. `None` when it serves nothing or is not replication's to manage.
async fn replicate_one(
    ctx: &TaskContext,
    server: &UpstreamPulp,
    upstream: &Upstream,
    r: &Replicable,
    distro: &Value,
    in_group: &impl Fn(Dispatch) -> Dispatch,
) -> CoreResult<Option<Planned>> {
    let core = &ctx.core;
    let text = |k: &str| distro.get(k).and_then(Value::as_str).map(str::to_string);
    let (Some(name), Some(base_path)) = (text("name"), text("base_path")) else {
        return Err(upstream.error("a distribution of it has no name or base_path".into()));
    };
    // What the upstream sends is checked as a client's input would be; what does not pass is
    // left out, said in the log, rather than failing the whole replication.
    let labels = labels_of(server, distro);
    let fit = name.len() <= upstream_pulp::MAX_NAME
        && !name.trim().is_empty()
        && distribution::validate_base_path(&base_path).is_ok()
        && crate::labels::validate(&Value::Object(labels.clone())).is_ok();
    if !fit {
        tracing::warn!(
            upstream = %upstream.origin(),
            "the upstream distribution {:?} at {:?} has a name, base path or labels this \
             server does not take: not replicated",
            name.chars().take(100).collect::<String>(),
            base_path.chars().take(100).collect::<String>(),
        );
        return Ok(None);
    }
    if ["repository", "repository_version", "publication"]
        .iter()
        .all(|k| text(k).is_none())
    {
        return Ok(None);
    }
    let Some(mut url) = (r.remote_url)(upstream, distro).await? else {
        return Ok(None);
    };
    if url.starts_with('/') {
        url = format!("{}{url}", upstream.origin());
    }
    if remote::validate_url(&url).is_err() {
        tracing::warn!(upstream = %upstream.origin(), "{name}: no usable URL; not replicated");
        return Ok(None);
    }
    let mut settings = server.remote_settings(&core.db)?;
    if let Some(p) = server.remote_policy {
        settings.insert("policy".into(), json!(p.as_str()));
    }
    settings.extend((r.remote_fields)(distro));

    let remote_id = match find(core, "remotes", "name", &name).await? {
        Some(f) if f.pulp_type != r.remote.pulp_type || !managed(server, &f.labels) => {
            return Ok(None);
        }
        Some(f) => {
            settings.insert("url".into(), Value::String(url.clone()));
            settings.insert("pulp_labels".into(), Value::Object(labels.clone()));
            remote::update(&core.db, &f.id, settings).await?;
            f.id
        }
        None => {
            settings.retain(|_, v| !v.is_null());
            let policy = settings
                .remove("policy")
                .and_then(|p| p.as_str().and_then(remote::Policy::parse))
                .unwrap_or(remote::Policy::Immediate);
            let made = remote::create(
                &core.db,
                NewRemote {
                    pulp_type: r.remote.pulp_type,
                    name: name.clone(),
                    url: url.clone(),
                    policy,
                    pulp_labels: labels.clone(),
                    settings,
                },
            )
            .await?;
            ctx.made(r.remote, &made.id).await?;
            made.id
        }
    };

    let mut fields = (r.repository_fields)(&url);
    let repository_id = match find(core, "repositories", "name", &name).await? {
        Some(f) if f.pulp_type != r.repository.pulp_type || !managed(server, &f.labels) => {
            return Ok(None);
        }
        Some(f) => {
            fields.insert("pulp_labels".into(), Value::Object(labels.clone()));
            repository::update(&core.db, &f.id, fields).await?;
            f.id
        }
        None => {
            let text = |k: &str| fields.get(k).and_then(Value::as_str).map(str::to_string);
            let made = repository::create(
                &core.db,
                NewRepository {
                    pulp_type: r.repository.pulp_type,
                    name: name.clone(),
                    description: None,
                    pulp_labels: labels.clone(),
                    retain_repo_versions: None,
                    retain_checkpoints: None,
                    remote_id: None,
                    autopublish: fields
                        .get("autopublish")
                        .and_then(Value::as_bool)
                        .unwrap_or(false),
                    manifest: text("manifest"),
                },
            )
            .await?;
            ctx.made(r.repository, &made.id).await?;
            made.id
        }
    };

    if needs_sync(server, distro) {
        let d = (r.sync)(repository_id.clone(), remote_id);
        crate::tasks::dispatch(core, in_group(d)).await?;
    }
    Ok(Some(Planned {
        name,
        base_path,
        labels,
        fields: (r.distribution_fields)(distro),
        repository_id,
    }))
}

/// Whether the upstream distribution's content may have changed since the last replication
/// (Pulp's `no_content_change_since` optimisation); always after the upstream Pulp changed.
fn needs_sync(server: &UpstreamPulp, distro: &Value) -> bool {
    let parse = |t: &str| crate::time::parse(t);
    let unchanged_since = distro
        .get("no_content_change_since")
        .and_then(Value::as_str)
        .and_then(parse);
    let last = server.last_replication.as_deref().and_then(parse);
    match (unchanged_since, last, parse(&server.updated)) {
        (Some(since), Some(last), Some(updated)) => last < updated || last <= since,
        _ => true,
    }
}

/// The finalize task: fails when a task of the group did not complete (nothing is pointed at
/// half-synced repositories); otherwise points each replicated distribution at its
/// repository's latest version, and records when the replication started.
pub async fn finalize(ctx: &TaskContext, args: FinalizeReplication) -> CoreResult<()> {
    let core = &ctx.core;
    let db = &core.db;
    let server = upstream_pulp::get(db, &args.upstream_pulp_id).await?;
    let group = ctx.task.task_group_id.clone().unwrap_or_default();
    let failures = task::group_failures(db, &group, &ctx.task.id).await?;
    if !failures.is_empty() {
        return Err(CoreError::invalid(format!(
            "Replication failed. {} subtask(s) did not complete successfully:\n{}",
            failures.len(),
            failures.join("\n")
        )));
    }
    for d in args.distributions {
        let Some(f) = find(core, "distributions", "name", &d.name).await? else {
            continue;
        };
        if f.pulp_type != d.pulp_type || !managed(&server, &f.labels) {
            continue;
        }
        let repo = repository::get(db, &d.repository_id).await?;
        let version = match repo.latest_number {
            0 => None,
            n => Some(crate::models::version::get(db, &repo.id, n).await?.id),
        };
        let source = Source {
            repository_id: None,
            repository_version_id: version,
            publication_id: None,
        };
        if distribution::update(db, &f.id, Map::new(), Some(source)).await? {
            crate::models::distributed::track(core, &f.id).await?;
        }
    }
    if let Some(started) = task::group_started(db, &group).await? {
        upstream_pulp::set_last_replication(db, &server.id, &started).await?;
    }
    Ok(())
}
