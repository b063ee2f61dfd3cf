//! Files shared in rooms: `rooms.upload` (upload and message in one call),
//! `rooms.media` + `rooms.mediaConfirm` (upload, then share), the rooms'
//! file listings, downloads, and the removal of a message's or a room's
//! files (docs/files.md).
//!
//! An upload is checked before its body is read (room access, the right to
//! post, uploads switched on), streamed to the blob store with the size
//! limit applied as bytes arrive, and only then recorded; the message that
//! shares it is an ordinary message (same checks, same events) whose
//! content fields link to the file. If anything fails after the bytes are
//! stored, they are removed again. An upload no message shares (a
//! `rooms.media` upload never confirmed, or one whose message could not be
//! sent) expires after a day and is discarded by [`Services::discard_expired_uploads`].

use crate::membership::user_ref;
use crate::messages::Draft;
use crate::paging::Paging;
use crate::rooms::{Listing, RoomSelector};
use crate::Services;
use futures_util::StreamExt;
use serde_json::{Map, Value};
use std::collections::HashMap;
use threadsync_domain::image_header;
use threadsync_domain::upload::{self, UNCONFIRMED_TTL_MS};
use threadsync_domain::Reject;
use threadsync_domain::{id, Error, Message, Result, Room, RoomType, Timestamp, Upload, User, UserRef};
use threadsync_storage::{Blob, BlobError, ByteStream, UploadListQuery, UploadSelection};

/// A file as it arrives: the name and media type the client declared, and
/// its bytes.
pub struct IncomingFile<'a> {
    pub name: Option<&'a str>,
    pub content_type: Option<&'a str>,
    pub body: ByteStream<'a>,
}

/// A file whose bytes are stored and which no record names yet. Give it to
/// [`Services::share_file`] or [`Services::keep_media`], or to
/// [`Services::discard_file`] when the request fails before that.
#[derive(Debug)]
pub struct StoredFile {
    /// Its key in the blob store (an upload's id).
    id: String,
    name: String,
    content_type: String,
    size: u64,
}

impl StoredFile {
    pub(crate) fn new(id: String, name: String, content_type: String, size: u64) -> StoredFile {
        StoredFile { id, name, content_type, size }
    }

    pub(crate) fn key(&self) -> &str {
        &self.id
    }

    pub(crate) fn content_type(&self) -> &str {
        &self.content_type
    }
}

/// The message fields that come with a file (`rooms.upload`'s form fields,
/// `rooms.mediaConfirm`'s body): `msg`, `tmid`, `tshow`, `description`,
/// and the content fields `alias`, `emoji`, `avatar`, `customFields`.
/// Form fields are all text, so `tshow` may be `"true"` and `customFields`
/// a JSON text.
#[derive(Debug, Default)]
pub struct FileMessage {
    msg: String,
    tmid: Option<String>,
    tshow: Option<bool>,
    description: Option<String>,
    extra: Map<String, Value>,
}

impl FileMessage {
    pub fn from_fields(mut fields: Map<String, Value>) -> Result<FileMessage> {
        let mut text = |key: &str| -> Result<Option<String>> {
            match fields.remove(key) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s)),
                Some(_) => Err(Error::from(Reject::UploadFieldNotString { key: key.to_owned() })),
            }
        };
        let msg = text("msg")?.unwrap_or_default();
        let tmid = text("tmid")?.filter(|t| !t.trim().is_empty());
        let description = text("description")?.filter(|d| !d.is_empty());
        let mut extra = Map::new();
        for key in ["alias", "emoji", "avatar"] {
            if let Some(value) = text(key)?.filter(|v| !v.is_empty()) {
                extra.insert(key.to_owned(), Value::String(value));
            }
        }
        let tshow = match fields.remove("tshow") {
            None | Some(Value::Null) => None,
            Some(Value::Bool(b)) => Some(b),
            Some(Value::String(s)) if s == "true" || s == "1" => Some(true),
            Some(Value::String(s)) if s == "false" || s == "0" || s.is_empty() => Some(false),
            Some(_) => return Err(Error::from(Reject::UploadTshowNotBoolean)),
        };
        match fields.remove("customFields") {
            None | Some(Value::Null) => {}
            Some(Value::Object(map)) => {
                extra.insert("customFields".into(), Value::Object(map));
            }
            Some(Value::String(s)) if s.trim().is_empty() => {}
            Some(Value::String(s)) => match serde_json::from_str::<Value>(&s) {
                Ok(Value::Object(map)) => {
                    extra.insert("customFields".into(), Value::Object(map));
                }
                _ => return Err(Error::from(Reject::UploadCustomFieldsNotObject)),
            },
            Some(_) => return Err(Error::from(Reject::UploadCustomFieldsNotObject)),
        }
        Ok(FileMessage { msg, tmid, tshow, description, extra })
    }
}

