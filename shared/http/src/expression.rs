//! Pulp's `q` filter: other filters of the same list combined with `NOT`, `AND` and `OR`
//! (in that precedence, with parentheses), e.g.
//! `pulp_type="core.rbac" AND NOT (name__contains=HH OR name="x")`. Each `key=value` term is
//! run through the list's own filter code, so a term filters exactly as the parameter would.
//! Expressions are bounded: at most [`MAX_COMPLEXITY`] (Pulp's measure: a term counts one,
//! each operator one more) and [`MAX_LENGTH`] characters.

use depot_core::models::list::{Filter, ListQuery, Table};
use depot_core::{CoreError, CoreResult};
use serde_json::Value;

use crate::QueryMap;

pub const MAX_COMPLEXITY: usize = 8;

/// The filters a `q` term may name on the generic lists (`repositories/`, `remotes/`, ...).
pub const GENERIC_FILTERS: &[&str] = &[
    "name",
    "name__contains",
    "name__icontains",
    "name__iexact",
    "name__startswith",
    "name__in",
    "pulp_href__in",
    "prn__in",
    "pulp_id__in",
    "pulp_type",
    "pulp_type__in",
];
pub const MAX_LENGTH: usize = 4096;

/// The filters a `q` term may name on the distribution lists (and in an upstream Pulp's
/// `q_select`, which is sent to its distribution lists).
pub const DISTRIBUTION_FILTERS: &[&str] = &[
    "name",
    "name__contains",
    "name__icontains",
    "name__iexact",
    "name__startswith",
    "name__in",
    "base_path",
    "base_path__contains",
    "base_path__icontains",
    "base_path__in",
    "pulp_label_select",
    "pulp_href__in",
    "prn__in",
    "pulp_id__in",
];

/// A parsed expression.
#[derive(Debug, PartialEq)]
enum Expr {
    Term(String, String),
    Not(Box<Expr>),
    And(Vec<Expr>),
    Or(Vec<Expr>),
}

impl Expr {
    fn complexity(&self) -> usize {
        match self {
            Expr::Term(..) => 1,
            Expr::Not(e) => e.complexity() + 1,
            Expr::And(es) | Expr::Or(es) => es.iter().map(Expr::complexity).sum::<usize>() + 1,
        }
    }
}

#[derive(Debug, PartialEq)]
enum Token {
    Open,
    Close,
    And,
    Or,
    Not,
    Term(String, String),
}

fn syntax_error() -> CoreError {
    q_error("Syntax error in expression.")
}

fn q_error(message: impl Into<String>) -> CoreError {
    CoreError::field("q", message.into())
}

fn is_value_char(c: char) -> bool {
    c.is_alphanumeric() || ".,_-*".contains(c)
}

fn tokens(text: &str) -> CoreResult<Vec<Token>> {
    let mut out = Vec::new();
    let mut rest = text.trim_start();
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix('(') {
            out.push(Token::Open);
            rest = r;
        } else if let Some(r) = rest.strip_prefix(')') {
            out.push(Token::Close);
            rest = r;
        } else {
            // A word: a keyword, or `key=value`.
            let key_len = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            let (word, after) = rest.split_at(key_len);
            match (word, after.strip_prefix('=')) {
                ("AND", None) => out.push(Token::And),
                ("OR", None) => out.push(Token::Or),
                ("NOT", None) => out.push(Token::Not),
                (key, Some(value_text)) if key.starts_with(|c: char| c.is_ascii_alphabetic()) => {
                    let (value, r) = value(value_text)?;
                    out.push(Token::Term(key.to_string(), value));
                    rest = r;
                    rest = rest.trim_start();
                    continue;
                }
                _ => return Err(syntax_error()),
            }
            rest = after;
        }
        rest = rest.trim_start();
    }
    Ok(out)
}

/// A term's value (a word, or a quoted string) and what follows it.
fn value(text: &str) -> CoreResult<(String, &str)> {
    if let Some(quote) = text.chars().next().filter(|c| *c == '"' || *c == '\'') {
        let body = &text[1..];
        let end = body.find(quote).ok_or_else(syntax_error)?;
        return Ok((body[..end].to_string(), &body[end + 1..]));
    }
    let len = text.find(|c| !is_value_char(c)).unwrap_or(text.len());
    if len == 0 {
        return Err(syntax_error());
    }
    Ok((text[..len].to_string(), &text[len..]))
}

/// Recursive descent over the tokens: `or := and (OR and)*`, `and := not (AND not)*`,
/// `not := NOT not | ( or ) | term`.
struct Parser {
    tokens: Vec<Token>,
    at: usize,
    /// Nesting of parentheses and `NOT`s, bounded so that no text can exhaust the stack.
    depth: usize,
}

/// The deepest nesting parsed; deeper expressions would be too complex anyway.
const MAX_DEPTH: usize = MAX_COMPLEXITY * 2;

