//! Files: `rooms.upload/{rid}`, `rooms.media/{rid}` + `rooms.mediaConfirm/{rid}/{fileId}`,
//! the downloads at `/file-upload/{id}/{name}`, and the rooms' file listings
//! (`channels.files`, `groups.files`, `im.files`, `dm.files`), generated
//! from one descriptor per family ([`room_files!`]). Rules: docs/files.md.

use super::room_reads::{room_id_of, RoomReadQuery};
use crate::error::ApiError;
use crate::extract::{auth_headers, Body, CurrentUser, Params, PathParams, Query};
use crate::openapi::schemas as doc;
use crate::requests::PageQuery;
use crate::response::{ok, ApiResult};
use crate::routing::routes;
use crate::routing::Routes;
use crate::AppState;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use serde_json::{json, Map, Value};
use std::sync::Arc;
use threadsync_domain::error::Refusal;
use threadsync_domain::upload::shown_inline;
use threadsync_domain::Reject;
use threadsync_domain::{Error, Room, RoomType, User};
use threadsync_service::{FileListParams, FileMessage, IncomingFile, RoomSelector, Services, StoredFile};

pub fn routes() -> Routes {
    Routes::new()
        .merge(routes!(upload))
        .merge(routes!(media))
        .merge(routes!(media_confirm))
        .merge(routes!(download))
        .merge(channels::routes())
        .merge(groups::routes())
        .merge(im::routes())
        .merge(dm::routes())
}

/// The most bytes one text field of an upload form may have (`msg`,
/// `description`... are bounded far lower by their own rules).
const MAX_FORM_FIELD_BYTES: u64 = 256 * 1024;
/// The most text fields one upload form may have.
const MAX_FORM_FIELDS: usize = 32;

/// A stored file that no record names yet: removed if the request ends
/// before it is handed on (an error, or the client going away mid-request,
/// which drops the handler).
struct Pending {
    services: Arc<Services>,
    file: Option<StoredFile>,
}

impl Pending {
    fn take(&mut self) -> Option<StoredFile> {
        self.file.take()
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        if let Some(file) = self.file.take() {
            let services = Arc::clone(&self.services);
            tokio::spawn(async move { services.discard_file(file).await });
        }
    }
}

fn not_multipart() -> ApiError {
    ApiError(Error::from(Reject::UploadFormExpected))
}

fn bad_form(e: &multer::Error) -> ApiError {
    ApiError(Error::from(Reject::MultipartInvalid { detail: e.to_string() }))
}

/// What the file of a form is: a room upload (field `file`) or a user's
/// picture (field `image`); each is checked and stored its own way.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum FormFile {
    Upload,
    Avatar,
}

impl FormFile {
    fn field(self) -> &'static str {
        match self {
            FormFile::Upload => "file",
            FormFile::Avatar => "image",
        }
    }
}

/// Whether a request's body is a multipart form.
pub(super) fn is_multipart(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().to_ascii_lowercase().starts_with("multipart/form-data"))
}

/// Reads an upload form: the file (exactly one, in the field `kind` names)
/// goes to the blob store as it arrives; the text fields are collected.
/// Checks, as Rocket.Chat's: a file in another field is `invalid-field`;
/// no file is `No file uploaded`; a second file is refused.
pub(super) async fn read_upload_form(
    services: &Arc<Services>,
    request: Request,
    kind: FormFile,
) -> Result<(StoredFile, Map<String, Value>), ApiError> {
    let boundary = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| multer::parse_boundary(v).ok())
        .ok_or_else(not_multipart)?;
    let limits = multer::SizeLimit::new().per_field(MAX_FORM_FIELD_BYTES).for_field(kind.field(), u64::MAX);
    let constraints = multer::Constraints::new().size_limit(limits);
    let stream = request.into_body().into_data_stream();
    let mut form = multer::Multipart::with_constraints(stream, boundary, constraints);
    let mut pending = Pending { services: Arc::clone(services), file: None };
    let mut fields = Map::new();
    while let Some(field) = form.next_field().await.map_err(|e| bad_form(&e))? {
        let name = field.name().unwrap_or_default().to_owned();
        if field.file_name().is_some() || name == kind.field() {
            if name != kind.field() {
                return Err(ApiError(Error::from(Reject::UploadFieldInvalid)));
            }
            if pending.file.is_some() {
                return Err(ApiError(Error::from(Reject::OneFileOnly)));
            }
            let file_name = field.file_name().map(str::to_owned);
            let content_type = field.content_type().map(ToString::to_string);
            let body = field.map(|chunk| chunk.map_err(std::io::Error::other));
            let incoming = IncomingFile {
                name: file_name.as_deref(),
                content_type: content_type.as_deref(),
                body: Box::pin(body),
            };
            let stored = match kind {
                FormFile::Upload => services.store_file(incoming).await?,
                FormFile::Avatar => services.store_avatar_image(incoming).await?,
            };
            pending.file = Some(stored);
        } else {
            if fields.len() >= MAX_FORM_FIELDS {
                return Err(ApiError(Error::from(Reject::UploadTooManyFields { max: MAX_FORM_FIELDS })));
            }
            let text = field.text().await.map_err(|e| bad_form(&e))?;
            fields.insert(name, Value::String(text));
        }
    }
    let file = pending.take().ok_or_else(|| ApiError(Error::from(Reject::NoFileUploaded)))?;
    Ok((file, fields))
}

