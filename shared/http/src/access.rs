//! Role-based access for the resources that have an access policy: the signed-in [`Caller`]
//! with what their roles give them, the policy check (403), what they may see (404 for what
//! they may not, and the list filter), and the roles given to whoever creates something.
//! Endpoints without a policy yet take [`crate::Authenticated`], which admits superusers only.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use depot_core::access::{self, Check, Grants, Object, Principal, defaults};
use depot_core::hrefs::{self, Kind};
use depot_core::models::list::{Filter, Grantee};
use depot_core::plugin;
use depot_core::users::User;
use depot_core::{CoreError, CoreResult};

use crate::{ApiError, ApiResult, AppState, Fields};

/// A signed-in user of any rights, with the permissions their roles give.
pub struct Caller {
    pub user: User,
    pub grants: Grants,
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let user = crate::auth::signed_in(state, &parts.method, &parts.headers, &parts.extensions)
            .await?
            .ok_or_else(|| {
                CoreError::Unauthenticated("Authentication credentials were not provided.".into())
            })?;
        Ok(Caller::of(state, user).await?)
    }
}

impl Caller {
    pub async fn of(state: &AppState, user: User) -> CoreResult<Self> {
        let grants = Grants::load(&state.db, &state.grants, &user.id, user.is_superuser).await?;
        Ok(Self { user, grants })
    }

    /// Checks `check` against the policy of `viewset`: 403 when it does not allow it. A
    /// viewset without a policy admits superusers only.
    pub async fn authorize(
        &self,
        state: &AppState,
        viewset: &str,
        check: Check<'_>,
    ) -> ApiResult<()> {
        let allowed = match state.policies.get(&state.db, viewset).await? {
            Some(policy) => {
                // Read only for a policy that names groups as principals (the defaults do not).
                let groups = match access::policy::names_groups(&policy) {
                    true => depot_core::models::group::names_of(&state.db, &self.user.id).await?,
                    false => Vec::new(),
                };
                let who = Principal {
                    username: &self.user.username,
                    is_superuser: self.user.is_superuser,
                    groups: &groups,
                };
                access::policy::allows(&state.db, &policy, &who, &self.grants, &check).await?
            }
            None => self.user.is_superuser,
        };
        match allowed {
            true => Ok(()),
            false => Err(forbidden().into()),
        }
    }

    /// Whether the caller may see `object` (holds its type's view permission, model-wide or
    /// on it); what they may not see is not found.
    pub async fn sees(&self, state: &AppState, object: &Object) -> CoreResult<bool> {
        let view = defaults::perm(object.kind, "view");
        self.grants.holds(&state.db, &view, object).await
    }

    /// Not found unless the caller may see `object`.
    pub async fn must_see(&self, state: &AppState, object: &Object, model: &str) -> ApiResult<()> {
        match self.sees(state, object).await? {
            true => Ok(()),
            false => Err(CoreError::not_found(model).into()),
        }
    }

