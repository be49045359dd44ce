//! Programs uploaded as JSON: converted to TOML, the canonical stored form, so
//! that one parser, one checker and one set of locations serve both.

use super::parse::{Location, ParseError};

/// Converts a JSON program document to TOML text. Errors name the JSON line
/// and column, or the path of a value TOML cannot hold (`null`).
pub fn to_toml(json: &str) -> Result<String, ParseError> {
    let value: serde_json::Value = serde_json::from_str(json).map_err(|e| ParseError {
        path: String::new(),
        message: format!("invalid JSON: {e}"),
        location: Location {
            line: e.line().max(1),
            column: e.column().max(1),
        },
    })?;
    let serde_json::Value::Object(map) = value else {
        return Err(at_root("a program must be a JSON object"));
    };
    let table = object(&map, "")?;
    toml::to_string(&table).map_err(|e| at_root(&format!("cannot express as TOML: {e}")))
}

fn at_root(message: &str) -> ParseError {
    ParseError {
        path: String::new(),
        message: message.to_string(),
        location: Location { line: 1, column: 1 },
    }
}

fn object(
    map: &serde_json::Map<String, serde_json::Value>,
    path: &str,
) -> Result<toml::Table, ParseError> {
    let mut t = toml::Table::new();
    for (k, v) in map {
        let p = if path.is_empty() {
            k.clone()
        } else {
            format!("{path}.{k}")
        };
        t.insert(k.clone(), value(v, &p)?);
    }
    Ok(t)
}

fn value(v: &serde_json::Value, path: &str) -> Result<toml::Value, ParseError> {
    use serde_json::Value as J;
    Ok(match v {
        J::Null => {
            return Err(ParseError {
                path: path.to_string(),
                message: "null is not allowed: leave the key out instead".into(),
                location: Location { line: 1, column: 1 },
            })
        }
        J::Bool(b) => toml::Value::Boolean(*b),
        J::Number(n) => match n.as_i64() {
            Some(i) => toml::Value::Integer(i),
            None => match n.as_f64() {
                Some(f) if f.is_finite() => toml::Value::Float(f),
                _ => {
                    return Err(ParseError {
                        path: path.to_string(),
                        message: format!("number {n} is out of range; write it as a string"),
                        location: Location { line: 1, column: 1 },
                    })
                }
            },
        },
        J::String(s) => toml::Value::String(s.clone()),
        J::Array(items) => toml::Value::Array(
            items
                .iter()
                .enumerate()
                .map(|(i, item)| value(item, &format!("{path}[{i}]")))
                .collect::<Result<_, _>>()?,
        ),
        J::Object(map) => toml::Value::Table(object(map, path)?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::program::parse;

    #[test]
    fn json_programs_parse_like_toml() {
        let json = r#"{
          "program": {"id": "p", "name": "P", "version": "1", "effective": "2027-01-01", "currency": "USD"},
          "elements": [{"id": "t", "kind": "training", "purpose": "enable", "investment": "fulfillment",
                        "steps": ["sell"], "cost": {"fixed_per_year": "1000.50"}}]
        }"#;
        let toml = to_toml(json).unwrap();
        let p = parse(&toml).unwrap();
        assert_eq!(p.elements[0].id.get_ref(), "t");
        assert_eq!(p.elements[0].cost.fixed_per_year.to_string(), "1000.50");
    }

    #[test]
    fn bad_json_names_line_path_or_shape() {
        let e = to_toml("{\n  \"program\": [1,\n}").unwrap_err();
        assert_eq!(e.location.line, 3, "{e}");
        let e = to_toml(r#"{"program": {"id": null}}"#).unwrap_err();
        assert_eq!(e.path, "program.id");
        assert!(to_toml("[1, 2]")
            .unwrap_err()
            .message
            .contains("JSON object"));
        let e = parse(&to_toml(r#"{"program": {"id": "p"}, "element": []}"#).unwrap()).unwrap_err();
        assert!(e.message.contains("did you mean `elements`"), "{e}");
    }
}
