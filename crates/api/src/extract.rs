//! Extractors whose rejections are Rocket.Chat errors, never axum's plain-text ones.

use crate::body::{self, Format};
use crate::error::ApiError;
use crate::limits::MAX_BODY_BYTES;
use crate::server::BodyTimeout;
use crate::AppState;
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use serde::de::DeserializeOwned;
use std::collections::HashMap;
use threadsync_domain::error::Refusal;
use threadsync_domain::Reject;
use threadsync_domain::{Error, User};

/// The logged-in caller, from `X-User-Id` + `X-Auth-Token` (both required).
#[derive(Clone, Debug)]
pub struct CurrentUser {
    pub user: User,
    /// The token of this request, so `logout` can remove exactly it.
    pub token: String,
}

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        // The rate limiter may have authenticated this request already.
        if let Some(known) = parts.extensions.get::<CurrentUser>() {
            return Ok(known.clone());
        }
        let Some((user_id, token)) = auth_headers(&parts.headers) else {
            return Err(ApiError(Error::NotLoggedIn));
        };
        let user = state.authenticate(&user_id, &token).await?;
        crate::access::note_user(&parts.extensions, &user.id);
        Ok(CurrentUser { user, token })
    }
}

/// `X-User-Id` and `X-Auth-Token` (trimmed), when both are present and non-empty.
pub(crate) fn auth_headers(headers: &HeaderMap) -> Option<(String, String)> {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    Some((header("x-user-id")?, header("x-auth-token")?))
}

/// A request body: JSON, or `application/x-www-form-urlencoded` as
/// Rocket.Chat also accepts (see [`crate::body`] for how form fields map to
/// the body type). Missing or empty bodies read as `{}` (Rocket.Chat clients
/// send some POSTs without one); the content type is not required, since
/// several clients omit it. Refusals:
///
/// - syntax errors and wrong types: 400 `error-invalid-params`, in words
///   that name the field, never Rust types;
/// - more than [`MAX_BODY_BYTES`]: 413 `error-request-too-large`;
/// - a body that stalls or comes too slowly (see [`crate::server`]): 408
///   `error-request-timeout`, and the connection is closed.
#[derive(Debug)]
pub struct Body<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, _state: &AppState) -> Result<Self, Self::Rejection> {
        let format = Format::of(req.headers());
        let bytes = read_body(req).await?;
        let value = body::parse(&bytes, format).map_err(ApiError)?;
        // NUL cannot be stored by every backend (PostgreSQL text and jsonb
        // refuse it), so it is refused here, for every route, as bad input.
        if contains_nul(&value) {
            return Err(ApiError(Error::from(Reject::BodyHasNul)));
        }
        body::decode(value, format).map(Body).map_err(ApiError)
    }
}

/// The whole body, at most [`MAX_BODY_BYTES`].
async fn read_body(req: Request) -> Result<Bytes, ApiError> {
    let too_large = || ApiError(Error::Refused(Refusal::BodyTooLarge { limit: MAX_BODY_BYTES }));
    // A declared length over the limit is refused before reading anything.
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_BODY_BYTES as u64) {
        return Err(too_large());
    }
    match Limited::new(req.into_body(), MAX_BODY_BYTES).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) => {
            let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(&*e);
            while let Some(error) = cause {
                if error.is::<LengthLimitError>() {
                    return Err(too_large());
                }
                if error.is::<BodyTimeout>() {
                    return Err(ApiError(Error::Refused(Refusal::Timeout)));
                }
                cause = error.source();
            }
            // The client went away or sent a broken chunked encoding.
            Err(ApiError(Error::from(Reject::BodyUnreadable { detail: e.to_string() })))
        }
    }
}

fn contains_nul(value: &serde_json::Value) -> bool {
    match value {
        serde_json::Value::String(s) => s.contains('\0'),
        serde_json::Value::Array(items) => items.iter().any(contains_nul),
        serde_json::Value::Object(map) => map.iter().any(|(k, v)| k.contains('\0') || contains_nul(v)),
        _ => false,
    }
}

/// The query string as name → value (the last value wins for repeated names).
#[derive(Debug, Default)]
pub struct Params(pub HashMap<String, String>);

impl<S: Send + Sync> FromRequestParts<S> for Params {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let axum::extract::Query(map) =
            axum::extract::Query::<HashMap<String, String>>::from_request_parts(parts, state)
                .await
                .map_err(|_| ApiError(Error::from(Reject::QueryStringUnparsable)))?;
        if map.iter().any(|(k, v)| k.contains('\0') || v.contains('\0')) {
            return Err(ApiError(Error::from(Reject::QueryHasNul)));
        }
        Ok(Params(map))
    }
}

