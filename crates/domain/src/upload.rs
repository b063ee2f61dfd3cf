//! Uploaded files: what is kept of one, and the rules about files that need
//! no I/O (names, media types, the URL clients fetch, the fields of the
//! message that shares a file).
//!
//! The bytes live in a blob store (local disk by default), under the
//! upload's id; the record here is what the database keeps.

use crate::image_header::Dimensions;
use crate::{Timestamp, UserRef};
use serde_json::{json, Map, Value};

/// One uploaded file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Upload {
    pub id: String,
    pub rid: String,
    /// The uploader.
    pub user_id: String,
    /// The file's name as the client gave it, cleaned by [`clean_name`].
    pub name: String,
    /// Bytes.
    pub size: i64,
    /// The media type (`image/png`), never empty.
    pub content_type: String,
    pub description: Option<String>,
    pub uploaded_at: Timestamp,
    pub updated_at: Timestamp,
    /// The message that shares the file; `None` while a `rooms.media`
    /// upload waits for its `rooms.mediaConfirm`.
    pub message_id: Option<String>,
    /// When an upload that no message shares is discarded (Rocket.Chat's
    /// 24 hours for `rooms.media`); `None` once a message shares it.
    pub expires_at: Option<Timestamp>,
}

/// How long a `rooms.media` upload waits for its confirmation.
pub const UNCONFIRMED_TTL_MS: i64 = 24 * 60 * 60 * 1000;

/// The most characters of a file name kept (longer names are cut).
pub const MAX_NAME_CHARS: usize = 255;

/// The name Rocket.Chat's store gives the local file system (`store` in listings).
pub const STORE_NAME: &str = "FileSystem:Uploads";

impl Upload {
    /// The path clients fetch the file from: `/file-upload/<id>/<name>`.
    pub fn path(&self) -> String {
        file_path(&self.id, &self.name)
    }

    /// The file's type group: the media type's first part (`image`).
    pub fn type_group(&self) -> &str {
        type_group(&self.content_type)
    }

    /// The upload as `channels.files` lists it (Rocket.Chat's `IUpload`
    /// fields that mean something here; `user` when the uploader is known).
    pub fn listing_json(&self, user: Option<&UserRef>) -> Value {
        let path = self.path();
        let mut file = json!({
            "_id": self.id,
            "name": self.name,
            "size": self.size,
            "type": self.content_type,
            "rid": self.rid,
            "userId": self.user_id,
            "store": STORE_NAME,
            "complete": true,
            "uploading": false,
            "progress": 1,
            "extension": extension(&self.name),
            "typeGroup": self.type_group(),
            "uploadedAt": self.uploaded_at,
            "_updatedAt": self.updated_at,
            "path": path,
            "url": path,
        });
        if let Some(map) = file.as_object_mut() {
            if let Some(description) = &self.description {
                map.insert("description".into(), json!(description));
            }
            if let Some(user) = user {
                map.insert(
                    "user".into(),
                    json!({"_id": user.id, "username": user.username, "name": user.name}),
                );
            }
        }
        file
    }

    /// The content fields of the message that shares this file, as
    /// Rocket.Chat's `sendFileMessage` writes them: `file`, `files` and one
    /// attachment of `type: "file"` linking to the file, with the media
    /// fields clients use to show images, audio and video inline; an
    /// image's `image_dimensions` when its header gave them (clients size
    /// the image's box from them before it loads).
    pub fn message_fields(&self, ts: Timestamp, dimensions: Option<Dimensions>) -> Map<String, Value> {
        let path = self.path();
        let format = extension(&self.name);
        let summary = json!({
            "_id": self.id,
            "name": self.name,
            "type": self.content_type,
            "size": self.size,
            "format": format,
        });
        let mut attachment = json!({
            "ts": ts,
            "title": self.name,
            "title_link": path,
            "title_link_download": true,
            "type": "file",
            "format": format,
            "size": self.size,
        });
        if let Some(map) = attachment.as_object_mut() {
            if let Some(description) = &self.description {
                map.insert("description".into(), json!(description));
            }
            let media = match self.type_group() {
                "image" => Some("image"),
                "audio" => Some("audio"),
                "video" => Some("video"),
                _ => None,
            };
            if let Some(media) = media {
                map.insert(format!("{media}_url"), json!(path));
                map.insert(format!("{media}_type"), json!(self.content_type));
                map.insert(format!("{media}_size"), json!(self.size));
            }
            if let (Some("image"), Some(size)) = (media, dimensions) {
                map.insert("image_dimensions".into(), json!({"width": size.width, "height": size.height}));
            }
        }
        let mut fields = Map::new();
        fields.insert("file".into(), summary.clone());
        fields.insert("files".into(), json!([summary]));
        fields.insert("attachments".into(), json!([attachment]));
        fields
    }
}

