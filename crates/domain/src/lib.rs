//! Domain types and errors of threadsync.
//!
//! This crate does no I/O. Every other layer (storage traits, backends,
//! services, HTTP API, binary) depends on it, never the other way round.

pub mod error;
pub mod id;
pub mod image_header;
pub mod listing;
pub mod markup;
pub mod message;
pub mod param;
pub mod permissions;
pub mod presence;
pub mod query;
pub mod reaction;
pub mod reject;
pub mod room;
pub mod settings;
pub mod time;
pub mod upload;
pub mod user;

pub use error::{Code, Error, Result};
pub use markup::Markup;
pub use message::{Message, StoredMessage, Tombstone, UserRef};
pub use param::Param;
pub use reject::Reject;
pub use room::{Room, RoomType, Subscription};
pub use time::Timestamp;
pub use upload::Upload;
pub use user::{Email, User};
