//! Running a list query with Pulp's common filters and pagination.

use depot_core::CoreResult;
use depot_core::hrefs::Kind;
use depot_core::labels::LabelSelect;
use depot_core::models::list::{Bind, Cmp, Filter, ListQuery, Match, Row};

use crate::{ApiResult, AppState, Caller, ListParams, QueryMap};

/// Adds `<field>`, `__iexact`, `__contains`, `__icontains`, `__startswith` and `__in` filters on
/// a text field.
pub fn name_filters(q: &mut ListQuery, query: &QueryMap, field: &'static str) -> CoreResult<()> {
    let matches = [
        ("", Match::Exact),
        ("__iexact", Match::IExact),
        ("__contains", Match::Contains),
        ("__icontains", Match::IContains),
        ("__startswith", Match::StartsWith),
    ];
    for (suffix, how) in matches {
        if let Some(v) = query.get(&format!("{field}{suffix}")) {
            q.with(Filter::Text(field, how, v.to_string()))?;
        }
    }
    let name_in = format!("{field}__in");
    if query.get(&name_in).is_some() {
        q.with(Filter::In(field, query.list(&name_in)))?;
    }
    Ok(())
}

/// The most units one `content__in` names.
const MAX_CONTENT_IN: usize = 100;

/// `content` and `content__in` on a list whose `field` is a repository version's id (versions,
/// publications): the rows whose version holds the unit (any of them), as Pulp filters them; a
/// unit that does not exist is a 400.
pub async fn version_content_filters(
    state: &AppState,
    q: &mut ListQuery,
    query: &QueryMap,
    field: &'static str,
) -> ApiResult<()> {
    let mut refs = Vec::new();
    if let Some(h) = query.get("content") {
        refs.push(("content", vec![h.to_string()]));
    }
    if query.get("content__in").is_some() {
        let list = query.list("content__in");
        if list.len() > MAX_CONTENT_IN {
            return Err(depot_core::CoreError::field(
                "content__in",
                format!("At most {MAX_CONTENT_IN} content units may be named."),
            )
            .into());
        }
        refs.push(("content__in", list));
    }
    for (param, hrefs) in refs {
        let mut any = Vec::new();
        for h in hrefs {
            let (kind, id) =
                depot_core::hrefs::resolve_family(depot_core::plugin::Family::Content, param, &h)?;
            if !depot_core::models::content::exists(&state.db, &id, kind.pulp_type).await? {
                return Err(depot_core::hrefs::missing(param, &h).into());
            }
            any.push(Filter::VersionHolds(field, id));
        }
        q.with(Filter::AnyOf(any))?;
    }
    Ok(())
}

/// The longest `__regex` pattern taken, and how large it may compile (the regex crate matches in
/// linear time, so a pattern costs at most its size times the text).
const MAX_REGEX: usize = 1000;
const REGEX_SIZE: usize = 1 << 20;

/// Adds `<field>__regex` and `<field>__iregex` (Pulp's; case-sensitive and not). The engines
/// match regular expressions differently (SQLite has none), so the pattern is matched here
/// against the field of every row in the domain, and the list keeps the ids that match.
pub async fn regex_filters(
    state: &AppState,
    q: &mut ListQuery,
    query: &QueryMap,
    table: &'static depot_core::models::list::Table,
    field: &'static str,
) -> ApiResult<()> {
    for (suffix, insensitive) in [("__regex", false), ("__iregex", true)] {
        let param = format!("{field}{suffix}");
        let Some(pattern) = query.get(&param) else {
            continue;
        };
        let bad = |why: String| depot_core::CoreError::field(&param, why);
        if pattern.len() > MAX_REGEX {
            return Err(bad(format!(
                "Ensure this value has at most {MAX_REGEX} characters."
            ))
            .into());
        }
        let re = regex::RegexBuilder::new(pattern)
            .case_insensitive(insensitive)
            .size_limit(REGEX_SIZE)
            .build()
            .map_err(|e| bad(format!("Invalid regular expression: {e}")))?;
        let ids = depot_core::models::list::values_of(&state.db, table, field)
            .await?
            .into_iter()
            .filter(|(_, v)| re.is_match(v))
            .map(|(id, _)| id)
            .collect();
        q.with(Filter::In("id", ids))?;
    }
    Ok(())
}