/// The room of an upload, checked before the body is read.
async fn target(services: &AppState, caller: &CurrentUser, rid: &str) -> Result<Room, ApiError> {
    Ok(services.upload_target(&caller.user, rid).await?)
}

/// Uploads a file and sends the message that shares it, in one call.
///
/// `POST rooms.upload/{rid}` (auth), `multipart/form-data`: `file` and
/// optionally `msg`, `description`, `tmid`, `tshow`, `alias`, `emoji`,
/// `avatar`, `customFields` → `{message}`. Checks: the room is readable
/// (403), uploads are on, the caller may post; then the file's type and
/// size; then the message's own rules.
#[utoipa::path(
    post,
    path = "/api/v1/rooms.upload/{rid}",
    tag = "rooms",
    security(("userId" = [], "authToken" = [])),
    params(("rid" = String, Path, description = "The room.")),
    request_body(content = doc::UploadForm, content_type = "multipart/form-data"),
    responses(
        (status = 200, description = "The message sharing the file.", body = doc::MessageAnswer),
        (status = 400, description = "Uploads off; a room the caller may not post to; no file, a file in another field, two files; a type refused by `FileUpload_MediaTypeWhiteList` / `BlackList` (`error-invalid-file-type`); over `FileUpload_MaxFileSize` (`error-file-too-large`); a description over `Message_MaxAllowedSize`; a bad `tmid`.", body = doc::ErrorBody),
        (status = 403, description = "The caller cannot read the room.", body = doc::ErrorBody),
    ),
)]
async fn upload(
    State(services): State<AppState>,
    caller: CurrentUser,
    PathParams(rid): PathParams<String>,
    request: Request,
) -> ApiResult {
    let room = target(&services, &caller, &rid).await?;
    let (file, fields) = read_upload_form(&services, request, FormFile::Upload).await?;
    let message = match FileMessage::from_fields(fields) {
        Ok(message) => message,
        Err(e) => {
            services.discard_file(file).await;
            return Err(ApiError(e));
        }
    };
    let message = services.share_file(&caller.user, &room, file, message).await?;
    ok(json!({"message": message}))
}

/// Uploads a file to share later with `rooms.mediaConfirm` (within 24 hours).
///
/// `POST rooms.media/{rid}` (auth), `multipart/form-data` with `file` →
/// `{file: {_id, url}}`. Same checks as `rooms.upload`.
#[utoipa::path(
    post,
    path = "/api/v1/rooms.media/{rid}",
    tag = "rooms",
    security(("userId" = [], "authToken" = [])),
    params(("rid" = String, Path, description = "The room.")),
    request_body(content = doc::UploadForm, content_type = "multipart/form-data"),
    responses(
        (status = 200, description = "The stored file, not yet shared.", body = doc::MediaAnswer),
        (status = 400, description = "As `rooms.upload`.", body = doc::ErrorBody),
        (status = 403, description = "The caller cannot read the room.", body = doc::ErrorBody),
    ),
)]
async fn media(
    State(services): State<AppState>,
    caller: CurrentUser,
    PathParams(rid): PathParams<String>,
    request: Request,
) -> ApiResult {
    let room = target(&services, &caller, &rid).await?;
    // `content` (end-to-end encryption metadata) has no use here.
    let (file, _fields) = read_upload_form(&services, request, FormFile::Upload).await?;
    let upload = services.keep_media(&caller.user, &room, file).await?;
    ok(json!({"file": {"_id": upload.id, "url": upload.path()}}))
}

