//! Who may pull and push, as pulp_container decides with token auth off: anyone pulls a
//! distribution that is not private; a private one needs the pull permission on it or on its
//! namespace; a push needs the push permission on the distribution or its namespace, and a
//! push that makes a new repository needs to add distributions to its namespace or, when the
//! namespace is new too, to add namespaces. Superusers may do everything; roles on the domain
//! count everywhere in it.

use depot_container::RegistryError;
use depot_container::namespaces::{self, Namespace};
use depot_container::plugin::{DISTRIBUTION, NAMESPACE};
use depot_container::store::{self, Repo};
use depot_core::CoreResult;
use depot_core::access::Object;
use depot_core::models::role_assignment::{self, Holder};
use depot_core::users::User;
use depot_http::{AppState, Caller};

use crate::Result;

/// The caller of a registry request, with what they hold.
pub struct Asker {
    caller: Option<Caller>,
}

impl Asker {
    pub async fn of(state: &AppState, user: Option<User>) -> CoreResult<Self> {
        let caller = match user {
            Some(u) => Some(Caller::of(state, u).await?),
            None => None,
        };
        Ok(Self { caller })
    }

    pub fn user(&self) -> Option<&User> {
        self.caller.as_ref().map(|c| &c.user)
    }

    /// Whether the caller may pull from `repo`.
    pub async fn may_pull(&self, state: &AppState, repo: &Repo) -> CoreResult<bool> {
        if !repo.private {
            return Ok(true);
        }
        let Some(caller) = &self.caller else {
            return Ok(false);
        };
        if on_distribution(state, caller, repo, "container.pull_containerdistribution").await? {
            return Ok(true);
        }
        let ns = namespaces::by_name(&state.db, namespaces::of(&repo.name)).await?;
        let pull = "container.namespace_pull_containerdistribution";
        on_namespace(state, caller, ns.as_ref(), pull).await
    }

    /// The caller, when they may push to `name` (making its repository if it is new), with
    /// what existed before the push: 401 without credentials, 403 without the permission.
    pub async fn pusher(&self, state: &AppState, name: &str) -> Result<(User, BeforePush)> {
        let Some(caller) = &self.caller else {
            return Err(RegistryError::Unauthorized.into());
        };
        let repo = store::find(&state.db, name).await?;
        let ns = namespaces::by_name(&state.db, namespaces::of(name)).await?;
        let allowed = match &repo {
            Some(repo) => {
                let push = "container.push_containerdistribution";
                let ns_push = "container.namespace_push_containerdistribution";
                on_distribution(state, caller, repo, push).await?
                    || on_namespace(state, caller, ns.as_ref(), ns_push).await?
            }
            None if ns.is_some() => {
                let add = "container.namespace_add_containerdistribution";
                on_namespace(state, caller, ns.as_ref(), add).await?
            }
            None => caller.grants.model_wide("container.add_containernamespace"),
        };
        if !allowed {
            return Err(RegistryError::Denied.into());
        }
        let before = BeforePush {
            repository: repo.is_some(),
            namespace: ns.is_some(),
        };
        Ok((caller.user.clone(), before))
    }
}

/// Holds `permission` on the distribution of `repo`.
async fn on_distribution(
    state: &AppState,
    caller: &Caller,
    repo: &Repo,
    permission: &str,
) -> CoreResult<bool> {
    match &repo.distribution_id {
        Some(id) => {
            let object = Object::new(&DISTRIBUTION, id);
            caller.grants.holds(&state.db, permission, &object).await
        }
        None => Ok(false),
    }
}

/// Holds `permission` on namespace `ns`, or model-wide when there is none yet.
async fn on_namespace(
    state: &AppState,
    caller: &Caller,
    ns: Option<&Namespace>,
    permission: &str,
) -> CoreResult<bool> {
    match ns {
        Some(ns) => {
            let object = Object::new(&NAMESPACE, &ns.id);
            caller.grants.holds(&state.db, permission, &object).await
        }
        None => Ok(caller.grants.model_wide(permission)),
    }
}

/// What existed before a push to a name, so that what the push makes is given to its maker.
pub struct BeforePush {
    repository: bool,
    namespace: bool,
}

impl BeforePush {
    /// After the push: a repository it made is its maker's (they own the distribution, and
    /// the namespace when it is new), as pulp_container's creation hooks have it.
    pub async fn settle(self, state: &AppState, user: &User, name: &str) -> Result<()> {
        if self.repository {
            return Ok(());
        }
        let Some(repo) = store::find(&state.db, name).await? else {
            return Ok(());
        };
        let holder = Holder::User(user.id.clone());
        if let Some(id) = &repo.distribution_id {
            let owner = "container.containerdistribution_owner";
            let object = Object::new(&DISTRIBUTION, id);
            role_assignment::give(&state.db, &holder, owner, &object).await?;
        }
        if !self.namespace
            && let Some(ns) = namespaces::by_name(&state.db, namespaces::of(name)).await?
        {
            let owner = "container.containernamespace_owner";
            let object = Object::new(&NAMESPACE, &ns.id);
            role_assignment::give(&state.db, &holder, owner, &object).await?;
        }
        state.grants.forget();
        Ok(())
    }
}
