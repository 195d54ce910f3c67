//! A small builder for filtered, ordered, paginated list queries that run on both engines.

use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row};

use crate::CoreResult;
use crate::db::Db;

#[derive(Debug, Clone)]
pub enum Bind {
    Text(String),
    Int(i64),
    Bool(bool),
}

/// `SELECT <columns> FROM <from> WHERE <filters> ORDER BY <order> LIMIT/OFFSET`, plus the count.
#[derive(Debug, Clone)]
pub struct ListQuery {
    columns: String,
    from: String,
    wheres: Vec<String>,
    binds: Vec<Bind>,
    order: Vec<String>,
}

impl ListQuery {
    pub fn new(columns: &str, from: &str) -> Self {
        Self {
            columns: columns.into(),
            from: from.into(),
            wheres: Vec::new(),
            binds: Vec::new(),
            order: Vec::new(),
        }
    }

    /// Adds a condition; each `?` in `cond` is replaced by the next numbered placeholder.
    pub fn filter(&mut self, cond: &str, binds: Vec<Bind>) -> &mut Self {
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

    /// `column IN (...)` over text values; an empty list matches nothing.
    pub fn filter_in(&mut self, column: &str, values: Vec<String>) -> &mut Self {
        if values.is_empty() {
            self.wheres.push("1 = 0".into());
            return self;
        }
        let marks = vec!["?"; values.len()].join(", ");
        self.filter(
            &format!("{column} IN ({marks})"),
            values.into_iter().map(Bind::Text).collect(),
        )
    }

    pub fn order_by(&mut self, expr: &str) -> &mut Self {
        self.order.push(expr.into());
        self
    }

    fn where_sql(&self) -> String {
        if self.wheres.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", self.wheres.join(" AND "))
        }
    }

    pub async fn count(&self, db: &Db) -> CoreResult<i64> {
        let sql = format!("SELECT COUNT(*) FROM {}{}", self.from, self.where_sql());
        let mut q = sqlx::query(AssertSqlSafe(sql));
        for b in &self.binds {
            q = bind(q, b);
        }
        let row = q.fetch_one(db.pool()).await?;
        Ok(row.try_get::<i64, _>(0)?)
    }

    /// Fetches rows; `limit` of `None` fetches all.
    pub async fn fetch(&self, db: &Db, limit: Option<i64>, offset: i64) -> CoreResult<Vec<AnyRow>> {
        let mut sql = format!(
            "SELECT {} FROM {}{}",
            self.columns,
            self.from,
            self.where_sql()
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
