//! The shipped scenarios load, and the generated JSON Schema accepts every one of them: a small
//! validator walks each file against the schema (types, enums, bounds, required and unknown keys).

use std::path::PathBuf;

use serde_json::Value;
use toml::de::{DeTable, DeValue};

/// Every scenario under scenarios/, subdirectories included (as `simulate` finds them).
fn scenario_files() -> Vec<PathBuf> {
    fn collect(dir: &std::path::Path, files: &mut Vec<PathBuf>) {
        for path in std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()) {
            if path.is_dir() {
                collect(&path, files);
            } else if path.extension().is_some_and(|e| e == "toml") {
                files.push(path);
            }
        }
    }
    let mut files = Vec::new();
    collect(&PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scenarios"), &mut files);
    files.sort();
    files
}

#[test]
fn every_shipped_scenario_loads() {
    let files = scenario_files();
    assert!(files.len() >= 24, "the suite has {} scenarios", files.len());
    for f in files {
        let source = std::fs::read_to_string(&f).unwrap();
        if let Err(problems) = rollcage_scenario::load(&source) {
            panic!("{}: {problems:#?}", f.display());
        }
    }
}

fn number(v: &DeValue<'_>) -> Option<f64> {
    match v {
        DeValue::Integer(i) => i64::from_str_radix(i.as_str(), i.radix()).ok().map(|x| x as f64),
        DeValue::Float(f) => f.as_str().parse().ok(),
        _ => None,
    }
}

/// Checks `value` against `schema`, collecting the paths that do not fit.
fn validate(path: &str, value: &DeValue<'_>, schema: &Value, errors: &mut Vec<String>) {
    let fail = |errors: &mut Vec<String>, why: &str| errors.push(format!("{path}: {why}"));
    if let Some(values) = schema.get("enum").and_then(Value::as_array)
        && !values.iter().any(|v| v.as_str() == value.as_str())
    {
        fail(errors, "not one of the enum");
    }
    if let Some(n) = number(value)
        && (schema["minimum"].as_f64().is_some_and(|m| n < m)
            || schema["maximum"].as_f64().is_some_and(|m| n > m))
    {
        fail(errors, "out of bounds");
    }
    match (schema["type"].as_str(), value) {
        (Some("object"), DeValue::Table(t)) => {
            for r in schema["required"].as_array().into_iter().flatten() {
                if !t.iter().any(|(k, _)| Some(k.get_ref().as_ref()) == r.as_str()) {
                    fail(errors, &format!("missing {r}"));
                }
            }
            for (k, v) in t.iter() {
                let key: &str = k.get_ref();
                let child = match schema["properties"].get(key) {
                    Some(s) => s,
                    None if schema["additionalProperties"].is_object() => {
                        &schema["additionalProperties"]
                    }
                    None => {
                        fail(errors, &format!("unknown key {key}"));
                        continue;
                    }
                };
                validate(&format!("{path}.{key}"), v.get_ref(), child, errors);
            }
        }
        (Some("array"), DeValue::Array(items)) => {
            for (i, item) in items.iter().enumerate() {
                validate(&format!("{path}[{i}]"), item.get_ref(), &schema["items"], errors);
            }
        }
        (Some("integer"), DeValue::Integer(_))
        | (Some("number"), DeValue::Integer(_) | DeValue::Float(_))
        | (Some("string"), DeValue::String(_))
        | (Some("boolean"), DeValue::Boolean(_)) => {}
        (t, v) => fail(errors, &format!("{} does not match type {t:?}", v.type_str())),
    }
}

#[test]
fn the_schema_accepts_every_shipped_scenario() {
    let schema: Value =
        serde_json::from_str(&rollcage_scenario::schema::schema()).expect("the schema is JSON");
    assert_eq!(schema["$schema"], "https://json-schema.org/draft/2020-12/schema");
    for f in scenario_files() {
        let source = std::fs::read_to_string(&f).unwrap();
        let doc = DeTable::parse(&source).unwrap();
        let mut errors = Vec::new();
        validate("", &DeValue::Table(doc.into_inner()), &schema, &mut errors);
        assert!(errors.is_empty(), "{}: {errors:#?}", f.display());
    }
}

/// The validator is not vacuous: the schema rejects an unknown key, a wrong type and a value out
/// of bounds.
#[test]
fn the_schema_rejects_what_the_loader_rejects() {
    let schema: Value = serde_json::from_str(&rollcage_scenario::schema::schema()).unwrap();
    let null = scenario_files().into_iter().find(|f| f.ends_with("null-release.toml")).unwrap();
    let source = std::fs::read_to_string(null).unwrap();
    let bad = source
        .replace("runs = 1000", "runs = 0\nrunz = 3")
        .replace("players = 20000", "players = \"many\"");
    let doc = DeTable::parse(&bad).unwrap();
    let mut errors = Vec::new();
    validate("", &DeValue::Table(doc.into_inner()), &schema, &mut errors);
    assert_eq!(errors.len(), 3, "{errors:#?}");
}