/// Shares a file uploaded with `rooms.media` in a message.
///
/// `POST rooms.mediaConfirm/{rid}/{fileId}` (auth) `{msg?, description?,
/// tmid?, tshow?, alias?, emoji?, avatar?, customFields?}` → `{message}`.
/// Checks: the room is readable (403); the file is the caller's upload to
/// this room and not yet shared (`invalid-file`); the description's size;
/// the message's rules.
#[utoipa::path(
    post,
    path = "/api/v1/rooms.mediaConfirm/{rid}/{fileId}",
    tag = "rooms",
    security(("userId" = [], "authToken" = [])),
    params(
        ("rid" = String, Path, description = "The room."),
        ("fileId" = String, Path, description = "The `_id` `rooms.media` answered."),
    ),
    request_body = doc::MediaConfirmBody,
    responses(
        (status = 200, description = "The message sharing the file.", body = doc::MessageAnswer),
        (status = 400, description = "No such unshared upload of the caller in this room (`invalid-file`); a description over `Message_MaxAllowedSize`; a room the caller may not post to; a bad `tmid`.", body = doc::ErrorBody),
        (status = 403, description = "The caller cannot read the room.", body = doc::ErrorBody),
    ),
)]
async fn media_confirm(
    State(services): State<AppState>,
    caller: CurrentUser,
    PathParams((rid, file_id)): PathParams<(String, String)>,
    Body(body): Body<Map<String, Value>>,
) -> ApiResult {
    let message = FileMessage::from_fields(body)?;
    let message = services.confirm_media(&caller.user, &rid, &file_id, message).await?;
    ok(json!({"message": message}))
}

/// The caller of a download, from the `X-User-Id` / `X-Auth-Token`
/// headers, the `rc_uid` / `rc_token` cookies (what the web client's
/// `<img>` tags carry) or the same names in the query string (links in
/// mobile apps). No credentials is `None`; wrong ones are refused.
async fn download_caller(
    services: &AppState,
    headers: &HeaderMap,
    params: &Params,
) -> Result<Option<User>, ApiError> {
    let from_cookies = || {
        let mut uid = None;
        let mut token = None;
        for cookie in headers.get_all(header::COOKIE).iter().filter_map(|v| v.to_str().ok()) {
            for pair in cookie.split(';') {
                match pair.trim().split_once('=') {
                    Some(("rc_uid", v)) if !v.is_empty() => uid = Some(v.to_owned()),
                    Some(("rc_token", v)) if !v.is_empty() => token = Some(v.to_owned()),
                    _ => {}
                }
            }
        }
        uid.zip(token)
    };
    let from_query = || {
        let get = |k: &str| params.get(k).map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned);
        get("rc_uid").zip(get("rc_token"))
    };
    let Some((uid, token)) = auth_headers(headers).or_else(from_cookies).or_else(from_query) else {
        return Ok(None);
    };
    match services.authenticate(&uid, &token).await {
        Ok(user) => Ok(Some(user)),
        Err(Error::NotLoggedIn) => Err(ApiError(Error::Forbidden)),
        Err(e) => Err(ApiError(e)),
    }
}

async fn serve_file(
    services: &AppState,
    headers: &HeaderMap,
    params: &Params,
    id: &str,
) -> Result<Response, ApiError> {
    let caller = download_caller(services, headers, params).await?;
    let (record, blob) = services.file_download(caller.as_ref(), id).await?;
    let size = blob.size;
    let range = match headers.get(header::RANGE).map(|v| v.to_str()) {
        Some(Ok(asked)) => range_asked(asked, size),
        _ => RangeAsk::Whole,
    };
    let (status, blob, length, content_range) = match range {
        RangeAsk::Whole => (StatusCode::OK, blob, size, None),
        RangeAsk::Unsatisfiable => {
            return Err(ApiError(Error::Refused(Refusal::RangeNotSatisfiable { size })));
        }
        RangeAsk::Bytes { start, end } => {
            // Opened again at `start`: the bytes before it are never read.
            drop(blob);
            let length = end - start + 1;
            let part = services.file_range(&record, start, length).await?;
            (StatusCode::PARTIAL_CONTENT, part, length, Some(format!("bytes {start}-{end}/{size}")))
        }
    };
    let inline = shown_inline(&record.content_type) && params.get_as_given("download").is_none();
    let disposition = format!(
        "{}; filename*=UTF-8''{}",
        if inline { "inline" } else { "attachment" },
        record.path().rsplit('/').next().unwrap_or("file")
    );
    let mut response = (status, axum::body::Body::from_stream(blob.body)).into_response();
    let out = response.headers_mut();
    let value = |s: &str| {
        HeaderValue::from_str(s).unwrap_or_else(|_| HeaderValue::from_static("application/octet-stream"))
    };
    out.insert(header::CONTENT_TYPE, value(&record.content_type));
    out.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    // Players (audio, video, PDF) seek by asking for ranges.
    out.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    if let Some(content_range) = content_range.as_deref().and_then(|r| HeaderValue::from_str(r).ok()) {
        out.insert(header::CONTENT_RANGE, content_range);
    }
    if let Ok(disposition) = HeaderValue::from_str(&disposition) {
        out.insert(header::CONTENT_DISPOSITION, disposition);
    }
    // A file never changes under its id, but access to it can end: only
    // the browser that fetched it may keep it, and not for long.
    out.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, max-age=3600"));
    // Served from the server's own origin: never sniffed into something
    // runnable, and sandboxed if a browser opens it as a page.
    out.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    out.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static("default-src 'none'; sandbox"));
    Ok(response)
}

