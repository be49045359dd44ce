//! The JSON Schema of the program format, generated from the Rust types so the
//! two cannot drift. Editors use it for completion and validation of
//! `program.toml` (through Taplo or Even Better TOML) and of JSON uploads.

use super::model::Program;

/// The schema as JSON, with a stable `$id` and title.
pub fn json_schema() -> serde_json::Value {
    let mut schema = serde_json::to_value(schemars::schema_for!(Program))
        .expect("a generated schema is valid JSON");
    if let Some(obj) = schema.as_object_mut() {
        obj.insert(
            "$id".into(),
            "https://trellis.dev/schemas/program.schema.json".into(),
        );
        obj.insert("title".into(), "Trellis partner program".into());
    }
    schema
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_describes_every_section_and_forbids_unknown_keys() {
        let s = json_schema();
        let props = s["properties"].as_object().unwrap();
        for key in [
            "program",
            "objectives",
            "profiles",
            "partner_types",
            "segments",
            "plays",
            "elements",
            "tiers",
            "tracks",
            "rules",
            "governance",
            "economics",
            "competitors",
            "check",
        ] {
            assert!(props.contains_key(key), "missing {key}");
        }
        assert_eq!(s["additionalProperties"], false);
        assert_eq!(s["required"], serde_json::json!(["program"]));
        let element = &s["$defs"]["Element"];
        assert_eq!(element["properties"]["id"]["type"], "string");
        assert_eq!(element["additionalProperties"], false);
        let purpose = &s["$defs"]["Purpose"];
        assert_eq!(purpose["enum"], serde_json::json!(["enable", "motivate"]));
    }
}