/// The ids of the files a message shares (its `file` and `files` fields).
pub fn message_file_ids(extra: &Map<String, Value>) -> Vec<String> {
    let mut ids: Vec<String> = Vec::new();
    let single = extra.get("file").into_iter();
    let many = extra.get("files").and_then(Value::as_array).into_iter().flatten();
    for file in single.chain(many) {
        if let Some(id) = file.get("_id").and_then(Value::as_str) {
            if !ids.iter().any(|known| known == id) {
                ids.push(id.to_owned());
            }
        }
    }
    ids
}

/// `/file-upload/<id>/<name>`, the name percent-encoded as `encodeURI`
/// would, and `?`, `#` and `%` too, so any name stays one path segment.
pub fn file_path(id: &str, name: &str) -> String {
    format!("/file-upload/{id}/{}", encode_segment(name))
}

/// `name` percent-encoded as one path segment (see [`file_path`]).
pub fn encode_segment(name: &str) -> String {
    const KEPT: &[u8] = b"-_.!~*'();,:@&=+$";
    let mut out = String::with_capacity(name.len());
    for byte in name.bytes() {
        if byte.is_ascii_alphanumeric() || KEPT.contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// A client's file name made safe to keep and show: the last component of
/// a path (browsers on Windows send `C:\…\a.png`), without control
/// characters, trimmed, at most [`MAX_NAME_CHARS`]; `file` when nothing is left.
pub fn clean_name(raw: &str) -> String {
    let last = raw.rsplit(['/', '\\']).next().unwrap_or(raw);
    let cleaned: String = last.chars().filter(|c| !c.is_control()).take(MAX_NAME_CHARS).collect();
    let cleaned = cleaned.trim();
    if cleaned.is_empty() || cleaned == "." || cleaned == ".." {
        "file".to_owned()
    } else {
        cleaned.to_owned()
    }
}

/// The extension of a file name, lower-cased, without the dot (`""` if none).
pub fn extension(name: &str) -> String {
    match name.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() && !ext.is_empty() && ext.len() <= 16 => {
            ext.to_ascii_lowercase()
        }
        _ => String::new(),
    }
}

/// A media type's first part (`image` of `image/png`).
pub fn type_group(content_type: &str) -> &str {
    content_type.split('/').next().unwrap_or(content_type)
}

/// The media type of an upload: the one the client declared, unless it is
/// missing or the generic `application/octet-stream`, in which case it is
/// guessed from the name's extension (as Rocket.Chat's `getMimeType`).
/// Parameters (`; charset=…`) are dropped and the type lower-cased.
pub fn content_type_of(declared: Option<&str>, name: &str) -> String {
    let declared = declared
        .and_then(|d| d.split(';').next())
        .map(|d| d.trim().to_ascii_lowercase())
        .filter(|d| is_media_type(d) && d != "application/octet-stream");
    declared.unwrap_or_else(|| guess_from_extension(&extension(name)).to_owned())
}

fn is_media_type(s: &str) -> bool {
    let token =
        |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$&-^_.+".contains(&b));
    matches!(s.split_once('/'), Some((a, b)) if token(a) && token(b))
}

/// The usual media type of an extension; `application/octet-stream` when unknown.
pub fn guess_from_extension(ext: &str) -> &'static str {
    match ext {
        "png" => "image/png",
        "jpg" | "jpeg" | "jpe" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "bmp" => "image/bmp",
        "svg" => "image/svg+xml",
        "ico" => "image/x-icon",
        "heic" => "image/heic",
        "avif" => "image/avif",
        "tif" | "tiff" => "image/tiff",
        "mp3" => "audio/mpeg",
        "ogg" | "oga" | "opus" => "audio/ogg",
        "wav" => "audio/wav",
        "m4a" => "audio/mp4",
        "aac" => "audio/aac",
        "flac" => "audio/flac",
        "weba" => "audio/webm",
        "mp4" | "m4v" => "video/mp4",
        "webm" => "video/webm",
        "mov" => "video/quicktime",
        "ogv" => "video/ogg",
        "mkv" => "video/x-matroska",
        "pdf" => "application/pdf",
        "zip" => "application/zip",
        "gz" => "application/gzip",
        "tar" => "application/x-tar",
        "7z" => "application/x-7z-compressed",
        "json" => "application/json",
        "xml" => "application/xml",
        "doc" => "application/msword",
        "docx" => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "xls" => "application/vnd.ms-excel",
        "xlsx" => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "ppt" => "application/vnd.ms-powerpoint",
        "pptx" => "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "odt" => "application/vnd.oasis.opendocument.text",
        "txt" | "log" => "text/plain",
        "md" => "text/markdown",
        "csv" => "text/csv",
        "html" | "htm" => "text/html",
        "css" => "text/css",
        "js" | "mjs" => "text/javascript",
        _ => "application/octet-stream",
    }
}