/// Adds `<field>`, `__gte`, `__lte`, `__gt` and `__lt` filters on an integer field.
pub fn number_filters(q: &mut ListQuery, query: &QueryMap, field: &'static str) -> ApiResult<()> {
    if let Some(n) = query.int(field)? {
        q.with(Filter::Is(field, Bind::Int(n)))?;
    }
    for (suffix, cmp) in [
        ("__gte", Cmp::Ge),
        ("__lte", Cmp::Le),
        ("__gt", Cmp::Gt),
        ("__lt", Cmp::Lt),
    ] {
        if let Some(n) = query.int(&format!("{field}{suffix}"))? {
            q.with(Filter::Cmp(field, cmp, Bind::Int(n)))?;
        }
    }
    let number = |v: &str| v.trim().parse().ok().map(Bind::Int);
    range_filter(
        q,
        query,
        field,
        number,
        ("Enter a number.", "Enter two numbers."),
    )
}

/// `<field>__range=a,b`: from a to b, both included; `parse` reads each end, `messages` say
/// what is wrong with an end and with their count.
fn range_filter(
    q: &mut ListQuery,
    query: &QueryMap,
    field: &'static str,
    parse: impl Fn(&str) -> Option<Bind>,
    (bad_end, not_two): (&str, &str),
) -> ApiResult<()> {
    let param = format!("{field}__range");
    if query.get(&param).is_none() {
        return Ok(());
    }
    let ends: Vec<Bind> = query
        .list(&param)
        .iter()
        .map(|v| parse(v))
        .collect::<Option<_>>()
        .ok_or_else(|| depot_core::CoreError::field(&param, bad_end))?;
    let [low, high] =
        <[Bind; 2]>::try_from(ends).map_err(|_| depot_core::CoreError::field(&param, not_two))?;
    q.with(Filter::Cmp(field, Cmp::Ge, low))?;
    q.with(Filter::Cmp(field, Cmp::Le, high))?;
    Ok(())
}

/// Adds time filters on `field` with each of `suffixes` (`""` for the exact time, `__gte`,
/// `__lt`, ...); the values are ISO 8601 times.
pub fn time_filters(
    q: &mut ListQuery,
    query: &QueryMap,
    field: &'static str,
    suffixes: &[&str],
) -> ApiResult<()> {
    for suffix in suffixes {
        if *suffix == "__range" {
            let time = |v: &str| depot_core::time::normalize(v).map(Bind::Text);
            let messages = ("Enter a valid date/time.", "Enter two dates/times.");
            range_filter(q, query, field, time, messages)?;
            continue;
        }
        let cmp = match *suffix {
            "" => Cmp::Eq,
            "__gte" => Cmp::Ge,
            "__lte" => Cmp::Le,
            "__gt" => Cmp::Gt,
            "__lt" => Cmp::Lt,
            _ => continue,
        };
        let param = format!("{field}{suffix}");
        if let Some(v) = query.get(&param) {
            let ts = depot_core::time::normalize(v)
                .ok_or_else(|| depot_core::CoreError::field(&param, "Enter a valid date/time."))?;
            q.with(Filter::Cmp(field, cmp, Bind::Text(ts)))?;
        }
    }
    Ok(())
}

/// Adds `pulp_href__in`, `prn__in` and `pulp_id__in` filters for resources of `kind` (on the
/// table's `id` field).
pub fn href_filters(q: &mut ListQuery, query: &QueryMap, kind: Kind) -> CoreResult<()> {
    href_filters_on(q, query, kind, "id")
}

/// The same on `field`, the row's id in a table whose `id` field is something else (users
/// and groups show an integer `id`).
pub fn href_filters_on(
    q: &mut ListQuery,
    query: &QueryMap,
    kind: Kind,
    field: &'static str,
) -> CoreResult<()> {
    checked_refs(query)?;
    if query.get("pulp_href__in").is_some() {
        let ids = query
            .list("pulp_href__in")
            .iter()
            .filter_map(|h| kind.parse(h))
            .collect();
        q.with(Filter::In(field, ids))?;
    }
    if query.get("prn__in").is_some() {
        let ids = query
            .list("prn__in")
            .iter()
            .filter_map(|h| kind.parse_ref(h))
            .collect();
        q.with(Filter::In(field, ids))?;
    }
    if query.get("pulp_id__in").is_some() {
        q.with(Filter::In(field, query.list("pulp_id__in")))?;
    }
    Ok(())
}