    /// Checks `action` on the collection `base` (its path, or its viewset's name): a list, or
    /// a create with the objects the body names (`params`). Forbidden unless its policy allows.
    pub async fn may_in(
        &self,
        state: &AppState,
        base: &str,
        action: &str,
        params: Vec<(&'static str, Object)>,
    ) -> ApiResult<()> {
        let check = Check {
            action,
            params,
            ..Check::default()
        };
        self.authorize(state, viewset_of(base), check).await
    }

    /// Checks `action` on object `id` of `kind` under the policy of the collection `base`,
    /// with the objects the request body names (`params`): not found unless the caller may
    /// see the object, forbidden unless the policy allows the action.
    pub async fn may(
        &self,
        state: &AppState,
        base: &str,
        (kind, id): (Kind, &str),
        action: &str,
        params: Vec<(&'static str, Object)>,
    ) -> ApiResult<()> {
        let object = Object::new(kind, id);
        let name = kind.prn_model.split_once('.').map_or("", |(_, m)| m);
        self.must_see(state, &object, name).await?;
        let check = Check {
            action,
            object: Some(object),
            params,
            ..Check::default()
        };
        self.authorize(state, viewset_of(base), check).await
    }

    /// Whether the policy of `kind`'s viewset scopes its lists (Pulp's `queryset_scoping`;
    /// a policy that sets it blank shows every row to whoever may list).
    async fn scoped(&self, state: &AppState, kind: Kind) -> CoreResult<bool> {
        let policy = state
            .policies
            .get(&state.db, defaults::viewset(kind))
            .await?;
        Ok(policy.is_none_or(|p| {
            p.queryset_scoping
                .as_ref()
                .is_some_and(|s| s.as_object().is_some_and(|o| !o.is_empty()))
        }))
    }

    /// The filter a list of `kind` needs: `None` when the caller sees every row.
    pub async fn scope(&self, state: &AppState, kind: Kind) -> CoreResult<Option<Grantee>> {
        if !self.scoped(state, kind).await? {
            return Ok(None);
        }
        Ok(self.grants.scope(&[&defaults::perm(kind, "view")]))
    }

    /// The filter a list of content of `kind` needs: all of it with its view permission
    /// model-wide; what is in any repository with a repository type's view permission
    /// model-wide; else what is in the repositories they may see. `None`: no filter.
    pub async fn content_scope(&self, state: &AppState, kind: Kind) -> CoreResult<Option<Filter>> {
        if self.grants.model_wide(&defaults::perm(kind, "view"))
            || !self.scoped(state, kind).await?
        {
            return Ok(None);
        }
        let views: Vec<String> = plugin::of_family(plugin::Family::Repository)
            .filter(|k| k.prn_model.split('.').next() == kind.prn_model.split('.').next())
            .map(|k| defaults::perm(k, "view"))
            .collect();
        let views: Vec<&str> = views.iter().map(String::as_str).collect();
        Ok(Some(match self.grants.scope(&views) {
            None => Filter::InSomeRepository("id"),
            Some(grantee) => Filter::GrantedContent("id", grantee),
        }))
    }

    /// Gives the caller the roles the creation hooks of `object`'s type name for it.
    pub async fn created(&self, state: &AppState, object: &Object) -> CoreResult<()> {
        access::on_created(state, &self.user.id, object).await
    }
}

pub fn forbidden() -> CoreError {
    CoreError::Forbidden("You do not have permission to perform this action.".into())
}

/// The viewset a collection path names (`/pulp/api/v3/repositories/file/file/` ->
/// `repositories/file/file`).
pub fn viewset_of(base: &str) -> &str {
    base.strip_prefix(hrefs::API_ROOT)
        .unwrap_or(base)
        .trim_end_matches('/')
}

/// The objects a request body names that policies check (`remote`, `repository`,
/// `publication`, `upload`; a `repository_version` counts as its repository). A reference
/// that names nothing known is left to the body's own checks (400).
pub fn params(fields: &Fields) -> Vec<(&'static str, Object)> {
    let mut out = Vec::new();
    for name in ["remote", "repository", "publication", "upload"] {
        if let Some(r) = fields.text(name)
            && let Some(o) = object_of(r)
        {
            out.push((name, o));
        }
    }
    if !out.iter().any(|(n, _)| *n == "repository")
        && let Some(href) = fields.text("repository_version")
        && let Some(o) = version_repository(href)
    {
        out.push(("repository", o));
    }
    out
}

/// The object an href or PRN names, of any type with rows.
pub fn object_of(reference: &str) -> Option<Object> {
    plugin::resource_types()
        .filter(|k| !k.table().is_empty())
        .find_map(|k| k.parse_ref(reference).map(|id| Object::new(k, id)))
}

/// The repository of a repository version href.
pub fn version_repository(href: &str) -> Option<Object> {
    let (id, _) = hrefs::parse_version_href(href)?;
    plugin::of_family(plugin::Family::Repository)
        .find(|k| href.starts_with(&k.href(&id)))
        .map(|k| Object::new(k, id))
}
