//! Tasks that turn uploaded bytes into content: committing a chunked upload into an artifact,
//! and creating file content or python packages from an artifact, upload or URL (optionally
//! adding it to a repository).

use depot_core::artifacts::{Expected, from_upload, ingest};
use depot_core::download;
use depot_core::hrefs::Kind;
use depot_core::models::remote::Remote;
use depot_core::models::version::{self, Change, Removal};
use depot_core::models::{Labels, artifact, content};
use depot_core::tasks::{
    COMMIT_HANDLER, CONTENT_CREATE_HANDLER, TaskContext, TaskFuture, TaskRegistry,
};
use serde::Deserialize;

pub fn register_tasks(reg: &mut TaskRegistry) {
    reg.register(COMMIT_HANDLER, commit);
    reg.register(CONTENT_CREATE_HANDLER, create_content);
}

fn commit(ctx: TaskContext) -> TaskFuture {
    Box::pin(async move {
        #[derive(Deserialize)]
        struct Args {
            upload_id: String,
            sha256: Option<String>,
        }
        let args: Args = ctx.args()?;
        let a = from_upload(&ctx.core, &args.upload_id, args.sha256.as_deref()).await?;
        ctx.created(a.href());
        Ok(Some(serde_json::to_value(a.response()).unwrap_or_default()))
    })
}

/// Arguments of [`CONTENT_CREATE_HANDLER`]: exactly one of `artifact_id` and `upload_id`.
#[derive(Debug, Deserialize, serde::Serialize)]
pub struct CreateContentArgs {
    pub relative_path: String,
    pub artifact_id: Option<String>,
    pub upload_id: Option<String>,
    pub file_url: Option<String>,
    pub repository_id: Option<String>,
    #[serde(default)]
    pub pulp_labels: Labels,
    #[serde(default = "yes")]
    pub overwrite: bool,
    /// `file.file` (the default) or `python.python`.
    #[serde(default)]
    pub pulp_type: Option<String>,
}

fn yes() -> bool {
    true
}

fn create_content(ctx: TaskContext) -> TaskFuture {
    Box::pin(async move {
        let args: CreateContentArgs = ctx.args()?;
        let a = match (&args.artifact_id, &args.upload_id, &args.file_url) {
            (Some(id), _, _) => artifact::get(&ctx.core.db, id).await?,
            (None, Some(upload), _) => from_upload(&ctx.core, upload, None).await?,
            (None, None, Some(url)) => {
                let resp = download::get(&ctx.core, &Remote::ephemeral(url), url).await?;
                ingest(&ctx.core, download::body_stream(resp), &Expected::default()).await?
            }
            (None, None, None) => {
                return Err(depot_core::CoreError::invalid(
                    "No file, upload or artifact was given.",
                ));
            }
        };
        let python = args.pulp_type.as_deref() == Some(depot_python::PACKAGE_TYPE);
        let content_id = if python {
            let id = depot_python::ingest::artifact(&ctx.core, &a, &args.relative_path).await?;
            ctx.created(Kind::PythonPackage.href(&id));
            id
        } else {
            let c = content::get_or_create_with_artifact(
                &ctx.core.db,
                &args.relative_path,
                &a,
                &args.pulp_labels,
            )
            .await?;
            ctx.created(c.href());
            c.id
        };
        if let Some(repo) = &args.repository_id {
            let change = Change {
                base_number: None,
                remove: Removal::Some(Vec::new()),
                add: vec![content_id.clone()],
                overwrite: args.overwrite,
            };
            if let Some(v) = version::create_next(&ctx.core.db, repo, change).await? {
                ctx.created(v.href());
            }
        }
        if python {
            return Ok(None);
        }
        let c = content::get(&ctx.core.db, &content_id).await?;
        Ok(Some(serde_json::to_value(c.response()).unwrap_or_default()))
    })
}