impl Parser {
    fn next_is(&self, t: &Token) -> bool {
        self.tokens.get(self.at) == Some(t)
    }

    fn or(&mut self) -> CoreResult<Expr> {
        let mut parts = vec![self.and()?];
        while self.next_is(&Token::Or) {
            self.at += 1;
            parts.push(self.and()?);
        }
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Expr::Or(parts)
        })
    }

    fn and(&mut self) -> CoreResult<Expr> {
        let mut parts = vec![self.not()?];
        while self.next_is(&Token::And) {
            self.at += 1;
            parts.push(self.not()?);
        }
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Expr::And(parts)
        })
    }

    fn not(&mut self) -> CoreResult<Expr> {
        let token = self.tokens.get(self.at).ok_or_else(syntax_error)?;
        self.at += 1;
        if matches!(token, Token::Not | Token::Open) {
            self.depth += 1;
            if self.depth > MAX_DEPTH {
                return Err(q_error("Filter expression exceeds allowed complexity."));
            }
        }
        let expr = match token {
            Token::Not => Expr::Not(Box::new(self.not()?)),
            Token::Open => {
                let inner = self.or()?;
                if !self.next_is(&Token::Close) {
                    return Err(syntax_error());
                }
                self.at += 1;
                inner
            }
            Token::Term(k, v) => return Ok(Expr::Term(k.clone(), v.clone())),
            _ => return Err(syntax_error()),
        };
        self.depth -= 1;
        Ok(expr)
    }
}

fn parse(text: &str) -> CoreResult<Expr> {
    if text.len() > MAX_LENGTH {
        return Err(q_error("Filter expression exceeds allowed complexity."));
    }
    let mut p = Parser {
        tokens: tokens(text)?,
        at: 0,
        depth: 0,
    };
    let expr = p.or()?;
    if p.at != p.tokens.len() {
        return Err(syntax_error());
    }
    if expr.complexity() > MAX_COMPLEXITY {
        return Err(q_error("Filter expression exceeds allowed complexity."));
    }
    Ok(expr)
}

/// Checks an expression kept to be sent later (an upstream Pulp's `q_select`): its syntax,
/// its complexity, and that each term names one of `keys`; errors name `field`.
pub fn check(field: &str, text: &str, keys: &[&str]) -> CoreResult<()> {
    let checked = parse(text).and_then(|expr| terms(&expr, keys).map(|_| ()));
    checked.map_err(|e| match e {
        CoreError::Invalid(Value::Object(mut errors)) => match errors.remove("q") {
            Some(why) => CoreError::Invalid(serde_json::json!({ field: why })),
            None => CoreError::Invalid(Value::Object(errors)),
        },
        other => other,
    })
}

/// Adds the list's `q` parameter, if sent, to `q`: `keys` are the filters a term may name,
/// `filters` applies the list's filters from a query (run once per term).
pub fn apply(
    q: &mut ListQuery,
    query: &QueryMap,
    table: &'static Table,
    keys: &[&str],
    filters: impl Fn(&mut ListQuery, &QueryMap) -> CoreResult<()>,
) -> CoreResult<()> {
    let Some(mut terms) = Terms::of(query, table, keys)? else {
        return Ok(());
    };
    for (recorder, term) in terms.iter_mut() {
        filters(recorder, term).map_err(term_error)?;
    }
    q.with(terms.into_filter())?;
    Ok(())
}

/// A term's `pulp_label_select`, if it is one, as a filter on the labels field `column` (in
/// `q`, labels are one more term; outside, the page's own selector).
pub fn label_term(
    recorder: &mut ListQuery,
    term: &QueryMap,
    column: &'static str,
) -> CoreResult<()> {
    if let Some(select) = term.get("pulp_label_select") {
        let select = depot_core::labels::LabelSelect::parse(select).map_err(term_error)?;
        recorder.with(Filter::Labels(column, select))?;
    }
    Ok(())
}

/// A parsed `q` whose terms the caller runs through its list's filters itself (lists whose
/// filters look things up run them with `.await`), then turns into one filter.
pub struct Terms {
    expr: Expr,
    terms: Vec<(ListQuery, QueryMap)>,
}

impl Terms {
    /// The list's `q`, when sent: its terms, each checked to name one of `keys`.
    pub fn of(query: &QueryMap, table: &'static Table, keys: &[&str]) -> CoreResult<Option<Self>> {
        let Some(expr) = parsed(query)? else {
            return Ok(None);
        };
        let terms = terms(&expr, keys)?
            .into_iter()
            .map(|(key, value)| {
                let term = QueryMap::from_pairs(vec![(key.to_string(), value.to_string())]);
                (ListQuery::recorder(table), term)
            })
            .collect();
        Ok(Some(Self { expr, terms }))
    }

    /// Each term as a query, with the recorder its filters go to (errors through
    /// [`term_error`]).
    pub fn iter_mut(&mut self) -> impl Iterator<Item = (&mut ListQuery, &QueryMap)> {
        self.terms.iter_mut().map(|(q, t)| (q, &*t))
    }

