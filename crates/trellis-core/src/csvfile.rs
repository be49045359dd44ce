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

/// Columns of a file renamed to Trellis's own (distributors' files never
/// use the documented names): pairs of (the file's column, Trellis's column),
/// written `txn_id=transaction_id`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ColumnMap(Vec<(String, String)>);

impl ColumnMap {
    /// Parses `FILE_COLUMN=TRELLIS_COLUMN` pairs; each Trellis column must be
    /// one of `known`, and no column may be mapped twice.
    pub fn parse(pairs: &[String], known: &[&str]) -> Result<ColumnMap, String> {
        let mut out: Vec<(String, String)> = Vec::new();
        for p in pairs {
            let Some((from, to)) = p.split_once('=') else {
                return Err(format!(
                    "--map {p}: write the file's column, '=', and Trellis's column (e.g. txn_id=transaction_id)"
                ));
            };
            let (from, to) = (header_name(from), header_name(to));
            if from.is_empty() || to.is_empty() {
                return Err(format!("--map {p}: both column names are needed"));
            }
            if !known.contains(&to.as_str()) {
                return Err(format!(
                    "--map {p}: {to} is not a column Trellis reads; the columns are: {}",
                    known.join(", ")
                ));
            }
            if out.iter().any(|(f, t)| *f == from || *t == to) {
                return Err(format!("--map {p}: {from} or {to} is mapped twice"));
            }
            out.push((from, to));
        }
        Ok(ColumnMap(out))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Renames the file's headers (already through [`header_name`]). Every
    /// mapped column must be in the file, and a renamed column must not
    /// meet one of the same name.
    pub fn apply(&self, source: &str, headers: &mut [String]) -> Result<(), Rejected> {
        let mut problems = Vec::new();
        for (from, to) in &self.0 {
            match headers.iter().position(|h| h == from) {
                None => problems.push(format!(
                    "{source}:1: --map {from}={to}: the file has no column {from} (its columns: {})",
                    headers.join(", ")
                )),
                Some(_) if headers.iter().any(|h| h == to) => problems.push(format!(
                    "{source}:1: --map {from}={to}: the file already has a column {to}"
                )),
                Some(i) => headers[i] = to.clone(),
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(Rejected(problems))
        }
    }
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

    #[test]
    fn a_column_map_renames_the_files_columns() {
        let known = ["transaction_id", "date", "sku"];
        let m = ColumnMap::parse(
            &["TxN_ID = transaction_id".into(), "day=date".into()],
            &known,
        )
        .unwrap();
        let mut headers = h(&["txn_id", "Day", "sku"]);
        m.apply("f.csv", &mut headers).unwrap();
        assert_eq!(headers, ["transaction_id", "date", "sku"]);
        let mut missing = h(&["id", "day"]);
        let e = m.apply("f.csv", &mut missing).unwrap_err();
        assert!(e.0[0].contains("the file has no column txn_id"), "{e}");
        let mut both = h(&["txn_id", "transaction_id", "day"]);
        assert!(m.apply("f.csv", &mut both).unwrap_err().0[0].contains("already has"));
        for bad in ["txn_id", "txn_id=nonsense", "=date", "a=date"] {
            let pairs = vec![bad.to_string(), "b=date".to_string()];
            assert!(ColumnMap::parse(&pairs, &known).is_err(), "{bad}");
        }
    }

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