/// A room's files as `channels.files` lists them.
pub struct FileListParams<'a> {
    pub name: Option<&'a str>,
    pub type_group: Option<&'a str>,
    pub count: Option<&'a str>,
    pub offset: Option<&'a str>,
}

/// What becomes of an upload whose message is refused: `rooms.upload`
/// removes it at once (the client sends file and message again);
/// `rooms.mediaConfirm` keeps it until it expires, so the client can
/// confirm again once the cause is fixed.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Refused {
    RemoveFile,
    KeepFile,
}

/// How many expired uploads one sweep discards at most.
const EXPIRY_BATCH: u64 = 500;

fn file_too_large() -> Error {
    Error::from(Reject::FileTooLarge)
}

fn invalid_file() -> Error {
    Error::from(Reject::UploadFileInvalid)
}

impl Services {
    /// The checks of `rooms.upload/:rid` and `rooms.media/:rid` made before
    /// the body is read, in Rocket.Chat's order: the caller can read the
    /// room (else 403); uploads are on (`FileUpload_Enabled`); the caller
    /// may post there (read-only, archived, not a member of a private room).
    pub async fn upload_target(&self, caller: &User, rid: &str) -> Result<Room> {
        let room = self.readable_room(caller, rid).await?.ok_or(Error::Forbidden)?;
        if !self.settings().file_upload_enabled() {
            return Err(Error::from(Reject::FileUploadDisabled));
        }
        self.check_can_post(caller, &room).await?;
        Ok(room)
    }

    /// Stores an incoming file's bytes: its media type (declared, else
    /// guessed from the name) must pass `FileUpload_MediaTypeWhiteList` /
    /// `FileUpload_MediaTypeBlackList`, and its size `FileUpload_MaxFileSize`,
    /// counted as bytes arrive (the upload stops at the limit).
    pub async fn store_file(&self, file: IncomingFile<'_>) -> Result<StoredFile> {
        let settings = self.settings();
        let name = upload::clean_name(file.name.unwrap_or(""));
        let content_type = upload::content_type_of(file.content_type, &name);
        if !upload::media_type_allowed(
            &content_type,
            settings.file_upload_allow_list(),
            settings.file_upload_deny_list(),
        ) {
            return Err(Error::from(Reject::FileTypeNotAccepted));
        }
        let id = id::new_id();
        let size =
            self.blobs.put(&id, file.body, settings.file_upload_max_size()).await.map_err(|e| match e {
                BlobError::TooLarge { .. } => file_too_large(),
                BlobError::Incoming(e) => Error::from(Reject::FileIncomplete { detail: e.to_string() }),
                BlobError::Store(e) => Error::Internal(format!("cannot store an upload: {e}")),
            })?;
        Ok(StoredFile { id, name, content_type, size })
    }

    /// Removes a stored file no record names (the request failed after its
    /// bytes arrived).
    pub async fn discard_file(&self, file: StoredFile) {
        if let Err(e) = self.blobs.delete(&file.id).await {
            tracing::warn!(file = %file.id, error = %e, "cannot remove the bytes of a failed upload");
        }
    }

    /// `rooms.upload/:rid`: records the stored file and sends the message
    /// that shares it (`msg`, `tmid`, `description`...). Returns the message.
    pub async fn share_file(
        &self,
        caller: &User,
        room: &Room,
        file: StoredFile,
        message: FileMessage,
    ) -> Result<Message> {
        let now = Timestamp::now();
        if let Err(e) = self.check_description(message.description.as_deref()) {
            self.discard_file(file).await;
            return Err(e);
        }
        let record = self.record_of(caller, room, &file, None, now);
        if let Err(e) = self.store.insert_upload(&record).await {
            self.discard_file(file).await;
            return Err(e.into());
        }
        self.send_file_message(caller, room, record, message, Refused::RemoveFile).await
    }

    /// `rooms.media/:rid`: records the stored file, unshared: it expires in
    /// 24 hours unless `rooms.mediaConfirm` shares it. Returns the record.
    pub async fn keep_media(&self, caller: &User, room: &Room, file: StoredFile) -> Result<Upload> {
        let now = Timestamp::now();
        let record =
            self.record_of(caller, room, &file, Some(Timestamp(now.millis() + UNCONFIRMED_TTL_MS)), now);
        if let Err(e) = self.store.insert_upload(&record).await {
            self.discard_file(file).await;
            return Err(e.into());
        }
        Ok(record)
    }