    /// The expression as one filter.
    pub fn into_filter(self) -> Filter {
        let mut compiled = self
            .terms
            .into_iter()
            .map(|(recorder, _)| Filter::AllOf(recorder.into_filters()));
        build(&self.expr, &mut compiled)
    }
}

/// The list's `q`, parsed; `None` when it is not sent or blank.
fn parsed(query: &QueryMap) -> CoreResult<Option<Expr>> {
    match query.get("q") {
        Some(text) if !text.trim().is_empty() => parse(text).map(Some),
        _ => Ok(None),
    }
}

/// The expression's terms, in order, each checked to name one of `keys`.
fn terms<'e>(expr: &'e Expr, keys: &[&str]) -> CoreResult<Vec<(&'e str, &'e str)>> {
    let mut out = Vec::new();
    let mut stack = vec![expr];
    while let Some(e) = stack.pop() {
        match e {
            Expr::Term(key, value) => {
                if key == "q" {
                    return Err(q_error("You cannot use 'q' in complex filtering."));
                }
                if !keys.contains(&key.as_str()) {
                    return Err(q_error(format!("Filter '{key}' does not exist.")));
                }
                out.push((key.as_str(), value.as_str()));
            }
            Expr::Not(e) => stack.push(e),
            // Reversed onto the stack, so that terms come out in the order written.
            Expr::And(es) | Expr::Or(es) => stack.extend(es.iter().rev()),
        }
    }
    Ok(out)
}

/// The expression as one filter, its terms' filters taken in the order [`terms`] gave them.
fn build(expr: &Expr, compiled: &mut impl Iterator<Item = Filter>) -> Filter {
    match expr {
        Expr::Not(e) => Filter::Not(Box::new(build(e, compiled))),
        Expr::And(es) => Filter::AllOf(es.iter().map(|e| build(e, compiled)).collect()),
        Expr::Or(es) => Filter::AnyOf(es.iter().map(|e| build(e, compiled)).collect()),
        Expr::Term(..) => compiled.next().unwrap_or(Filter::Nothing),
    }
}

/// A term's own validation error, reported as Pulp reports it: the form's errors as JSON text.
pub fn term_error(e: CoreError) -> CoreError {
    let CoreError::Invalid(Value::Object(fields)) = &e else {
        return e;
    };
    // Python's json.dumps spacing, as Pulp's message carries it.
    let entries: Vec<String> = fields
        .iter()
        .map(|(field, messages)| {
            let items: Vec<String> = messages
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .map(|m| {
                    let code = match m.starts_with("Select a valid choice") {
                        true => "invalid_choice",
                        false => "invalid",
                    };
                    format!(
                        "{{\"message\": {}, \"code\": \"{code}\"}}",
                        Value::String(m.into())
                    )
                })
                .collect();
            format!("{}: [{}]", Value::String(field.clone()), items.join(", "))
        })
        .collect();
    q_error(format!("{{{}}}", entries.join(", ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn complexity(text: &str) -> CoreResult<usize> {
        parse(text).map(|e| e.complexity())
    }

    #[test]
    fn expressions_parse_with_precedence_and_bounds() {
        assert_eq!(
            parse(r#"a="x y" AND NOT b=2 OR c__in=p,q"#).unwrap(),
            Expr::Or(vec![
                Expr::And(vec![
                    Expr::Term("a".into(), "x y".into()),
                    Expr::Not(Box::new(Expr::Term("b".into(), "2".into()))),
                ]),
                Expr::Term("c__in".into(), "p,q".into()),
            ])
        );
        assert_eq!(complexity("a=1 AND(   b=2 OR c='3')").unwrap(), 5);
        assert_eq!(
            complexity("NOT (a=1 AND b=2)").unwrap(),
            4,
            "a group in parentheses is one operand"
        );
        for bad in [
            r#"name="test" and"#,
            r#"name="test" AND"#,
            r#"name="test" AND (name="test2""#,
            "=x",
            "a=",
            "a=\"open",
            "()",
            "a=1 b=2",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        let ors: Vec<String> = (1..=8).map(|i| format!("n=t{i}")).collect();
        assert!(parse(&ors.join(" OR ")).is_err());
        assert!(parse(&ors[..7].join(" OR ")).is_ok());
        assert!(parse("(n=1 OR n=2) OR n=3 OR n=4 OR n=5 OR n=6 OR n=7").is_err());
        assert!(parse(&"(".repeat(4000)).is_err());
        assert!(parse(&format!("{}a=1", "NOT ".repeat(1000))).is_err());
    }

    mod properties {
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn any_text_parses_or_not_without_panic(text in r#"[a-zA-Z_=()"' ,.\-]{0,80}"#) {
                if let Ok(e) = super::super::parse(&text) {
                    prop_assert!(e.complexity() <= super::super::MAX_COMPLEXITY);
                }
            }
        }
    }
}
