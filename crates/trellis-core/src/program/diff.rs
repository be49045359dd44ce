//! What changed between two versions of a program, item by item.
//!
//! Arrays of tables are matched by their `id` (or, for plays and economics
//! rows, by `partner_type/segment`), so reordering items is not a change and a
//! renamed element shows as one removal and one addition.

use super::parse::{self, ParseError};
use serde::Serialize;
use toml::{Table, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ChangeKind {
    Added,
    Removed,
    Changed,
}

/// One difference. `path` names the item, e.g. `elements[mdf].cost.fixed_per_year`
/// or `plays[msp/emea-smb].steps.sell`; values are rendered as TOML.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    pub path: String,
    pub kind: ChangeKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub before: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
}

/// The differences from `old` to `new` (both TOML program sources).
pub fn diff(old: &str, new: &str) -> Result<Vec<Change>, ParseError> {
    let old = parse::table(old)?;
    let new = parse::table(new)?;
    let mut out = Vec::new();
    tables(&mut out, "", &old, &new);
    Ok(out)
}

fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_string()
    } else {
        format!("{prefix}.{key}")
    }
}

fn tables(out: &mut Vec<Change>, prefix: &str, old: &Table, new: &Table) {
    for (k, a) in old {
        let path = join(prefix, k);
        match new.get(k) {
            Some(b) => values(out, &path, a, b),
            None => out.push(removed(path, a)),
        }
    }
    for (k, b) in new {
        if !old.contains_key(k) {
            out.push(added(join(prefix, k), b));
        }
    }
}

fn values(out: &mut Vec<Change>, path: &str, a: &Value, b: &Value) {
    match (a, b) {
        (Value::Table(a), Value::Table(b)) => tables(out, path, a, b),
        (Value::Array(a), Value::Array(b)) => match (keyed(a), keyed(b)) {
            (Some(ka), Some(kb)) => {
                for (key, ia) in &ka {
                    let p = format!("{path}[{key}]");
                    match kb.iter().find(|(k, _)| k == key) {
                        Some((_, ib)) => tables(out, &p, ia, ib),
                        None => out.push(removed(p, &Value::Table((*ia).clone()))),
                    }
                }
                for (key, ib) in &kb {
                    if !ka.iter().any(|(k, _)| k == key) {
                        out.push(added(
                            format!("{path}[{key}]"),
                            &Value::Table((*ib).clone()),
                        ));
                    }
                }
            }
            _ if a != b => out.push(changed(
                path,
                &Value::Array(a.clone()),
                &Value::Array(b.clone()),
            )),
            _ => {}
        },
        _ if a != b => out.push(changed(path, a, b)),
        _ => {}
    }
}

/// The items of an array of tables with their identity, when every item has one
/// and identities are unique.
fn keyed(items: &[Value]) -> Option<Vec<(String, &Table)>> {
    let mut out: Vec<(String, &Table)> = Vec::with_capacity(items.len());
    for item in items {
        let t = item.as_table()?;
        let key = match (t.get("id"), t.get("partner_type"), t.get("segment")) {
            (Some(Value::String(id)), _, _) => id.clone(),
            (None, Some(Value::String(ty)), Some(Value::String(seg))) => format!("{ty}/{seg}"),
            _ => return None,
        };
        if out.iter().any(|(k, _)| *k == key) {
            return None;
        }
        out.push((key, t));
    }
    Some(out)
}

fn render(v: &Value) -> String {
    match v {
        Value::Table(t) => {
            let inline: toml::map::Map<String, Value> = t.clone();
            let s = Value::Table(inline).to_string();
            s.trim().to_string()
        }
        other => other.to_string(),
    }
}

fn added(path: String, v: &Value) -> Change {
    Change {
        path,
        kind: ChangeKind::Added,
        before: None,
        after: Some(render(v)),
    }
}

fn removed(path: String, v: &Value) -> Change {
    Change {
        path,
        kind: ChangeKind::Removed,
        before: Some(render(v)),
        after: None,
    }
}

fn changed(path: &str, a: &Value, b: &Value) -> Change {
    Change {
        path: path.to_string(),
        kind: ChangeKind::Changed,
        before: Some(render(a)),
        after: Some(render(b)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OLD: &str = r#"
[program]
id = "p"
version = "1"

[[elements]]
id = "mdf"
kind = "mdf"
cost = { fixed_per_year = 1000 }

[[elements]]
id = "training"
kind = "training"

[[plays]]
partner_type = "msp"
segment = "smb"
steps = { sell = "partner" }
"#;

    const NEW: &str = r#"
[program]
id = "p"
version = "2"

[[elements]]
id = "training"
kind = "training"

[[elements]]
id = "mdf"
kind = "mdf"
cost = { fixed_per_year = 2000 }

[[elements]]
id = "spif"
kind = "spif"

[[plays]]
partner_type = "msp"
segment = "smb"
steps = { sell = "joint" }
"#;

    #[test]
    fn changes_are_matched_by_id_not_position() {
        let changes = diff(OLD, NEW).unwrap();
        let summary: Vec<(String, ChangeKind)> =
            changes.iter().map(|c| (c.path.clone(), c.kind)).collect();
        assert_eq!(
            summary,
            vec![
                ("program.version".to_string(), ChangeKind::Changed),
                (
                    "elements[mdf].cost.fixed_per_year".to_string(),
                    ChangeKind::Changed
                ),
                ("elements[spif]".to_string(), ChangeKind::Added),
                ("plays[msp/smb].steps.sell".to_string(), ChangeKind::Changed),
            ]
        );
        assert_eq!(changes[1].before.as_deref(), Some("1000"));
        assert_eq!(changes[1].after.as_deref(), Some("2000"));
        assert_eq!(changes[3].after.as_deref(), Some("\"joint\""));
    }

    #[test]
    fn identical_and_reordered_sources_have_no_changes() {
        assert!(diff(OLD, OLD).unwrap().is_empty());
        let reordered = OLD.replace("[[elements]]\nid = \"training\"\nkind = \"training\"\n", "");
        let reordered =
            format!("{reordered}\n[[elements]]\nid = \"training\"\nkind = \"training\"\n");
        assert!(diff(OLD, &reordered).unwrap().is_empty());
        let back = diff(NEW, OLD).unwrap();
        assert!(back
            .iter()
            .any(|c| c.path == "elements[spif]" && c.kind == ChangeKind::Removed));
    }

    #[test]
    fn syntax_errors_are_reported() {
        assert!(diff(OLD, "[program").is_err());
    }
}