    /// `rooms.mediaConfirm/:rid/:fileId`: shares an upload of `rooms.media`
    /// in a message. Checks: the caller can read the room (else 403); the
    /// file exists, is the caller's, in this room, and no message shares it
    /// yet (else `invalid-file`); the description's size; then the
    /// message's own checks.
    pub async fn confirm_media(
        &self,
        caller: &User,
        rid: &str,
        file_id: &str,
        message: FileMessage,
    ) -> Result<Message> {
        let room = self.readable_room(caller, rid).await?.ok_or(Error::Forbidden)?;
        let record = self.store.upload_by_id(file_id).await?.ok_or_else(invalid_file)?;
        if record.rid != room.id || record.user_id != caller.id || record.message_id.is_some() {
            return Err(invalid_file());
        }
        self.check_description(message.description.as_deref())?;
        self.send_file_message(caller, &room, record, message, Refused::KeepFile).await
    }

    fn check_description(&self, description: Option<&str>) -> Result<()> {
        let too_long =
            description.is_some_and(|d| d.chars().count() > self.settings().message_max_allowed_size());
        if too_long {
            Err(Error::from(Reject::MessageSizeExceededBare))
        } else {
            Ok(())
        }
    }

    fn record_of(
        &self,
        caller: &User,
        room: &Room,
        file: &StoredFile,
        expires_at: Option<Timestamp>,
        now: Timestamp,
    ) -> Upload {
        Upload {
            id: file.id.clone(),
            rid: room.id.clone(),
            user_id: caller.id.clone(),
            name: file.name.clone(),
            size: i64::try_from(file.size).unwrap_or(i64::MAX),
            content_type: file.content_type.clone(),
            description: None,
            uploaded_at: now,
            updated_at: now,
            message_id: None,
            // Until a message shares it: a crash or a refused message must
            // not leave a file nobody can see but everyone pays for.
            expires_at: expires_at.or(Some(Timestamp(now.millis() + UNCONFIRMED_TTL_MS))),
        }
    }

    /// Sends the message sharing `record` and links the two.
    async fn send_file_message(
        &self,
        caller: &User,
        room: &Room,
        mut record: Upload,
        message: FileMessage,
        refused: Refused,
    ) -> Result<Message> {
        record.description = message.description.clone();
        let dimensions = self.image_dimensions(&record).await;
        let mut extra = message.extra;
        extra.extend(record.message_fields(Timestamp::now(), dimensions));
        extra.insert("groupable".into(), Value::Bool(false));
        let draft = Draft {
            id: None,
            rid: Some(room.id.clone()),
            msg: message.msg,
            tmid: message.tmid,
            tshow: message.tshow,
            extra,
        };
        let sent = match self.check_draft(&draft) {
            Ok(()) => self.deliver(caller, room, draft).await,
            Err(e) => Err(e),
        };
        let sent = match sent {
            Ok(sent) => sent,
            Err(e) => {
                if refused == Refused::RemoveFile {
                    self.remove_uploads(UploadSelection::Ids(std::slice::from_ref(&record.id))).await;
                }
                return Err(e);
            }
        };
        let attached = self
            .store
            .attach_upload(&record.id, &sent.id, record.description.as_deref(), Timestamp::now())
            .await?;
        if !attached {
            // Two confirmations of one upload raced and the other won: this
            // message points to a file another message shares. Take it back.
            tracing::warn!(file = %record.id, message = %sent.id, "an upload was shared twice; removing the second message");
            let _ = self.store.delete_message(&sent.id, false).await;
            return Err(invalid_file());
        }
        Ok(sent)
    }

    /// `channels.files` / `groups.files` / `im.files`: the room's shared
    /// files, newest first, filtered by `name` (contains, any case) and
    /// `typeGroup`, paged; each with its uploader.
    pub async fn room_files(
        &self,
        caller: &User,
        t: RoomType,
        room: RoomSelector<'_>,
        params: FileListParams<'_>,
    ) -> Result<Listing<Value>> {
        let room = self.family_read_room(caller, t, room).await?;
        let paging = Paging::from_params(params.count, params.offset, &self.settings())?;
        let query = UploadListQuery {
            rid: room.id.clone(),
            name: params.name.map(str::trim).filter(|n| !n.is_empty()).map(str::to_owned),
            type_group: params.type_group.map(str::trim).filter(|g| !g.is_empty()).map(str::to_owned),
            offset: paging.offset,
            count: paging.count,
        };
        let page = self.store.room_uploads(&query).await?;
        let mut uploaders: HashMap<String, Option<UserRef>> = HashMap::new();
        for file in &page.items {
            if !uploaders.contains_key(&file.user_id) {
                let user = self.store.user_by_id(&file.user_id).await?.map(|u| user_ref(&u));
                uploaders.insert(file.user_id.clone(), user);
            }
        }
        let items = page
            .items
            .iter()
            .map(|file| file.listing_json(uploaders.get(&file.user_id).and_then(Option::as_ref)))
            .collect();
        Ok(Listing { items, total: page.total })
    }

