//! Users.

use crate::time::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Email {
    pub address: String,
    pub verified: bool,
}

/// A user account. `password_hash` is bcrypt of the lowercase hex SHA-256 of
/// the password (Meteor's scheme); it never leaves the server.
#[derive(Clone, Debug, PartialEq)]
pub struct User {
    pub id: String,
    pub username: String,
    pub name: String,
    pub emails: Vec<Email>,
    pub password_hash: Option<String>,
    pub roles: Vec<String>,
    pub active: bool,
    /// Presence as others see it: `online`, `away`, `busy`, `offline`,
    /// derived from the user's realtime connections and `status_default`
    /// ([`crate::presence`]).
    pub status: String,
    /// The status the user chose (`statusDefault`): `online` (let the
    /// connections decide), `away`, `busy`, or `offline` (invisible).
    pub status_default: String,
    /// The status of the user's connections together (`statusConnection`):
    /// `online`, `away`, or `offline` when none is open.
    pub status_connection: String,
    /// The status message (`statusText`), at most 120 characters; empty
    /// when none is set.
    pub status_text: String,
    /// When the user last logged in (`lastLogin`); `None` before the first login.
    pub last_login: Option<Timestamp>,
    pub utc_offset: f64,
    /// `user` or `bot`.
    pub kind: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl User {
    pub fn is_admin(&self) -> bool {
        self.has_role("admin")
    }

    pub fn has_role(&self, role: &str) -> bool {
        self.roles.iter().any(|r| r == role)
    }

    /// The user as other users see it (`users.info`, `users.create`): never
    /// the password hash or tokens.
    pub fn public_json(&self) -> Value {
        let mut v = json!({
            "_id": self.id,
            "type": self.kind,
            "createdAt": self.created_at,
            "username": self.username,
            "name": self.name,
            "emails": self.emails,
            "status": self.status,
            "active": self.active,
            "roles": self.roles,
            "utcOffset": self.utc_offset,
            "_updatedAt": self.updated_at,
        });
        // Rocket.Chat leaves `statusText` out until one is set.
        if !self.status_text.is_empty() {
            if let Some(map) = v.as_object_mut() {
                map.insert("statusText".into(), json!(self.status_text));
            }
        }
        v
    }

    /// The user as they see themselves (`login`'s `me`, `GET me`), with
    /// the preferences they have set.
    pub fn me_json(&self, preferences: serde_json::Map<String, Value>) -> Value {
        let mut v = self.public_json();
        if let Some(map) = v.as_object_mut() {
            map.insert("settings".into(), json!({"preferences": preferences}));
            if let Some(email) = self.emails.first() {
                map.insert("email".into(), json!(email.address));
            }
            // The user's own view carries the two inputs of `status`.
            map.insert("statusDefault".into(), json!(self.status_default));
            map.insert("statusConnection".into(), json!(self.status_connection));
            if let Some(at) = self.last_login {
                map.insert("lastLogin".into(), json!(at));
            }
        }
        v
    }
}
