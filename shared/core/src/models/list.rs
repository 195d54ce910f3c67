//! A small builder for filtered, ordered, paginated list queries that run on both engines.
//! Handlers say what a client asked for in typed [`Filter`]s over field names; each listable
//! model's [`Table`] says which column a field is, so SQL stays in the domain layer.

use sqlx::AssertSqlSafe;
use sqlx::Row as _;
use sqlx::any::AnyRow;

use crate::CoreResult;
use crate::db::{Db, Engine};
use crate::labels::LabelSelect;

/// A row of a list, read by its model's `from_row`.
pub type Row = AnyRow;

#[derive(Debug, Clone)]
pub enum Bind {
    Text(String),
    Int(i64),
    Bool(bool),
}

/// A listable model: its select list, its `FROM`, the column of each field a filter or an
/// ordering may name, and the expression of its rows' domain (`None`: not in domains). A list
/// of a table in domains shows only the rows of the domain in force.
#[derive(Debug)]
pub struct Table {
    pub select: &'static str,
    pub from: &'static str,
    pub fields: &'static [(&'static str, &'static str)],
    pub domain: Option<&'static str>,
}

/// The id and the value of text field `field` of every row of `table` in the domain in force,
/// for filters no engine of ours can evaluate alike (regular expressions).
pub async fn values_of(
    db: &crate::db::Db,
    table: &'static Table,
    field: &str,
) -> CoreResult<Vec<(String, String)>> {
    let column = |f: &str| {
        table
            .fields
            .iter()
            .find(|(name, _)| *name == f)
            .map(|(_, c)| *c)
            .ok_or_else(|| crate::CoreError::Internal(format!("no list field '{f}'")))
    };
    let (id, value) = (column("id")?, column(field)?);
    let select = format!("SELECT {id}, {value} FROM {}", table.from);
    let rows = match table.domain {
        Some(d) => {
            sqlx::query(sqlx::AssertSqlSafe(format!("{select} WHERE {d} = $1")))
                .bind(crate::domain::id().to_string())
                .fetch_all(db.pool())
                .await?
        }
        None => {
            sqlx::query(sqlx::AssertSqlSafe(select))
                .fetch_all(db.pool())
                .await?
        }
    };
    rows.iter()
        .map(|r| {
            Ok((
                r.try_get(0)?,
                r.try_get::<Option<String>, _>(1)?.unwrap_or_default(),
            ))
        })
        .collect()
}

/// How a text filter matches (Pulp's `name`, `name__iexact`, `name__contains`, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Match {
    Exact,
    IExact,
    Contains,
    IContains,
    StartsWith,
}

/// A comparison (`number__gte`, `state__ne`, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmp {
    Eq,
    Lt,
    Le,
    Gt,
    Ge,
    Ne,
}

/// How content relates to a repository version in a [`Filter::Version`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InVersion {
    Present,
    Added,
    Removed,
}

