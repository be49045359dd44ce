//! `/api/docs`: a readable API reference rendered on the server from the
//! OpenAPI document, so it works offline and without JavaScript.

use serde::Serialize;
use serde_json::Value;

#[derive(Serialize)]
struct Op {
    id: String,
    method: String,
    path: String,
    summary: String,
    description: String,
    params: Vec<Value>,
    body: Option<String>,
    responses: Vec<Value>,
}

#[derive(Serialize)]
struct Tag {
    name: String,
    description: String,
    ops: Vec<Op>,
}

fn ref_name(v: &Value) -> Option<String> {
    v.get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| r.rsplit('/').next())
        .map(str::to_string)
}

/// A short human type name: `string`, `integer`, `Partner`, `array of User`, `string | null`.
fn type_name(schema: &Value) -> (String, Option<String>) {
    if let Some(r) = ref_name(schema) {
        return (r.clone(), Some(r));
    }
    for key in ["oneOf", "anyOf", "allOf"] {
        if let Some(alts) = schema.get(key).and_then(Value::as_array) {
            let names: Vec<(String, Option<String>)> = alts.iter().map(type_name).collect();
            let r = names.iter().find_map(|(_, r)| r.clone());
            return (
                names
                    .into_iter()
                    .map(|(n, _)| n)
                    .collect::<Vec<_>>()
                    .join(" | "),
                r,
            );
        }
    }
    let ty = match schema.get("type") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(" | "),
        _ => "object".into(),
    };
    if ty.starts_with("array") {
        if let Some(items) = schema.get("items") {
            let (inner, r) = type_name(items);
            return (format!("array of {inner}"), r);
        }
    }
    (ty, None)
}

/// Renders the reference page for `api`.
pub fn render(api: &utoipa::openapi::OpenApi, templates: &super::portal::Templates) -> String {
    let doc = serde_json::to_value(api).unwrap_or(Value::Null);
    let mut tags: Vec<Tag> = doc["tags"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|t| Tag {
                    name: t["name"].as_str().unwrap_or("").to_string(),
                    description: t["description"].as_str().unwrap_or("").to_string(),
                    ops: Vec::new(),
                })
                .collect()
        })
        .unwrap_or_default();
    if let Some(paths) = doc["paths"].as_object() {
        for (path, item) in paths {
            let Some(item) = item.as_object() else {
                continue;
            };
            for method in ["get", "post", "put", "patch", "delete"] {
                let Some(op) = item.get(method) else { continue };
                let params = op["parameters"]
                    .as_array()
                    .map(|ps| {
                        ps.iter()
                            .map(|p| {
                                serde_json::json!({
                                    "name": p["name"], "in": p["in"],
                                    "required": p["required"].as_bool().unwrap_or(false),
                                    "type": type_name(&p["schema"]).0,
                                    "description": p["description"].as_str().unwrap_or(""),
                                })
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                let body = ref_name(&op["requestBody"]["content"]["application/json"]["schema"]);
                let responses = op["responses"]
                    .as_object()
                    .map(|rs| {
                        rs.iter()
                            .map(|(status, r)| {
                                let schema = r["content"]
                                    .as_object()
                                    .and_then(|c| c.values().next())
                                    .and_then(|c| ref_name(&c["schema"]));
                                serde_json::json!({"status": status, "description": r["description"], "schema": schema})
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                let o = Op {
                    id: op["operationId"].as_str().unwrap_or(method).to_string(),
                    method: method.to_string(),
                    path: path.clone(),
                    summary: op["summary"].as_str().unwrap_or("").to_string(),
                    description: op["description"].as_str().unwrap_or("").to_string(),
                    params,
                    body,
                    responses,
                };
                let tag = op["tags"][0].as_str().unwrap_or("other").to_string();
                match tags.iter_mut().find(|t| t.name == tag) {
                    Some(t) => t.ops.push(o),
                    None => tags.push(Tag {
                        name: tag,
                        description: String::new(),
                        ops: vec![o],
                    }),
                }
            }
        }
    }
    let schemas: Vec<Value> = doc["components"]["schemas"]
        .as_object()
        .map(|s| {
            s.iter()
                .map(|(name, schema)| {
                    let required: Vec<&str> = schema["required"]
                        .as_array()
                        .map(|r| r.iter().filter_map(Value::as_str).collect())
                        .unwrap_or_default();
                    let props: Vec<Value> = schema["properties"]
                        .as_object()
                        .map(|ps| {
                            ps.iter()
                                .map(|(pname, p)| {
                                    let (ty, r) = type_name(p);
                                    serde_json::json!({
                                        "name": pname, "type": ty, "ref": r,
                                        "required": required.contains(&pname.as_str()),
                                        "description": p["description"].as_str().unwrap_or(""),
                                    })
                                })
                                .collect()
                        })
                        .unwrap_or_default();
                    serde_json::json!({"name": name, "description": schema["description"].as_str().unwrap_or(""), "props": props})
                })
                .collect()
        })
        .unwrap_or_default();
    templates
        .render_str(
        "api_docs.html",
        minijinja::context! { api => doc, tags => tags.into_iter().filter(|t| !t.ops.is_empty()).collect::<Vec<_>>(), schemas => schemas },
    )
    .unwrap_or_else(|e| format!("API docs failed to render: {e}"))
}
