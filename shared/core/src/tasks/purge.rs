//! Pulp's task purge: deletes the records of tasks that ended (in the states asked for) before
//! a time, in the domain in force, of those the dispatching user may delete (an admin: all).
//! Tasks that have not ended are never touched. Its progress reports are Pulp's, so that
//! scripts reading `purge.tasks.total` work unchanged.

use super::Progress;
use crate::access::Grants;
use crate::models::list::{Bind, Cmp, Filter, ListQuery};
use crate::models::task::{self, Task};
use crate::{Core, CoreError, CoreResult};

/// The states whose tasks a purge may take (Pulp's `TASK_FINAL_STATES`).
pub const FINAL_STATES: [&str; 4] = ["skipped", "completed", "failed", "canceled"];

/// How many tasks each round reads and deletes: memory stays small whatever the backlog.
const BATCH: i64 = 1000;

const TOTAL: &str = "purge.tasks.total";
const TASKS: &str = "purge.tasks.key.core.Task";
const REPORTS: &str = "purge.tasks.key.core.ProgressReport";
const ERRORS: &str = "purge.tasks.error";

/// The purge's candidates: ended before `before` in one of `states`, in the domain in force,
/// and (unless `user_id` may delete every task) dispatched by that user or granted to them
/// with `core.delete_task`.
async fn candidates(
    core: &Core,
    user_id: Option<&str>,
    before: &str,
    states: &[String],
) -> CoreResult<ListQuery> {
    let mut q = ListQuery::of(&task::TABLE);
    q.with(Filter::Cmp(
        "finished_at",
        Cmp::Lt,
        Bind::Text(before.into()),
    ))?;
    q.with(Filter::In("state", states.to_vec()))?;
    let Some(user_id) = user_id else {
        return Ok(q);
    };
    let user = crate::models::user::get(&core.db, user_id).await?;
    let grants = Grants::load(&core.db, &core.grants, &user.id, user.is_superuser).await?;
    if let Some(grantee) = grants.scope(&["core.delete_task"]) {
        let mine = Filter::Is("created_by", Bind::Text(user.id.clone()));
        q.with(Filter::AnyOf(vec![mine, Filter::Granted("id", grantee)]))?;
    }
    Ok(q)
}

/// Purges as the user `user_id` (`None`: no user narrows it).
pub async fn run(
    core: &Core,
    progress: &Progress,
    user_id: Option<&str>,
    before: &str,
    states: &[String],
) -> CoreResult<()> {
    if let Some(bad) = states.iter().find(|s| !FINAL_STATES.contains(&s.as_str())) {
        return Err(CoreError::invalid(format!(
            "Only tasks in final states can be purged, not '{bad}'."
        )));
    }
    let q = candidates(core, user_id, before, states).await?;
    let expected = q.count(&core.db).await?;
    progress
        .start(TOTAL, "Purged task-related-objects total", None)
        .await;
    progress
        .start(
            TASKS,
            "Purged task-objects of type core.Task",
            Some(expected),
        )
        .await;
    progress
        .start(
            REPORTS,
            "Purged task-objects of type core.ProgressReport",
            None,
        )
        .await;
    progress.start(ERRORS, "Tasks failed to purge", None).await;
    let mut purged = 0;
    loop {
        let rows = q.fetch(&core.db, Some(BATCH), 0).await?;
        if rows.is_empty() {
            break;
        }
        let found: Vec<Task> = rows.iter().map(Task::from_row).collect::<CoreResult<_>>()?;
        let ids: Vec<String> = found.iter().map(|t| t.id.clone()).collect();
        let deleted = task::delete_ended(&core.db, &ids).await?;
        let reports: i64 = found
            .iter()
            .map(|t| t.progress_reports.as_array().map_or(0, |a| a.len() as i64))
            .sum();
        purged += deleted as i64;
        progress.advance(TASKS, deleted as i64).await;
        progress.advance(REPORTS, reports).await;
        progress.advance(TOTAL, deleted as i64 + reports).await;
        // None deleted: what was found went another way meanwhile (deleted by hand).
        if deleted == 0 {
            break;
        }
    }
    progress.set_total(TASKS, purged).await;
    for code in [TASKS, REPORTS, TOTAL, ERRORS] {
        progress.complete(code).await;
    }
    Ok(())
}
