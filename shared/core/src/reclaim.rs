//! Pulp's `reclaim_space`: frees the disk that the files of some repositories' content take,
//! where a remote can give the bytes again. Content that only these repositories hold (in any
//! of their versions), and that no version on the keep list holds, keeps its units; its files
//! become on-demand (the content artifact forgets its artifact), and artifacts nothing uses any
//! more are deleted with their bytes. Uploaded files (no remote) and the plugins' protected
//! types are left alone; a publication's own files (PULP_MANIFEST) are not content.

use serde::{Deserialize, Serialize};
use sqlx::{AssertSqlSafe, Row};

use crate::db::placeholders;
use crate::models::list::{Bind, bind};
use crate::models::{artifact, version};
use crate::tasks::Progress;
use crate::{Core, CoreResult};

/// Which repositories: every one of the domain (Pulp's `["*"]`), or these.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Repositories {
    All,
    Some(Vec<String>),
}

/// (content artifact id, artifact id) of the files to let go.
async fn files_to_free(
    core: &Core,
    repositories: &Repositories,
    keep: &[(String, i64)],
) -> CoreResult<Vec<(String, String)>> {
    let mut binds = vec![Bind::Text(crate::domain::id().to_string())];
    let (in_repos, not_elsewhere) = match repositories {
        Repositories::All => (
            "SELECT rc.content_id FROM repository_contents rc JOIN repositories r \
             ON r.id = rc.repository_id WHERE r.domain_id = $1"
                .to_string(),
            String::new(),
        ),
        Repositories::Some(ids) => {
            let list = placeholders(2, ids.len());
            binds.extend(ids.iter().map(|id| Bind::Text(id.clone())));
            (
                format!(
                    "SELECT rc.content_id FROM repository_contents rc WHERE rc.repository_id IN ({list})"
                ),
                format!(
                    " AND ca.content_id NOT IN (SELECT rc.content_id FROM repository_contents rc \
                     JOIN repositories r ON r.id = rc.repository_id WHERE r.domain_id = $1 \
                     AND rc.repository_id NOT IN ({list}))"
                ),
            )
        }
    };
    let mut kept = String::new();
    for (repo, n) in keep {
        let (r, v) = (binds.len() + 1, binds.len() + 2);
        binds.push(Bind::Text(repo.clone()));
        binds.push(Bind::Int(*n));
        kept.push_str(&format!(
            " AND ca.content_id NOT IN (SELECT rc.content_id FROM repository_contents rc WHERE {})",
            version::present_condition(r, v)
        ));
    }
    let protected = crate::plugin::installed()
        .iter()
        .flat_map(|p| p.reclaim_protected.iter())
        .filter_map(|t| crate::plugin::find(crate::plugin::Family::Content, t).ok())
        .collect::<Vec<_>>();
    let unprotected = match protected.is_empty() {
        true => String::new(),
        false => format!(
            " AND c.pulp_type NOT IN ({})",
            crate::plugin::sql_list(protected.into_iter())
        ),
    };
    let sql = format!(
        "SELECT ca.id, ca.artifact_id FROM content_artifacts ca JOIN contents c ON c.id = ca.content_id \
         WHERE ca.artifact_id IS NOT NULL AND c.domain_id = $1 \
         AND ca.content_id IN ({in_repos}){not_elsewhere}{kept}{unprotected} \
         AND EXISTS (SELECT 1 FROM remote_artifacts ra WHERE ra.content_artifact_id = ca.id)"
    );
    let mut q = sqlx::query(AssertSqlSafe(sql));
    for b in &binds {
        q = bind(q, b);
    }
    let rows = q.fetch_all(core.db.pool()).await?;
    rows.iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .collect()
}

/// Runs the reclaim; progress as Pulp reports it (`reclaim-space.artifact`).
pub async fn run(
    core: &Core,
    progress: &Progress,
    repositories: &Repositories,
    keep: &[(String, i64)],
) -> CoreResult<()> {
    let files = files_to_free(core, repositories, keep).await?;
    // Their next sync must not be skipped as unchanged: it is what stores the files again.
    let ids = match repositories {
        Repositories::Some(ids) => ids.clone(),
        Repositories::All => crate::models::repository::all_in_domain(&core.db)
            .await?
            .into_iter()
            .map(|r| r.id)
            .collect(),
    };
    for id in &ids {
        crate::models::repository::set_last_sync_details(&core.db, id, &serde_json::json!({}))
            .await?;
    }
    for chunk in files.chunks(500) {
        let sql = format!(
            "UPDATE content_artifacts SET artifact_id = NULL WHERE id IN ({})",
            placeholders(1, chunk.len())
        );
        let mut q = sqlx::query(AssertSqlSafe(sql));
        for (ca, _) in chunk {
            q = q.bind(ca.clone());
        }
        q.execute(core.db.pool()).await?;
    }
    let mut artifacts: Vec<String> = files.into_iter().map(|(_, a)| a).collect();
    artifacts.sort();
    artifacts.dedup();
    let code = "reclaim-space.artifact";
    progress
        .start(code, "Reclaim disk space", Some(artifacts.len() as i64))
        .await;
    for id in artifacts {
        let a = artifact::get(&core.db, &id).await?;
        // Another unit may share the artifact and keep it: then it stays.
        if artifact::delete_if_unused(&core.db, &id).await? {
            core.storage.delete(&a.file).await?;
            progress.advance(code, 1).await;
        }
    }
    progress.complete(code).await;
    Ok(())
}
