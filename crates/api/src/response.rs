//! Success bodies: the endpoint's object with `"success": true` added.

use crate::error::ApiError;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};
use serde_json::{Map, Value};
use threadsync_domain::Error;

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

/// A success body serialised straight from typed data: `body`'s fields
/// followed by `"success": true`, the same bytes [`ok`] would produce from
/// the equivalent `Value`.
///
/// For the endpoints that answer pages of messages: building a `Value`
/// first copies every document once more before it is written (the
/// `s2` memory figures in BENCHMARKS.md).
pub struct Success<T>(pub T);

#[derive(Serialize)]
struct Wire<'a, T: Serialize> {
    #[serde(flatten)]
    body: &'a T,
    success: bool,
}

impl<T: Serialize> IntoResponse for Success<T> {
    fn into_response(self) -> Response {
        match serde_json::to_vec(&Wire { body: &self.0, success: true }) {
            Ok(bytes) => ([(header::CONTENT_TYPE, "application/json")], bytes).into_response(),
            Err(e) => ApiError(Error::internal(e)).into_response(),
        }
    }
}

/// What a handler answering a typed body returns.
pub type TypedResult<T> = Result<Success<T>, ApiError>;

/// A JSON object of one field named at run time: `{key: value}`.
pub struct Keyed<T>(pub &'static str, pub T);

impl<T: Serialize> Serialize for Keyed<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(1))?;
        map.serialize_entry(self.0, &self.1)?;
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The typed body and the `Value` body are the same bytes.
    #[tokio::test]
    async fn success_writes_what_ok_writes() {
        #[derive(Serialize)]
        struct Page {
            update: Vec<u32>,
            remove: Vec<u32>,
        }
        let typed = Success(Keyed("messages", Page { update: vec![1, 2], remove: vec![] })).into_response();
        assert_eq!(typed.headers()[header::CONTENT_TYPE], "application/json");
        let typed = axum::body::to_bytes(typed.into_body(), 1 << 20).await.expect("body");
        let Ok(Json(value)) = ok(json!({"messages": {"update": [1, 2], "remove": []}})) else {
            panic!("ok() failed");
        };
        assert_eq!(typed, serde_json::to_vec(&value).expect("ser"));
        assert_eq!(
            std::str::from_utf8(&typed).expect("utf8"),
            r#"{"messages":{"update":[1,2],"remove":[]},"success":true}"#
        );
    }
}