impl Params {
    /// A parameter's value; empty values count as absent, as in Rocket.Chat.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str).filter(|v| !v.is_empty())
    }

    /// A parameter as given, empty included (for the few routes where an
    /// empty value is an error rather than an absence).
    pub fn get_as_given(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// A required parameter, or `The required "<name>" query param is missing.`
    pub fn required(&self, name: &str) -> Result<&str, ApiError> {
        self.get(name)
            .ok_or_else(|| ApiError(Error::from(Reject::QueryParamMissing { name: name.to_owned() })))
    }
}

/// A GET request's query string parsed at the edge into the endpoint's own
/// request type: a struct of `Option<String>` fields that derives
/// `Deserialize` (the wire names) and utoipa's `IntoParams` (the same fields,
/// documented), so what a handler reads and what the OpenAPI document lists
/// are one type and cannot drift apart. A handler may take several: its own
/// struct and the shared groups of [`crate::requests`] (paging, listing,
/// room selector), each reading the same query string.
///
/// The rules of [`Params`] hold (a repeated name keeps its last value; NUL
/// and unparsable query strings are refused), and an empty value counts as
/// absent, as in Rocket.Chat. Values stay strings here: the services check
/// them, in each endpoint's documented order, because the realtime methods
/// make the same calls with the same checks.
#[derive(Debug)]
pub struct Query<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Params(map) = Params::from_request_parts(parts, state).await?;
        // Through a JSON object of strings: serde's plain string
        // deserializer cannot fill an `Option` field, JSON's can.
        let given: serde_json::Map<String, serde_json::Value> = map
            .into_iter()
            .filter(|(_, value)| !value.is_empty())
            .map(|(name, value)| (name, serde_json::Value::String(value)))
            .collect();
        // Every field is an optional string, so only a request type that
        // breaks that rule could fail here: still a 400, never a 500.
        serde_json::from_value(serde_json::Value::Object(given))
            .map(Query)
            .map_err(|_| ApiError(Error::from(Reject::QueryStringUnparsable)))
    }
}

/// Path parameters. Axum's own `Path` answers a value that is not UTF-8 once
/// percent-decoded (`/settings/%FF`) with a plain-text 400; here it is a
/// JSON `error-invalid-params` like every other bad input.
#[derive(Debug)]
pub struct PathParams<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for PathParams<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        // axum's texts name Rust types (`Cannot parse ... to a u64`): say it plainly.
        let Path(value) = Path::<T>::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError(Error::from(Reject::PathSegmentInvalid)))?;
        // A NUL decodes fine but no name holds one, and PostgreSQL refuses
        // it in any text parameter: stop it here, as for query strings.
        if parts.uri.path().to_ascii_lowercase().contains("%00") {
            return Err(ApiError(Error::from(Reject::PathHasNul)));
        }
        Ok(PathParams(value))
    }
}

/// A required query parameter of a [`Query`] struct, or `The required
/// "<name>" query param is missing.`
pub fn required_query<'a>(value: &'a Option<String>, name: &str) -> Result<&'a str, ApiError> {
    value.as_deref().ok_or_else(|| ApiError(Error::from(Reject::QueryParamMissing { name: name.to_owned() })))
}

/// A required body field, or `The required "<name>" param is missing.`
pub fn required<T>(value: Option<T>, name: &str) -> Result<T, ApiError> {
    value.ok_or_else(|| ApiError(Error::missing_param(name)))
}

/// A required, non-empty string body field.
pub fn required_str<'a>(value: &'a Option<String>, name: &str) -> Result<&'a str, ApiError> {
    value.as_deref().filter(|s| !s.trim().is_empty()).ok_or_else(|| ApiError(Error::missing_param(name)))
}

#[cfg(test)]
mod tests {
    /// Handlers read their query strings through a request struct
    /// ([`super::Query`]), which documents what it reads. The raw map is
    /// left to the routes where an empty value means something (a bare
    /// `?download`, an empty `email` that is an error) and to the benchmark
    /// routes, which are not part of the API.
    #[test]
    fn handlers_read_query_strings_through_request_structs() {
        let allowed: &[(&str, usize)] = &[("users.rs", 1), ("files.rs", 3), ("bench.rs", 3)];
        let routes = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/routes");
        let mut checked = 0;
        for entry in std::fs::read_dir(&routes).expect("read src/routes") {
            let path = entry.expect("an entry").path();
            let text = std::fs::read_to_string(&path).expect("read a route module");
            let raw = text.matches(": Params").count() + text.matches(": &Params").count();
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
            let limit = allowed.iter().find(|(file, _)| *file == name).map_or(0, |(_, n)| *n);
            assert!(
                raw <= limit,
                "{name} reads {raw} raw query maps (at most {limit}): use a request struct"
            );
            checked += 1;
        }
        assert!(checked > 20, "only {checked} route modules found");
    }
}
