//! Task: remove content from a container repository. A removed manifest takes the tags that
//! point at it along; a recursive removal (the REST `remove/` and `remove_image/` actions) also
//! takes the blobs and listed manifests it needed that nothing left in the repository needs,
//! while a registry DELETE leaves blobs alone, as the distribution spec says. The new version
//! lacks it all, and none of it stays pending.

use std::collections::HashSet;

use depot_container::plugin::Remove;
use depot_container::{BLOB_TYPE, MANIFEST_TYPE, TAG_TYPE, store};
use depot_core::CoreResult;
use depot_core::db::Db;
use depot_core::models::repository;
use depot_core::models::version::{self, Change};
use depot_core::tasks::{TaskContext, TaskFuture, TaskRegistry};

pub fn register_tasks(reg: &mut TaskRegistry) {
    reg.register(remove);
}

fn remove(ctx: TaskContext, args: Remove) -> TaskFuture {
    Box::pin(async move {
        let db = &ctx.core.db;
        let repo = &args.repository_id;
        let latest = repository::get(db, repo).await?.latest_number;
        let mut gone: HashSet<String> = args.content_ids.iter().cloned().collect();
        if args.all {
            for t in [TAG_TYPE, MANIFEST_TYPE, BLOB_TYPE] {
                gone.extend(store::present(db, repo, latest, t).await?);
            }
        }
        let removed: Vec<String> = gone.iter().cloned().collect();
        gone.extend(store::tags_of(db, repo, &removed).await?);
        if args.recursive {
            cascade(db, repo, latest, &mut gone).await?;
        }
        let ids: Vec<String> = gone.into_iter().collect();
        store::unpend(db, repo, &ids).await?;
        if let Some(v) = version::create_next(db, repo, Change::remove(ids)).await? {
            ctx.new_version(&v).await?;
        }
        Ok(None)
    })
}

/// Adds to `gone`, as Pulp's recursive removal does: the manifests removed tags pointed at
/// (unless a remaining tag points at them), and what the removed manifests needed (the
/// manifests an index lists, blobs) unless what remains needs it. What remains is rooted in the
/// remaining tags and the remaining manifests no index lists.
async fn cascade(db: &Db, repo: &str, latest: i64, gone: &mut HashSet<String>) -> CoreResult<()> {
    let (removed_tags, kept_tags): (Vec<String>, Vec<String>) =
        store::present(db, repo, latest, TAG_TYPE)
            .await?
            .into_iter()
            .partition(|t| gone.contains(t));
    let kept_tagged = store::tagged_manifests(db, &kept_tags).await?;
    let still_tagged: HashSet<&String> = kept_tagged.iter().collect();
    for m in store::tagged_manifests(db, &removed_tags).await? {
        if !still_tagged.contains(&m) {
            gone.insert(m);
        }
    }
    let manifests = store::present(db, repo, latest, MANIFEST_TYPE).await?;
    let listed: HashSet<String> = store::listed_children(db, &manifests)
        .await?
        .into_iter()
        .collect();
    let (leaving, staying): (Vec<String>, Vec<String>) =
        manifests.into_iter().partition(|m| gone.contains(m));
    let mut roots = kept_tagged;
    roots.extend(staying.into_iter().filter(|m| !listed.contains(m)));
    let needed: HashSet<String> = store::expand(db, &roots).await?.into_iter().collect();
    for id in store::expand(db, &leaving).await? {
        if !needed.contains(&id) {
            gone.insert(id);
        }
    }
    Ok(())
}