/// What a download's `Range` header asks of a file of `size` bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum RangeAsk {
    /// No range we serve as such: the whole file, 200. That is also the
    /// answer to several ranges at once, or to a header we cannot read,
    /// which RFC 9110 (§14.2) lets a server ignore.
    Whole,
    /// Bytes `start..=end`, both within the file: 206.
    Bytes { start: u64, end: u64 },
    /// A range that starts past the end (or an empty suffix): 416.
    Unsatisfiable,
}

/// Reads `bytes=START-END`, `bytes=START-` and `bytes=-SUFFIX` (RFC 9110
/// §14.1.2); an end past the file is cut to its last byte.
fn range_asked(header: &str, size: u64) -> RangeAsk {
    let Some(spec) = header.trim().strip_prefix("bytes=") else { return RangeAsk::Whole };
    if spec.contains(',') {
        return RangeAsk::Whole;
    }
    let Some((first, last)) = spec.split_once('-') else { return RangeAsk::Whole };
    let (first, last) = (first.trim(), last.trim());
    let number = |s: &str| if s.bytes().all(|b| b.is_ascii_digit()) { s.parse::<u64>().ok() } else { None };
    if first.is_empty() {
        return match number(last) {
            None => RangeAsk::Whole,
            Some(0) => RangeAsk::Unsatisfiable,
            Some(_) if size == 0 => RangeAsk::Unsatisfiable,
            Some(suffix) => RangeAsk::Bytes { start: size.saturating_sub(suffix), end: size - 1 },
        };
    }
    let Some(start) = number(first) else { return RangeAsk::Whole };
    let end = if last.is_empty() {
        u64::MAX
    } else {
        match number(last) {
            Some(end) if end >= start => end,
            _ => return RangeAsk::Whole,
        }
    };
    if start >= size {
        return RangeAsk::Unsatisfiable;
    }
    RangeAsk::Bytes { start, end: end.min(size - 1) }
}

/// Downloads a shared file.
///
/// `GET /file-upload/{id}/{name}`: for a member who can read the file's
/// room, logged in by headers, the `rc_uid` / `rc_token` cookies or query
/// parameters; without credentials only when `FileUpload_ProtectFiles` is
/// off. The name is the client's; the id decides. `?download` asks for an
/// attachment; images, audio, video and PDF are otherwise shown inline.
/// One byte range (`Range: bytes=…`) is served as 206 with `Content-Range`;
/// one past the end is 416 (`error-range-not-satisfiable`).
#[utoipa::path(
    get,
    path = "/file-upload/{id}/{name}",
    tag = "rooms",
    params(
        ("id" = String, Path, description = "The file's `_id`."),
        ("name" = String, Path, description = "Its name (not checked)."),
        ("rc_uid" = Option<String>, Query, description = "The user id, when no headers or cookies carry it."),
        ("rc_token" = Option<String>, Query, description = "The auth token, with `rc_uid`."),
        ("download" = Option<String>, Query, description = "Present: served as an attachment."),
    ),
    responses(
        (status = 200, description = "The file's bytes, with its media type.", content_type = "application/octet-stream", body = String),
        (status = 206, description = "The range of bytes asked for (`Range: bytes=…`), with `Content-Range`.", content_type = "application/octet-stream", body = String),
        (status = 416, description = "The range starts past the end of the file (`error-range-not-satisfiable`, `Content-Range: bytes */size`).", body = doc::ErrorBody),
        (status = 400, description = "No such file, or one of a room the caller cannot read (`error-file-not-found`).", body = doc::ErrorBody),
        (status = 403, description = "No or wrong credentials while files are protected.", body = doc::ErrorBody),
    ),
)]
async fn download(
    State(services): State<AppState>,
    PathParams((id, _name)): PathParams<(String, String)>,
    headers: HeaderMap,
    // The raw parameters: a bare `?download` (empty) means "as an
    // attachment", so the absent-when-empty rule of `Query` cannot apply.
    params: Params,
) -> Result<Response, ApiError> {
    serve_file(&services, &headers, &params, &id).await
}

