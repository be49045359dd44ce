//! What every CSV file Trellis imports must look like: known columns, the
//! required ones present, problems named by file and line.

/// A file that could not be imported: one message per bad line, each
/// starting with `FILE:LINE:`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected(pub Vec<String>);

impl std::fmt::Display for Rejected {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for l in &self.0 {
            writeln!(f, "{l}")?;
        }
        write!(f, "{} problem(s); nothing was imported", self.0.len())
    }
}

impl std::error::Error for Rejected {}

/// A header as written: without a byte-order mark, trimmed, lower case.
pub fn header_name(raw: &str) -> String {
    raw.trim_start_matches('\u{feff}')
        .trim()
        .to_ascii_lowercase()
}

/// Checks a header line: every column is `known` (or accepted by
/// `extra_ok`) and every `required` one is there. Returns, for each known
/// column in order, its position in the file.
pub fn check_headers(
    source: &str,
    headers: &[String],
    known: &[&str],
    required: &[&str],
    extra_ok: impl Fn(&str) -> bool,
) -> Result<Vec<Option<usize>>, Rejected> {
    let mut problems = Vec::new();
    let unknown: Vec<&str> = headers
        .iter()
        .map(String::as_str)
        .filter(|h| !known.contains(h) && !extra_ok(h))
        .collect();
    if !unknown.is_empty() {
        problems.push(format!(
            "{source}:1: unknown column(s) {}; the columns are: {}",
            unknown.join(", "),
            known.join(", ")
        ));
    }
    let col = |name: &str| headers.iter().position(|h| h == name);
    for r in required {
        if col(r).is_none() {
            problems.push(format!("{source}:1: the column {r} is missing"));
        }
    }
    if problems.is_empty() {
        Ok(known.iter().map(|c| col(c)).collect())
    } else {
        Err(Rejected(problems))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(names: &[&str]) -> Vec<String> {
        names.iter().map(|n| header_name(n)).collect()
    }

    #[test]
    fn columns_are_found_in_any_order_and_case() {
        let idx = check_headers(
            "f.csv",
            &h(&["\u{feff}B", " a "]),
            &["a", "b", "c"],
            &["a"],
            |_| false,
        )
        .unwrap();
        assert_eq!(idx, [Some(1), Some(0), None]);
    }

    #[test]
    fn unknown_and_missing_columns_are_named_on_line_one() {
        let e =
            check_headers("f.csv", &h(&["a", "zz"]), &["a", "b"], &["b"], |_| false).unwrap_err();
        assert_eq!(
            e.0,
            [
                "f.csv:1: unknown column(s) zz; the columns are: a, b",
                "f.csv:1: the column b is missing"
            ]
        );
        assert!(check_headers("f.csv", &h(&["a", "zz"]), &["a"], &[], |c| c == "zz").is_ok());
    }
}
