//! Reading a program file: TOML into [`Program`], with errors that give the
//! line, column and field path, and a "did you mean" for unknown keys.

use super::model::Program;
use serde::Serialize;
use std::fmt;

/// A position in the source, 1-based.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
pub struct Location {
    pub line: usize,
    pub column: usize,
}

impl Location {
    /// The line and column of byte `offset` in `src` (for one lookup; use
    /// [`LineIndex`] for many).
    pub fn of(src: &str, offset: usize) -> Location {
        LineIndex::new(src).location(offset)
    }
}

/// Maps byte offsets to locations quickly when many are needed for one text.
pub struct LineIndex<'a> {
    src: &'a str,
    starts: Vec<usize>,
}

impl<'a> LineIndex<'a> {
    pub fn new(src: &'a str) -> LineIndex<'a> {
        let starts = std::iter::once(0)
            .chain(src.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        LineIndex { src, starts }
    }

    pub fn location(&self, offset: usize) -> Location {
        let offset = self.src.floor_char_boundary(offset.min(self.src.len()));
        let line = self.starts.partition_point(|&s| s <= offset);
        let start = self.starts[line - 1];
        Location {
            line,
            column: self.src[start..offset].chars().count() + 1,
        }
    }
}

/// Why a program file could not be read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ParseError {
    /// The field path, e.g. `elements[2].purpose` (empty for syntax errors).
    pub path: String,
    pub message: String,
    pub location: Location,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Location { line, column } = self.location;
        if self.path.is_empty() {
            write!(f, "{line}:{column}: {}", self.message)
        } else {
            write!(f, "{line}:{column}: {}: {}", self.path, self.message)
        }
    }
}

impl std::error::Error for ParseError {}

/// Parses a program definition.
pub fn parse(src: &str) -> Result<Program, ParseError> {
    let de = toml::Deserializer::parse(src).map_err(|e| error(src, String::new(), &e))?;
    serde_path_to_error::deserialize(de).map_err(|err| {
        let path = err.path().to_string();
        // `Spanned` values add an internal segment; it means nothing to authors.
        let path = path
            .split('.')
            .filter(|seg| !seg.starts_with("$__"))
            .collect::<Vec<_>>()
            .join(".");
        let path = if path == "." { String::new() } else { path };
        error(src, path, &err.into_inner())
    })
}

/// Parses TOML syntax only, into a plain table (for diffs).
pub fn table(src: &str) -> Result<toml::Table, ParseError> {
    toml::from_str(src).map_err(|e: toml::de::Error| error(src, String::new(), &e))
}

fn error(src: &str, path: String, inner: &toml::de::Error) -> ParseError {
    let location = inner
        .span()
        .map(|s| Location::of(src, s.start))
        .unwrap_or(Location { line: 1, column: 1 });
    let mut message = inner.message().trim().to_string();
    if let Some(hint) = did_you_mean(&message) {
        message.push_str(&format!(" (did you mean `{hint}`?)"));
    }
    ParseError {
        path,
        message,
        location,
    }
}

/// For "unknown field `x`, expected one of `a`, `b`", the closest expected name.
fn did_you_mean(message: &str) -> Option<String> {
    let rest = message.strip_prefix("unknown field `")?;
    let (unknown, rest) = rest.split_once('`')?;
    let candidates: Vec<&str> = rest.split('`').skip(1).step_by(2).collect();
    candidates
        .into_iter()
        .map(|c| (edit_distance(unknown, c), c))
        .filter(|(d, c)| *d <= 2.max(c.len() / 3))
        .min()
        .map(|(_, c)| c.to_string())
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != *cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = "[program]\nid = \"p\"\nname = \"P\"\nversion = \"1\"\neffective = \"2027-01-01\"\ncurrency = \"USD\"\n";

    #[test]
    fn minimal_program_parses() {
        let p = parse(MINIMAL).unwrap();
        assert_eq!(p.program.id.get_ref(), "p");
        assert_eq!(
            Location::of(MINIMAL, p.program.id.span().start),
            Location { line: 2, column: 6 }
        );
    }

    #[test]
    fn unknown_keys_suggest_the_right_one() {
        let src = format!("{MINIMAL}\n[[elements]]\nid = \"e\"\nkind = \"training\"\npurpose = \"enable\"\ninvestment = \"fulfillment\"\nstep = [\"sell\"]\n");
        let e = parse(&src).unwrap_err();
        assert!(e.message.contains("did you mean `steps`?"), "{e}");
        assert_eq!(e.location.line, 13, "{e}");
    }

    #[test]
    fn wrong_values_name_the_path() {
        let src = format!("{MINIMAL}\n[[elements]]\nid = \"e\"\nkind = \"training\"\npurpose = \"inspire\"\ninvestment = \"fulfillment\"\n");
        let e = parse(&src).unwrap_err();
        assert_eq!(e.path, "elements[0].purpose", "{e}");
        assert_eq!(e.location.line, 11, "{e}");
        let e = parse(&MINIMAL.replace("id = \"p\"", "id = 5")).unwrap_err();
        assert_eq!(e.path, "program.id", "{e}");
        let e = parse("[program\nid = 1").unwrap_err();
        assert_eq!(e.location.line, 1, "{e}");
    }

    #[test]
    fn line_index_counts_lines_and_characters() {
        let src = "ab\nçd\n\nxyz";
        let idx = LineIndex::new(src);
        let at = |line, column| Location { line, column };
        assert_eq!(idx.location(0), at(1, 1));
        assert_eq!(idx.location(2), at(1, 3), "the newline ends line 1");
        assert_eq!(idx.location(3), at(2, 1));
        assert_eq!(idx.location(5), at(2, 2), "ç is one character of two bytes");
        assert_eq!(
            idx.location(4),
            at(2, 1),
            "inside ç rounds down to its start"
        );
        assert_eq!(idx.location(7), at(3, 1), "an empty line");
        assert_eq!(idx.location(8), at(4, 1));
        assert_eq!(idx.location(10), at(4, 3));
        assert_eq!(idx.location(99), at(4, 4), "past the end clamps to the end");
    }

    #[test]
    fn distance() {
        assert_eq!(edit_distance("step", "steps"), 1);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }
}
