//! Who may pull and push, as pulp_container decides with token auth off: anyone pulls a
//! distribution that is not private; a private one needs the pull permission on it or on its
//! namespace; a push needs the push permission on the distribution or its namespace, and a
//! push that makes a new repository needs to add distributions to its namespace or, when the
//! namespace is new too, to add namespaces. Superusers may do everything; roles on the domain
//! count everywhere in it.

use depot_container::RegistryError;
use depot_container::namespaces;
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

    /// Holds `on_distribution` on the distribution `repo` (when there is one) or
    /// `on_namespace` on its namespace.
    async fn holds(
        &self,
        state: &AppState,
        name: &str,
        distribution_id: Option<&str>,
        (on_distribution, on_namespace): (&str, &str),
    ) -> CoreResult<bool> {
        let Some(caller) = &self.caller else {
            return Ok(false);
        };
        let grants = &caller.grants;
        if let Some(id) = distribution_id
            && grants
                .holds(&state.db, on_distribution, &Object::new(&DISTRIBUTION, id))
                .await?
        {
            return Ok(true);
        }
        match namespaces::by_name(&state.db, namespaces::of(name)).await? {
            Some(ns) => {
                grants
                    .holds(&state.db, on_namespace, &Object::new(&NAMESPACE, &ns.id))
                    .await
            }
            None => Ok(grants.model_wide(on_namespace)),
        }
    }

    /// Whether the caller may pull from `repo`.
    pub async fn may_pull(&self, state: &AppState, repo: &Repo) -> CoreResult<bool> {
        if !repo.private {
            return Ok(true);
        }
        let perms = (
            "container.pull_containerdistribution",
            "container.namespace_pull_containerdistribution",
        );
        self.holds(state, &repo.name, repo.distribution_id.as_deref(), perms)
            .await
    }

    /// The caller, when they may push to `name` (making its repository if it is new): 401
    /// without credentials, 403 without the permission.
    pub async fn pusher(&self, state: &AppState, name: &str) -> Result<User> {
        let Some(caller) = &self.caller else {
            return Err(RegistryError::Unauthorized.into());
        };
        let allowed = match store::find(&state.db, name).await? {
            Some(repo) => {
                let perms = (
                    "container.push_containerdistribution",
                    "container.namespace_push_containerdistribution",
                );
                self.holds(state, name, repo.distribution_id.as_deref(), perms)
                    .await?
            }
            None => match namespaces::by_name(&state.db, namespaces::of(name)).await? {
                Some(ns) => {
                    let add = "container.namespace_add_containerdistribution";
                    caller
                        .grants
                        .holds(&state.db, add, &Object::new(&NAMESPACE, &ns.id))
                        .await?
                }
                None => caller.grants.model_wide("container.add_containernamespace"),
            },
        };
        match allowed {
            true => Ok(caller.user.clone()),
            false => Err(RegistryError::Denied.into()),
        }
    }
}

/// What existed before a push to a name, so that what the push makes is given to its maker.
pub struct BeforePush {
    repository: bool,
    namespace: bool,
}

impl BeforePush {
    pub async fn of(state: &AppState, name: &str) -> Result<Self> {
        Ok(Self {
            repository: store::find(&state.db, name).await?.is_some(),
            namespace: namespaces::by_name(&state.db, namespaces::of(name))
                .await?
                .is_some(),
        })
    }

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