/// `pulp_id__in` takes UUIDs and `pulp_href__in` hrefs (of any type: one of another type
/// matches nothing), with Pulp's messages for anything else.
fn checked_refs(query: &QueryMap) -> CoreResult<()> {
    for id in query.list("pulp_id__in") {
        // The hyphenated form only (36 characters), as Pulp's filter takes it.
        if id.len() != 36 || uuid::Uuid::parse_str(&id).is_err() {
            return Err(depot_core::CoreError::field(
                "pulp_id__in",
                "Enter a valid UUID.",
            ));
        }
    }
    for href in query.list("pulp_href__in") {
        if !depot_core::plugin::resource_types().any(|k| k.parse(&href).is_some()) {
            let shown: String = href.chars().take(200).collect();
            return Err(depot_core::CoreError::field(
                "pulp_href__in",
                format!("URI not valid: {shown}"),
            ));
        }
    }
    Ok(())
}

/// Keeps only the rows the caller may see, when `scope` says they may not see all.
pub fn scoped(
    q: &mut ListQuery,
    scope: Option<depot_core::models::list::Grantee>,
) -> CoreResult<()> {
    scoped_on(q, scope, "id")
}

/// The same on `field`, the row's id (see [`href_filters_on`]).
pub fn scoped_on(
    q: &mut ListQuery,
    scope: Option<depot_core::models::list::Grantee>,
    field: &'static str,
) -> CoreResult<()> {
    if let Some(grantee) = scope {
        q.with(Filter::Granted(field, grantee))?;
    }
    Ok(())
}

/// Runs the query: the total count and one page of rows. With `pulp_label_select`, labels are
/// matched on `labels_column` (the field of the table's labels).
pub async fn fetch_page(
    state: &AppState,
    q: &ListQuery,
    params: &ListParams,
    query: &QueryMap,
    labels_column: Option<&'static str>,
) -> ApiResult<(i64, Vec<Row>)> {
    let selected;
    let q = match (query.get("pulp_label_select"), labels_column) {
        (Some(expr), Some(col)) => {
            let mut narrowed = q.clone();
            narrowed.with(Filter::Labels(col, LabelSelect::parse(expr)?))?;
            selected = narrowed;
            &selected
        }
        _ => q,
    };
    Ok(q.page(&state.db, params.limit, params.offset).await?)
}

/// Runs `q` and answers one page of it, each row shown through `show`.
pub async fn page_response<R: serde::Serialize>(
    state: &AppState,
    q: &ListQuery,
    params: &ListParams,
    query: &QueryMap,
    labels_column: Option<&'static str>,
    show: impl Fn(&Row) -> depot_core::CoreResult<R>,
) -> ApiResult<axum::response::Response> {
    let (count, rows) = fetch_page(state, q, params, query, labels_column).await?;
    let results = to_values(&rows, show)?;
    Ok(crate::ok(&params.page(query, count, results)))
}

/// Serializes each row through `f`.
fn to_values<R: serde::Serialize>(
    rows: &[Row],
    f: impl Fn(&Row) -> depot_core::CoreResult<R>,
) -> depot_core::CoreResult<Vec<serde_json::Value>> {
    rows.iter()
        .map(|r| f(r).map(|v| serde_json::to_value(v).unwrap_or_default()))
        .collect()
}

/// The rows of a generic list (Pulp's `repositories/`, `remotes/`, `distributions/`, ...) the
/// caller may see: per type of `family`, all of it or what their roles give them on its objects.
pub async fn family_scope(
    state: &AppState,
    caller: &Caller,
    family: depot_core::plugin::Family,
) -> CoreResult<Filter> {
    let mut any = Vec::new();
    for kind in depot_core::plugin::of_family(family) {
        let of_type = Filter::Is("pulp_type", Bind::Text(kind.pulp_type.into()));
        any.push(match caller.scope(state, kind).await? {
            None => of_type,
            Some(grantee) => Filter::AllOf(vec![of_type, Filter::Granted("id", grantee)]),
        });
    }
    Ok(Filter::AnyOf(any))
}

