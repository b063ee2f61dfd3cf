//! Success bodies: the endpoint's object with `"success": true` added.

use crate::error::ApiError;
use axum::Json;
use serde_json::{Map, Value};

/// What a handler returns.
pub type ApiResult = Result<Json<Value>, ApiError>;

/// Adds `"success": true` to an object body.
pub fn ok(body: Value) -> ApiResult {
    let mut map = match body {
        Value::Object(map) => map,
        Value::Null => Map::new(),
        other => {
            let mut m = Map::new();
            m.insert("result".into(), other);
            m
        }
    };
    map.insert("success".into(), Value::Bool(true));
    Ok(Json(Value::Object(map)))
}