/// One condition of a list, on a field of its [`Table`].
#[derive(Debug, Clone)]
pub enum Filter {
    /// The field equals the value.
    Is(&'static str, Bind),
    /// The field is null (`true`) or not.
    Null(&'static str, bool),
    Text(&'static str, Match, String),
    /// The field is one of the values; none matches nothing.
    In(&'static str, Vec<String>),
    Cmp(&'static str, Cmp, Bind),
    /// The field, a JSON list of strings, holds the value.
    Listed(&'static str, String),
    /// The content whose id is the field is in a repository version (`Present`), or was added
    /// or removed by it.
    Version(&'static str, InVersion, String, i64),
    /// The field is the id of an object on which the user (directly or through a group) holds
    /// one of the permissions by a role given for that object (list scoping).
    Granted(&'static str, Grantee),
    /// The field is the id of content in a repository the user may see that way.
    GrantedContent(&'static str, Grantee),
    /// The field is the id of content in some repository.
    InSomeRepository(&'static str),
    /// Any of the filters holds (none: no row).
    AnyOf(Vec<Filter>),
    /// Every one of the filters holds (none: every row).
    AllOf(Vec<Filter>),
    /// Matches no row (a reference to something that cannot exist).
    Nothing,
    /// The filter does not hold (Pulp's `NOT` in a `q` expression).
    Not(Box<Filter>),
    /// The field is the id of content that orphan cleanup would take (Pulp's `orphaned_for`,
    /// with a time filter beside it).
    OrphanContent(&'static str),
    /// The field is the id of an artifact nothing uses.
    OrphanArtifact(&'static str),
    /// The field is the id of an artifact of content in a repository version.
    ArtifactInVersion(&'static str, String, i64),
    /// The field is the id of a repository version that holds the content.
    VersionHolds(&'static str, String),
    /// The field is the id of a distribution that serves the content (Pulp's `with_content`):
    /// through its version, its publication, or its repository's latest publication (types that
    /// serve publications) or latest version.
    DistributionServes(&'static str, String),
    /// The field is the id of a repository one of whose versions holds the content (`latest`:
    /// its latest version does), Pulp's `with_content` and `latest_with_content`.
    RepositoryHolds(&'static str, String, bool),
    /// The labels of the row (the JSON object in the field) match Pulp's `pulp_label_select`.
    Labels(&'static str, LabelSelect),
}

/// Where a labels column is read as JSON: PostgreSQL casts its text, SQLite reads it as it is
/// (both take `->` and `->>` then). Conditions carry these marks until the engine is known.
const JSON_OPEN: &str = "/*json(*/";
const JSON_CLOSE: &str = "/*)json*/";

/// Who a [`Filter::Granted`] is for (a user and the groups they are in), and which
/// permissions count.
#[derive(Debug, Clone)]
pub struct Grantee {
    pub user_id: String,
    pub groups: Vec<String>,
    pub permissions: Vec<String>,
}

/// The most group ids a [`Grantee`] names in its SQL; a user in more is looked up by a
/// subquery instead.
const MAX_LISTED_GROUPS: usize = 100;

impl Grantee {
    /// The grantee's assignments that give one of the permissions, as the start of a
    /// subquery (`SELECT 1 ... WHERE ...`) whose caller adds the object. Its tables are
    /// `ga` and `gp`, names no list's own tables use.
    fn holds(&self) -> (String, Vec<Bind>) {
        let (objects, binds) = self.objects();
        (
            objects.replacen("SELECT ga.object_id", "SELECT 1", 1),
            binds,
        )
    }

    /// The ids of the objects the grantee holds a permission on, as a subquery. The user's
    /// groups are listed, so that both engines look the roles up by index.
    fn objects(&self) -> (String, Vec<Bind>) {
        let marks = |n: usize| vec!["?"; n].join(", ");
        let mut binds: Vec<Bind> = self.permissions.iter().cloned().map(Bind::Text).collect();
        binds.push(Bind::Text(self.user_id.clone()));
        let groups = if self.groups.is_empty() {
            String::new()
        } else if self.groups.len() <= MAX_LISTED_GROUPS {
            binds.extend(self.groups.iter().cloned().map(Bind::Text));
            format!(" OR ga.group_id IN ({})", marks(self.groups.len()))
        } else {
            binds.push(Bind::Text(self.user_id.clone()));
            " OR ga.group_id IN (SELECT gm.group_id FROM user_group_members gm WHERE gm.user_id = ?)"
                .to_string()
        };
        let sql = format!(
            "SELECT ga.object_id FROM role_assignments ga \
             JOIN role_permissions gp ON gp.role_id = ga.role_id \
             WHERE ga.object_id IS NOT NULL AND gp.permission IN ({}) \
             AND (ga.user_id = ?{groups})",
            marks(self.permissions.len())
        );
        (sql, binds)
    }
}

/// `SELECT <columns> FROM <from> WHERE <filters> ORDER BY <order> LIMIT/OFFSET`, plus the count.
#[derive(Debug, Clone)]
pub struct ListQuery {
    columns: String,
    from: String,
    wheres: Vec<String>,
    binds: Vec<Bind>,
    order: Vec<String>,
    fields: &'static [(&'static str, &'static str)],
    /// When set, filters are kept here rather than compiled (see [`ListQuery::recorder`]).
    recorded: Option<Vec<Filter>>,
}

impl ListQuery {
    fn new(columns: &str, from: &str) -> Self {
        Self {
            columns: columns.into(),
            from: from.into(),
            wheres: Vec::new(),
            binds: Vec::new(),
            order: Vec::new(),
            fields: &[],
            recorded: None,
        }
    }

    /// A query of `table` that only records the filters given to it, for the code that reads
    /// a list's parameters to be run on one term of an expression (Pulp's `q`); the filters are
    /// then combined and given to the real query.
    pub fn recorder(table: &'static Table) -> Self {
        let mut q = Self::new(table.select, table.from);
        q.fields = table.fields;
        q.recorded = Some(Vec::new());
        q
    }

    /// The filters a [`ListQuery::recorder`] was given.
    pub fn into_filters(self) -> Vec<Filter> {
        self.recorded.unwrap_or_default()
    }

    /// A list of `table`'s rows; filters and orderings name its fields.
    pub fn of(table: &'static Table) -> Self {
        let mut q = Self::new(table.select, table.from);
        q.fields = table.fields;
        if let Some(domain) = table.domain {
            q.filter(
                &format!("{domain} = ?"),
                vec![Bind::Text(crate::domain::id().to_string())],
            );
        }
        q
    }

    /// `column` with its table named, for subqueries that have columns of the same name
    /// (a column already qualified is left as it is).
    fn qualified(&self, column: &str) -> String {
        match column.contains('.') {
            true => column.to_string(),
            false => format!("{}.{column}", self.main_table()),
        }
    }

    /// How the first table of the query is named in it: its alias when it has one.
    fn main_table(&self) -> &str {
        let mut words = self.from.split_whitespace();
        let table = words.next().unwrap_or_default();
        match words.next() {
            Some(alias) if !alias.eq_ignore_ascii_case("JOIN") && !alias.contains(',') => alias,
            _ => table,
        }
    }

    fn column(&self, field: &str) -> CoreResult<&'static str> {
        self.fields
            .iter()
            .find(|(f, _)| *f == field)
            .map(|(_, c)| *c)
            .ok_or_else(|| crate::CoreError::Internal(format!("no list field '{field}'")))
    }

    /// Adds a condition.
    pub fn with(&mut self, filter: Filter) -> CoreResult<&mut Self> {
        if let Some(recorded) = self.recorded.as_mut() {
            recorded.push(filter);
            return Ok(self);
        }
        let (cond, binds) = self.condition(filter)?;
        self.filter(&cond, binds);
        Ok(self)
    }

    /// The SQL of `filter`, with a `?` for each of its values.
    fn condition(&self, filter: Filter) -> CoreResult<(String, Vec<Bind>)> {
        Ok(match filter {
            Filter::Is(field, value) => (format!("{} = ?", self.column(field)?), vec![value]),
            Filter::Null(field, null) => {
                let not = if null { "" } else { "NOT " };
                (format!("{} IS {not}NULL", self.column(field)?), vec![])
            }
            Filter::Text(field, how, value) => {
                let c = self.column(field)?;
                let (cond, value) = match how {
                    Match::Exact => (format!("{c} = ?"), value),
                    Match::IExact => (format!("LOWER({c}) = ?"), value.to_lowercase()),
                    Match::Contains => (
                        format!("{c} LIKE ? ESCAPE '\\'"),
                        format!("%{}%", like_escape(&value)),
                    ),
                    Match::IContains => (
                        format!("LOWER({c}) LIKE ? ESCAPE '\\'"),
                        format!("%{}%", like_escape(&value.to_lowercase())),
                    ),
                    Match::StartsWith => (
                        format!("{c} LIKE ? ESCAPE '\\'"),
                        format!("{}%", like_escape(&value)),
                    ),
                };
                (cond, vec![Bind::Text(value)])
            }
            Filter::Listed(field, value) => (
                format!("{} LIKE ? ESCAPE '\\'", self.column(field)?),
                vec![Bind::Text(format!("%\"{}\"%", like_escape(&value)))],
            ),
            Filter::In(field, values) if values.is_empty() => {
                self.column(field)?;
                ("1 = 0".into(), vec![])
            }
            Filter::In(field, values) => {
                let marks = vec!["?"; values.len()].join(", ");
                let binds = values.into_iter().map(Bind::Text).collect();
                (format!("{} IN ({marks})", self.column(field)?), binds)
            }
            Filter::Cmp(field, cmp, value) => {
                let op = match cmp {
                    Cmp::Eq => "=",
                    Cmp::Lt => "<",
                    Cmp::Le => "<=",
                    Cmp::Gt => ">",
                    Cmp::Ge => ">=",
                    Cmp::Ne => "<>",
                };
                (format!("{} {op} ?", self.column(field)?), vec![value])
            }
            // `IN` a subquery, not a correlated `EXISTS`: SQLite would probe the version's whole
            // range of `repository_contents` once per content row (seconds per page at 10,000).
            Filter::Version(field, how, repository_id, number) => {
                let c = self.column(field)?;
                let rows =
                    "SELECT rc.content_id FROM repository_contents rc WHERE rc.repository_id = ?";
                match how {
                    InVersion::Present => (
                        format!(
                            "{c} IN ({rows} AND rc.version_added <= ? \
                             AND (rc.version_removed IS NULL OR rc.version_removed > ?))"
                        ),
                        vec![
                            Bind::Text(repository_id),
                            Bind::Int(number),
                            Bind::Int(number),
                        ],
                    ),
                    InVersion::Added => (
                        format!("{c} IN ({rows} AND rc.version_added = ?)"),
                        vec![Bind::Text(repository_id), Bind::Int(number)],
                    ),
                    InVersion::Removed => (
                        format!("{c} IN ({rows} AND rc.version_removed = ?)"),
                        vec![Bind::Text(repository_id), Bind::Int(number)],
                    ),
                }
            }
            Filter::Granted(_, g) | Filter::GrantedContent(_, g) if g.permissions.is_empty() => {
                ("1 = 0".into(), vec![])
            }
            // Correlated, so that each row is one lookup by the assignments' object index
            // whatever the planner believes of the tables' sizes (an `IN` list was planned as
            // a nested loop over every assignment for each row on a fresh PostgreSQL).
            Filter::Granted(field, grantee) => {
                let column = self.qualified(self.column(field)?);
                let (held, binds) = grantee.holds();
                (
                    format!("EXISTS ({held} AND ga.object_id = {column})"),
                    binds,
                )
            }
            Filter::GrantedContent(field, grantee) => {
                let (objects, binds) = grantee.objects();
                let sql = format!(
                    "{} IN (SELECT rc.content_id FROM repository_contents rc \
                     WHERE rc.repository_id IN ({objects}))",
                    self.column(field)?
                );
                (sql, binds)
            }
            Filter::InSomeRepository(field) => (
                format!(
                    "{} IN (SELECT rc.content_id FROM repository_contents rc)",
                    self.column(field)?
                ),
                vec![],
            ),
            Filter::Labels(field, select) => {
                let column = self.qualified(self.column(field)?);
                let (sql, values) = select.to_sql(&format!("{JSON_OPEN}{column}{JSON_CLOSE}"));
                (sql, values.into_iter().map(Bind::Text).collect())
            }
            Filter::AnyOf(filters) if filters.is_empty() => ("1 = 0".into(), vec![]),
            Filter::AllOf(filters) if filters.is_empty() => ("1 = 1".into(), vec![]),
            Filter::AnyOf(filters) => self.joined(filters, " OR ")?,
            Filter::AllOf(filters) => self.joined(filters, " AND ")?,
            Filter::Nothing => ("1 = 0".into(), vec![]),
            Filter::OrphanContent(field) => (
                format!(
                    "{} IN (SELECT c.id FROM contents c WHERE {})",
                    self.qualified(self.column(field)?),
                    super::orphans::unused()
                ),
                vec![],
            ),
            Filter::OrphanArtifact(field) => (
                format!(
                    "{} IN (SELECT a.id FROM artifacts a WHERE {})",
                    self.qualified(self.column(field)?),
                    super::artifact::unused()
                ),
                vec![],
            ),
            Filter::VersionHolds(field, content_id) => (
                format!(
                    "{} IN (SELECT v2.id FROM repository_versions v2 JOIN repository_contents rc \
                     ON rc.repository_id = v2.repository_id WHERE rc.content_id = ? \
                     AND rc.version_added <= v2.number \
                     AND (rc.version_removed IS NULL OR rc.version_removed > v2.number))",
                    self.qualified(self.column(field)?)
                ),
                vec![Bind::Text(content_id)],
            ),
            Filter::DistributionServes(field, content_id) => {
                let holding = "SELECT v2.id FROM repository_versions v2 JOIN repository_contents rc \
                     ON rc.repository_id = v2.repository_id WHERE rc.content_id = ? \
                     AND rc.version_added <= v2.number \
                     AND (rc.version_removed IS NULL OR rc.version_removed > v2.number)";
                let published = crate::plugin::sql_list(
                    crate::plugin::of_family(crate::plugin::Family::Distribution).filter(|k| {
                        matches!(k.role, crate::plugin::Role::Distribution { publication: Some(p), .. } if p.serves_files())
                    }),
                );
                // No such type: a value no type has (`NOT IN (NULL)` would match nothing).
                let published = match published.as_str() {
                    "NULL" => "''".to_string(),
                    _ => published,
                };
                (
                    format!(
                        "{} IN (SELECT d.id FROM distributions d WHERE d.repository_version_id IN ({holding}) \
                         OR d.publication_id IN (SELECT p.id FROM publications p WHERE p.repository_version_id IN ({holding})) \
                         OR (d.pulp_type IN ({published}) AND d.repository_id IN (SELECT v.repository_id \
                             FROM repository_versions v WHERE v.id IN ({holding}) AND v.number = \
                             (SELECT MAX(v3.number) FROM repository_versions v3 JOIN publications p3 \
                              ON p3.repository_version_id = v3.id WHERE v3.repository_id = v.repository_id))) \
                         OR (d.pulp_type NOT IN ({published}) AND d.repository_id IN (SELECT v.repository_id \
                             FROM repository_versions v JOIN repositories r ON r.id = v.repository_id \
                             WHERE v.id IN ({holding}) AND v.number = r.latest_number)))",
                        self.qualified(self.column(field)?)
                    ),
                    vec![Bind::Text(content_id); 4],
                )
            }
            Filter::RepositoryHolds(field, content_id, latest) => {
                let latest = match latest {
                    true => {
                        " AND rc.version_added <= r2.latest_number AND (rc.version_removed IS NULL \
                         OR rc.version_removed > r2.latest_number)"
                    }
                    false => "",
                };
                (
                    format!(
                        "{} IN (SELECT rc.repository_id FROM repository_contents rc \
                         JOIN repositories r2 ON r2.id = rc.repository_id \
                         WHERE rc.content_id = ?{latest})",
                        self.qualified(self.column(field)?)
                    ),
                    vec![Bind::Text(content_id)],
                )
            }
            Filter::ArtifactInVersion(field, repository_id, number) => (
                format!(
                    "{} IN (SELECT ca.artifact_id FROM content_artifacts ca \
                     JOIN repository_contents rc ON rc.content_id = ca.content_id \
                     WHERE rc.repository_id = ? AND rc.version_added <= ? \
                     AND (rc.version_removed IS NULL OR rc.version_removed > ?) \
                     AND ca.artifact_id IS NOT NULL)",
                    self.qualified(self.column(field)?)
                ),
                vec![
                    Bind::Text(repository_id),
                    Bind::Int(number),
                    Bind::Int(number),
                ],
            ),
            Filter::Not(inner) => {
                let (c, b) = self.condition(*inner)?;
                (format!("NOT ({c})"), b)
            }
        })
    }

    /// The conditions of `filters` joined by `op`, in parentheses.
    fn joined(&self, filters: Vec<Filter>, op: &str) -> CoreResult<(String, Vec<Bind>)> {
        let mut conds = Vec::new();
        let mut binds = Vec::new();
        for f in filters {
            let (c, b) = self.condition(f)?;
            conds.push(c);
            binds.extend(b);
        }
        Ok((format!("({})", conds.join(op)), binds))
    }

    /// Orders by `field`, after the orderings already added.
    pub fn order(&mut self, field: &str, descending: bool) -> CoreResult<&mut Self> {
        let c = self.column(field)?;
        let dir = if descending { "DESC" } else { "ASC" };
        self.order.push(format!("{c} {dir}"));
        Ok(self)
    }

    /// Adds a condition; each `?` in `cond` is replaced by the next numbered placeholder.
    fn filter(&mut self, cond: &str, binds: Vec<Bind>) -> &mut Self {
        let mut out = String::new();
        let mut binds = binds.into_iter();
        for (i, part) in cond.split('?').enumerate() {
            if i > 0 {
                let b = binds.next().expect("one bind per placeholder");
                self.binds.push(b);
                out.push_str(&format!("${}", self.binds.len()));
            }
            out.push_str(part);
        }
        self.wheres.push(out);
        self
    }

    fn where_sql(&self, engine: Engine) -> String {
        if self.wheres.is_empty() {
            return String::new();
        }
        let sql = format!(" WHERE {}", self.wheres.join(" AND "));
        if !sql.contains(JSON_OPEN) {
            return sql;
        }
        let (open, close) = match engine {
            Engine::Postgres => ("CAST(", " AS jsonb)"),
            Engine::Sqlite => ("", ""),
        };
        sql.replace(JSON_OPEN, open).replace(JSON_CLOSE, close)
    }

    pub async fn count(&self, db: &Db) -> CoreResult<i64> {
        let sql = format!(
            "SELECT COUNT(*) FROM {}{}",
            self.from,
            self.where_sql(db.engine())
        );
        let mut q = sqlx::query(AssertSqlSafe(sql));
        for b in &self.binds {
            q = bind(q, b);
        }
        let row = q.fetch_one(db.pool()).await?;
        Ok(row.try_get::<i64, _>(0)?)
    }

    /// The total count and the rows from `offset`, at most `limit`.
    pub async fn page(&self, db: &Db, limit: i64, offset: i64) -> CoreResult<(i64, Vec<Row>)> {
        let count = self.count(db).await?;
        let rows = if offset >= count {
            Vec::new()
        } else {
            self.fetch(db, Some(limit), offset).await?
        };
        Ok((count, rows))
    }

    /// Fetches rows; `limit` of `None` fetches all.
    pub async fn fetch(&self, db: &Db, limit: Option<i64>, offset: i64) -> CoreResult<Vec<AnyRow>> {
        let mut sql = format!(
            "SELECT {} FROM {}{}",
            self.columns,
            self.from,
            self.where_sql(db.engine())
        );
        if !self.order.is_empty() {
            sql.push_str(&format!(" ORDER BY {}", self.order.join(", ")));
        }
        if let Some(limit) = limit {
            sql.push_str(&format!(" LIMIT {limit} OFFSET {offset}"));
        }
        let mut q = sqlx::query(AssertSqlSafe(sql));
        for b in &self.binds {
            q = bind(q, b);
        }
        Ok(q.fetch_all(db.pool()).await?)
    }
}

/// Escapes `LIKE`'s wildcards for patterns written with `ESCAPE` and a backslash.
fn like_escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

pub fn bind<'q>(
    q: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>,
    b: &Bind,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments> {
    match b {
        Bind::Text(s) => q.bind(s.clone()),
        Bind::Int(i) => q.bind(*i),
        Bind::Bool(v) => q.bind(*v),
    }
}