/// The same for content (`content/`): per content type, what its list would show the caller.
pub async fn content_family_scope(state: &AppState, caller: &Caller) -> CoreResult<Filter> {
    let mut any = Vec::new();
    for kind in depot_core::plugin::of_family(depot_core::plugin::Family::Content) {
        let of_type = Filter::Is("pulp_type", Bind::Text(kind.pulp_type.into()));
        any.push(match caller.content_scope(state, kind).await? {
            None => of_type,
            Some(scope) => Filter::AllOf(vec![of_type, scope]),
        });
    }
    Ok(Filter::AnyOf(any))
}

/// `pulp_href__in`, `prn__in`, `pulp_id__in` and `pulp_type__in` on a generic list of the
/// types of `family`.
pub fn href_filters_any(
    q: &mut ListQuery,
    query: &QueryMap,
    family: depot_core::plugin::Family,
) -> CoreResult<()> {
    let kinds: Vec<Kind> = depot_core::plugin::of_family(family).collect();
    checked_refs(query)?;
    for param in ["pulp_type", "pulp_type__in"] {
        let named = match param {
            "pulp_type" => query.get(param).map(|t| vec![t.to_string()]),
            _ => query.get(param).map(|_| query.list(param)),
        };
        for t in named.iter().flatten() {
            if !kinds.iter().any(|k| k.pulp_type == t) {
                let shown: String = t.chars().take(200).collect();
                return Err(depot_core::CoreError::field(
                    param,
                    format!("Select a valid choice. {shown} is not one of the available choices."),
                ));
            }
        }
    }
    if let Some(t) = query.get("pulp_type") {
        q.with(Filter::Is("pulp_type", Bind::Text(t.to_string())))?;
    }
    let ids = |param: &str, parse: fn(Kind, &str) -> Option<String>| -> Vec<String> {
        query
            .list(param)
            .iter()
            .filter_map(|h| kinds.iter().find_map(|k| parse(k, h)))
            .collect()
    };
    if query.get("pulp_href__in").is_some() {
        q.with(Filter::In("id", ids("pulp_href__in", |k, h| k.parse(h))))?;
    }
    if query.get("prn__in").is_some() {
        q.with(Filter::In("id", ids("prn__in", |k, h| k.parse_ref(h))))?;
    }
    if query.get("pulp_id__in").is_some() {
        q.with(Filter::In("id", query.list("pulp_id__in")))?;
    }
    if query.get("pulp_type__in").is_some() {
        q.with(Filter::In("pulp_type", query.list("pulp_type__in")))?;
    }
    Ok(())
}

/// Pulp's `orphaned_for=<minutes>`: rows nothing uses, made at least that long ago (`-1`: the
/// orphan protection time). `orphan` is the list's orphan filter.
pub fn orphaned_for(
    q: &mut ListQuery,
    query: &QueryMap,
    protection_minutes: u64,
    orphan: Filter,
) -> ApiResult<()> {
    let Some(minutes) = query.int("orphaned_for")? else {
        return Ok(());
    };
    let minutes = match minutes {
        -1 => protection_minutes,
        m if m >= 0 => m as u64,
        _ => {
            return Err(depot_core::CoreError::field(
                "orphaned_for",
                "Ensure this value is greater than or equal to -1.",
            )
            .into());
        }
    };
    let cutoff = depot_core::time::ago(minutes.min(1 << 30).saturating_mul(60));
    q.with(orphan)?;
    q.with(Filter::Cmp("pulp_created", Cmp::Le, Bind::Text(cutoff)))?;
    Ok(())
}

/// The query of a generic list whose rows have names (`repositories/`, `remotes/`): every type
/// of `family` the caller may see, with the name, href and type filters and Pulp's `q` over them.
pub async fn generic_query(
    state: &AppState,
    caller: &Caller,
    query: &QueryMap,
    table: &'static depot_core::models::list::Table,
    family: depot_core::plugin::Family,
) -> ApiResult<ListQuery> {
    let mut q = ListQuery::of(table);
    q.with(family_scope(state, caller, family).await?)?;
    let plain = |q: &mut ListQuery, query: &QueryMap| {
        name_filters(q, query, "name")?;
        href_filters_any(q, query, family)
    };
    plain(&mut q, query)?;
    crate::expression::apply(
        &mut q,
        query,
        table,
        crate::expression::GENERIC_FILTERS,
        plain,
    )?;
    Ok(q)
}