/// Whether `content_type` may be uploaded under Rocket.Chat's two lists
/// (`FileUpload_MediaTypeWhiteList`, `FileUpload_MediaTypeBlackList`):
/// comma-separated types, where `image/*` covers a whole group. An empty
/// allow-list allows every type the deny-list does not name.
pub fn media_type_allowed(content_type: &str, allow: &str, deny: &str) -> bool {
    let listed = |list: &str| {
        list.split(',').map(str::trim).filter(|entry| !entry.is_empty()).any(|entry| {
            let entry = entry.to_ascii_lowercase();
            match entry.strip_suffix("/*") {
                Some(group) => type_group(content_type) == group,
                None => entry == content_type,
            }
        })
    };
    let allowed = allow.split(',').all(|entry| entry.trim().is_empty()) || listed(allow);
    allowed && !listed(deny)
}

/// Whether a browser may show the file in place (`Content-Disposition:
/// inline`): images, audio, video and PDF, never a type that can run script
/// in the server's origin (HTML, SVG, XML). Everything else is served as a
/// download.
pub fn shown_inline(content_type: &str) -> bool {
    let scriptable =
        content_type.contains("svg") || content_type.contains("xml") || content_type.contains("html");
    !scriptable
        && (matches!(type_group(content_type), "image" | "audio" | "video")
            || content_type == "application/pdf")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_cleaned_and_paths_stay_one_segment() {
        assert_eq!(clean_name("C:\\Users\\me\\photo.png"), "photo.png");
        assert_eq!(clean_name("../../etc/passwd"), "passwd");
        assert_eq!(clean_name(" a\u{0}b.txt "), "ab.txt");
        assert_eq!(clean_name(".."), "file");
        assert_eq!(clean_name(""), "file");
        assert_eq!(file_path("X1", "a b?#%.png"), "/file-upload/X1/a%20b%3F%23%25.png");
        assert_eq!(file_path("X1", "ünï.txt"), "/file-upload/X1/%C3%BCn%C3%AF.txt");
    }

    #[test]
    fn types_are_declared_or_guessed() {
        assert_eq!(content_type_of(Some("image/PNG; x=y"), "a.bin"), "image/png");
        assert_eq!(content_type_of(Some("application/octet-stream"), "a.JPG"), "image/jpeg");
        assert_eq!(content_type_of(None, "notes"), "application/octet-stream");
        assert_eq!(content_type_of(Some("not a type"), "a.pdf"), "application/pdf");
        assert_eq!(extension(".bashrc"), "");
        assert_eq!(extension("a.tar.GZ"), "gz");
    }

    #[test]
    fn allow_and_deny_lists() {
        assert!(media_type_allowed("image/png", "", "image/svg+xml"));
        assert!(!media_type_allowed("image/svg+xml", "", "image/svg+xml"));
        assert!(media_type_allowed("image/png", "image/*, application/pdf", ""));
        assert!(media_type_allowed("application/pdf", "image/*,application/pdf", ""));
        assert!(!media_type_allowed("text/plain", "image/*,application/pdf", ""));
        assert!(!media_type_allowed("image/png", "image/*", "image/*"));
    }

    #[test]
    fn scriptable_types_are_never_inline() {
        assert!(shown_inline("image/png"));
        assert!(shown_inline("video/mp4"));
        assert!(shown_inline("application/pdf"));
        assert!(!shown_inline("image/svg+xml"));
        assert!(!shown_inline("text/html"));
        assert!(!shown_inline("application/zip"));
    }

    #[test]
    fn message_fields_link_the_file() {
        let upload = Upload {
            id: "F1".into(),
            rid: "R".into(),
            user_id: "U".into(),
            name: "cat.png".into(),
            size: 10,
            content_type: "image/png".into(),
            description: Some("a cat".into()),
            uploaded_at: Timestamp(1),
            updated_at: Timestamp(1),
            message_id: None,
            expires_at: None,
        };
        let fields = message_fields_of(&upload);
        assert_eq!(fields["file"]["_id"], "F1");
        assert_eq!(fields["files"][0]["format"], "png");
        let attachment = &fields["attachments"][0];
        assert_eq!(attachment["title_link"], "/file-upload/F1/cat.png");
        assert_eq!(attachment["image_url"], "/file-upload/F1/cat.png");
        assert_eq!(attachment["description"], "a cat");
        assert_eq!(message_file_ids(&upload.message_fields(Timestamp(2), None)), vec!["F1".to_owned()]);
        assert!(attachment.get("image_dimensions").is_none(), "no header read: no dimensions");
        let size = Some(Dimensions { width: 640, height: 480 });
        let sized = Value::Object(upload.message_fields(Timestamp(2), size));
        assert_eq!(sized["attachments"][0]["image_dimensions"], json!({"width": 640, "height": 480}));
        // Only images have dimensions.
        let pdf = Upload { name: "a.pdf".into(), content_type: "application/pdf".into(), ..upload };
        let fields = Value::Object(pdf.message_fields(Timestamp(2), size));
        assert!(fields["attachments"][0].get("image_dimensions").is_none(), "{fields}");
    }

    fn message_fields_of(upload: &Upload) -> Value {
        Value::Object(upload.message_fields(Timestamp(2), None))
    }
}