    /// `GET /file-upload/:id/:name`: the file and its bytes, for a caller
    /// who can read its room. Without a caller (no credentials) only while
    /// `FileUpload_ProtectFiles` is off. Any refusal is "not found", so ids
    /// cannot be probed, except a missing login while files are protected
    /// (403, so a client knows to send its credentials).
    pub async fn file_download(&self, caller: Option<&User>, file_id: &str) -> Result<(Upload, Blob)> {
        let not_found = || Error::from(Reject::FileNotFound);
        if caller.is_none() && self.settings().file_upload_protect_files() {
            return Err(Error::Forbidden);
        }
        let record = self.store.upload_by_id(file_id).await?.ok_or_else(not_found)?;
        if let Some(caller) = caller {
            let readable = self.readable_room(caller, &record.rid).await?.is_some();
            // The uploader may fetch an unconfirmed `rooms.media` upload
            // (clients preview it); others only what a message shares.
            let shown = record.message_id.is_some() || record.user_id == caller.id;
            if !readable || !shown {
                return Err(not_found());
            }
        } else if record.message_id.is_none() {
            return Err(not_found());
        }
        let blob = self.blobs.open(&record.id).await?.ok_or_else(not_found)?;
        Ok((record, blob))
    }

    /// An image's size from its file's first bytes (no pixel is decoded);
    /// `None` for other files, unknown formats, and when the bytes cannot be
    /// read: the message is sent without dimensions rather than refused.
    async fn image_dimensions(&self, record: &Upload) -> Option<image_header::Dimensions> {
        if record.type_group() != "image" {
            return None;
        }
        let head_len = u64::try_from(record.size).unwrap_or(0).min(image_header::HEAD_BYTES);
        let blob = match self.blobs.open_range(&record.id, 0, head_len).await {
            Ok(Some(blob)) => blob,
            Ok(None) => return None,
            Err(e) => {
                tracing::warn!(file = %record.id, error = %e, "cannot read an image's header");
                return None;
            }
        };
        let mut head = Vec::with_capacity(usize::try_from(head_len).unwrap_or(0));
        let mut body = blob.body;
        while let Some(chunk) = body.next().await {
            head.extend_from_slice(&chunk.ok()?);
        }
        image_header::dimensions(&head)
    }

    /// `len` bytes of a file from byte `start` on, for a ranged download of
    /// a record [`Services::file_download`] already allowed.
    pub async fn file_range(&self, record: &Upload, start: u64, len: u64) -> Result<Blob> {
        self.blobs.open_range(&record.id, start, len).await?.ok_or_else(|| Error::from(Reject::FileNotFound))
    }

    /// Removes the files a deleted message shared (records, then bytes).
    pub(crate) async fn remove_message_files(&self, message: &Message) {
        let ids = upload::message_file_ids(&message.extra);
        if !ids.is_empty() {
            self.remove_uploads(UploadSelection::Ids(&ids)).await;
        }
    }

    /// Removes a deleted room's files.
    pub(crate) async fn remove_room_files(&self, rid: &str) {
        self.remove_uploads(UploadSelection::Room(rid)).await;
    }

    /// Discards uploads no message shared in time (`rooms.media` uploads
    /// never confirmed). Returns how many.
    pub async fn discard_expired_uploads(&self) -> Result<u64> {
        let mut discarded = 0;
        loop {
            let batch = UploadSelection::Expired { now: Timestamp::now(), limit: EXPIRY_BATCH };
            let n = self.remove_uploads(batch).await;
            discarded += n;
            if n < EXPIRY_BATCH {
                return Ok(discarded);
            }
        }
    }

    /// Records first, then bytes (a crash in between leaves bytes nobody
    /// names, never a record without bytes). A failure is logged, not
    /// returned: the deletion that caused this has already happened.
    async fn remove_uploads(&self, which: UploadSelection<'_>) -> u64 {
        let removed = match self.store.delete_uploads(which).await {
            Ok(removed) => removed,
            Err(e) => {
                tracing::warn!(error = %e, "cannot remove upload records");
                return 0;
            }
        };
        for record in &removed {
            if let Err(e) = self.blobs.delete(&record.id).await {
                tracing::warn!(file = %record.id, error = %e, "cannot remove an upload's bytes");
            }
        }
        removed.len() as u64
    }
}
