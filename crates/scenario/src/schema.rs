//! The scenario format as a JSON Schema (draft 2020-12), generated from [`crate::spec`].
//!
//! Editors that understand JSON Schema for TOML (Taplo, "Even Better TOML") use it to complete
//! and check scenario files as they are typed.

use serde_json::{Map, Value, json};

use crate::spec::{Kind, TableSpec};

fn table(spec: &TableSpec) -> Value {
    let mut properties = Map::new();
    for key in spec.keys {
        let mut property = kind(&key.kind);
        property
            .as_object_mut()
            .expect("every kind is an object schema")
            .insert("description".to_string(), Value::from(key.doc));
        properties.insert(key.name.to_string(), property);
    }
    let required: Vec<&str> = spec.keys.iter().filter(|k| k.required).map(|k| k.name).collect();
    json!({
        "type": "object",
        "description": spec.doc,
        "additionalProperties": false,
        "required": required,
        "properties": properties,
    })
}

/// `schema` with its `default`, if the key has one.
fn with_default(mut schema: Value, default: Option<Value>) -> Value {
    if let Some(d) = default {
        schema["default"] = d;
    }
    schema
}

fn kind(kind: &Kind) -> Value {
    let mut schema = match kind {
        Kind::Integer { min, max, default } => with_default(
            json!({ "type": "integer", "minimum": min, "maximum": max }),
            default.map(Value::from),
        ),
        Kind::Number { min, max, default } => with_default(
            json!({ "type": "number", "minimum": min, "maximum": max }),
            default.map(Value::from),
        ),
        Kind::Text { default } => {
            with_default(json!({ "type": "string" }), default.map(Value::from))
        }
        Kind::Name => json!({ "type": "string", "pattern": "^[a-z0-9][a-z0-9_-]{0,63}$" }),
        Kind::Choice { values, default } => {
            with_default(json!({ "type": "string", "enum": values }), default.map(Value::from))
        }
        Kind::Boolean { default } => {
            with_default(json!({ "type": "boolean" }), default.map(Value::from))
        }
        Kind::Table(spec) => table(spec),
        Kind::Tables { spec, min, max } => {
            json!({ "type": "array", "minItems": min, "maxItems": max, "items": table(spec) })
        }
        Kind::Shares { max } => json!({
            "type": "object",
            "minProperties": 1,
            "maxProperties": max,
            "propertyNames": { "pattern": "^[a-z0-9][a-z0-9_-]{0,63}$" },
            "additionalProperties": { "type": "number", "minimum": 0, "maximum": 1 },
        }),
    };
    if schema.get("description").is_some() {
        // A table's own description is kept under the key's description.
        let inner = schema["description"].take();
        schema["$comment"] = inner;
    }
    schema
}

/// The JSON Schema of a scenario file, pretty-printed.
pub fn schema() -> String {
    let mut root = table(&crate::spec::SCENARIO);
    root["$schema"] = json!("https://json-schema.org/draft/2020-12/schema");
    root["$id"] = json!("https://github.com/rollcage/rollcage/scenario.schema.json");
    root["title"] = json!("rollcage scenario");
    serde_json::to_string_pretty(&root).expect("a JSON value serialises") + "\n"
}