/// `<family>.files`' own filters.
#[derive(serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
struct FilesQuery {
    /// Only files whose name contains this text (any case).
    name: Option<String>,
    /// Only this type group: `image`, `video`, `audio`, `application`, `text`...
    #[param(rename = "typeGroup")]
    type_group: Option<String>,
}

/// `<family>.files`: the room's shared files, newest first.
async fn files(
    services: &AppState,
    caller: &CurrentUser,
    t: RoomType,
    (room, filters, page): (RoomReadQuery, FilesQuery, PageQuery),
) -> ApiResult {
    let room_id = room_id_of(services, caller, t, &room).await?;
    let room = RoomSelector { room_id: room_id.as_deref(), room_name: room.room_name() };
    let list = FileListParams {
        name: filters.name.as_deref(),
        type_group: filters.type_group.as_deref(),
        count: page.count.as_deref(),
        offset: page.offset.as_deref(),
    };
    let offset = page.offset.as_deref().and_then(|o| o.trim().parse::<u64>().ok()).unwrap_or(0);
    let listing = services.room_files(&caller.user, t, room, list).await?;
    ok(
        json!({"files": listing.items, "count": listing.items.len(), "offset": offset, "total": listing.total}),
    )
}

/// One family's `files` handler and route:
/// `room_files!(module, RoomType, "tag", "/api/v1/<family>.files", "<what the room is>")`.
macro_rules! room_files {
    ($module:ident, $t:expr, $tag:literal, $path:literal, $room:literal) => {
        pub mod $module {
            use super::*;

            pub fn routes() -> Routes {
                Routes::new().merge(routes!(files_handler))
            }

            /// A room's shared files, newest first.
            ///
            /// `GET <family>.files?roomId=&name=&typeGroup=&count=&offset=`
            /// (auth) → `{files, count, offset, total}`.
            #[utoipa::path(
                get,
                path = $path,
                tag = $tag,
                security(("userId" = [], "authToken" = [])),
                params(RoomReadQuery, FilesQuery, PageQuery),
                responses(
                    (status = 200, description = "The files.", body = doc::FilesPage),
                    (status = 400, description = concat!("No room named; no such ", $room, " or one the caller may not read; a bad `count` or `offset`."), body = doc::ErrorBody),
                ),
            )]
            async fn files_handler(
                State(services): State<AppState>,
                caller: CurrentUser,
                Query(room): Query<RoomReadQuery>,
                Query(filters): Query<FilesQuery>,
                Query(page): Query<PageQuery>,
            ) -> ApiResult {
                super::files(&services, &caller, $t, (room, filters, page)).await
            }
        }
    };
}

room_files!(channels, RoomType::Channel, "channels", "/api/v1/channels.files", "public channel");
room_files!(groups, RoomType::Group, "groups", "/api/v1/groups.files", "private group");
room_files!(im, RoomType::Direct, "im", "/api/v1/im.files", "direct message");
room_files!(dm, RoomType::Direct, "im", "/api/v1/dm.files", "direct message");

#[cfg(test)]
mod tests {
    use super::{range_asked, RangeAsk};

    #[test]
    fn ranges_are_read_as_rfc_9110_says() {
        use RangeAsk::{Bytes, Unsatisfiable, Whole};
        for (header, want) in [
            ("bytes=0-99", Bytes { start: 0, end: 99 }),
            ("bytes=10-", Bytes { start: 10, end: 999 }),
            ("bytes=990-5000", Bytes { start: 990, end: 999 }),
            ("bytes=-100", Bytes { start: 900, end: 999 }),
            ("bytes=-5000", Bytes { start: 0, end: 999 }),
            (" bytes= 5 - 6 ", Bytes { start: 5, end: 6 }),
            ("bytes=999-999", Bytes { start: 999, end: 999 }),
            ("bytes=1000-", Unsatisfiable),
            ("bytes=2000-3000", Unsatisfiable),
            ("bytes=-0", Unsatisfiable),
            // Ignored: several ranges, other units, nonsense, a backwards range.
            ("bytes=0-1,5-6", Whole),
            ("items=0-1", Whole),
            ("bytes=abc", Whole),
            ("bytes=+1-2", Whole),
            ("bytes=5-2", Whole),
            ("bytes=-", Whole),
            ("bytes=99999999999999999999999-", Whole),
        ] {
            assert_eq!(range_asked(header, 1000), want, "{header}");
        }
        assert_eq!(range_asked("bytes=0-", 0), Unsatisfiable, "nothing to serve of an empty file");
        assert_eq!(range_asked("bytes=-1", 0), Unsatisfiable);
    }
}
