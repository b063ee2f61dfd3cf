//! A user's own profile: status and status message, the fields an admin
//! (or the user) edits with `users.update`, preferences, a username
//! suggestion and the password-reset request (docs/rest.md#profiles).

use crate::auth::{hash_token, LoginSession};
use crate::rooms::UserSelector;
use crate::users::{
    email_taken, username_taken, validate_email, validate_username, MAX_NAME_LEN, MAX_PASSWORD_LEN,
};
use crate::Services;
use serde_json::{Map, Value};
use threadsync_domain::error::json_type;
use threadsync_domain::permissions::RoleScope;
use threadsync_domain::Reject;
use threadsync_domain::{Email, Error, Result, User};
use threadsync_storage::{StorageError, UserPatch};

/// Rocket.Chat keeps the first 120 characters of a status message.
const MAX_STATUS_TEXT: usize = 120;

fn status_text(raw: &str) -> String {
    raw.trim().chars().take(MAX_STATUS_TEXT).collect()
}

/// `users.setStatus`'s request, as read from the body.
#[derive(Clone, Debug, Default)]
pub struct StatusChange<'a> {
    pub who: UserSelector<'a>,
    pub status: Option<&'a str>,
    pub message: Option<&'a str>,
}

/// `users.update`'s `data`: each field `None` when not given.
#[derive(Clone, Debug, Default)]
pub struct UserUpdate {
    pub username: Option<String>,
    pub name: Option<String>,
    pub email: Option<String>,
    pub verified: Option<bool>,
    pub password: Option<String>,
    pub roles: Option<Vec<String>>,
    pub active: Option<bool>,
    pub status_text: Option<String>,
}

/// The keys `users.setPreferences` stores, with the JSON type each must
/// have (Rocket.Chat's list); other keys are accepted and not stored.
const PREFERENCES: &[(&str, PreferenceKind)] = &[
    ("newRoomNotification", PreferenceKind::String),
    ("newMessageNotification", PreferenceKind::String),
    ("clockMode", PreferenceKind::Number),
    ("useEmojis", PreferenceKind::Boolean),
    ("convertAsciiEmoji", PreferenceKind::Boolean),
    ("saveMobileBandwidth", PreferenceKind::Boolean),
    ("collapseMediaByDefault", PreferenceKind::Boolean),
    ("autoImageLoad", PreferenceKind::Boolean),
    ("emailNotificationMode", PreferenceKind::String),
    ("unreadAlert", PreferenceKind::Boolean),
    ("notificationsSoundVolume", PreferenceKind::Number),
    ("desktopNotifications", PreferenceKind::String),
    ("pushNotifications", PreferenceKind::String),
    ("enableAutoAway", PreferenceKind::Boolean),
    ("highlights", PreferenceKind::Array),
    ("desktopNotificationRequireInteraction", PreferenceKind::Boolean),
    ("messageViewMode", PreferenceKind::Number),
    ("showMessageInMainThread", PreferenceKind::Boolean),
    ("hideUsernames", PreferenceKind::Boolean),
    ("hideRoles", PreferenceKind::Boolean),
    ("displayAvatars", PreferenceKind::Boolean),
    ("hideFlexTab", PreferenceKind::Boolean),
    ("sendOnEnter", PreferenceKind::String),
    ("language", PreferenceKind::String),
    ("sidebarShowFavorites", PreferenceKind::Boolean),
    ("sidebarShowUnread", PreferenceKind::Boolean),
    ("sidebarSortby", PreferenceKind::String),
    ("sidebarViewMode", PreferenceKind::String),
    ("sidebarDisplayAvatar", PreferenceKind::Boolean),
    ("sidebarGroupByType", PreferenceKind::Boolean),
    ("muteFocusedConversations", PreferenceKind::Boolean),
];

/// The most bytes one preference value may take as JSON (a `highlights`
/// list is the only one that can grow).
const MAX_PREFERENCE_BYTES: usize = 16 * 1024;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum PreferenceKind {
    String,
    Number,
    Boolean,
    Array,
}

impl PreferenceKind {
    fn holds(self, value: &Value) -> bool {
        match self {
            PreferenceKind::String => value.is_string(),
            PreferenceKind::Number => value.is_number(),
            PreferenceKind::Boolean => value.is_boolean(),
            PreferenceKind::Array => value.is_array(),
        }
    }

    fn word(self) -> &'static str {
        match self {
            PreferenceKind::String => "string",
            PreferenceKind::Number => "number",
            PreferenceKind::Boolean => "boolean",
            PreferenceKind::Array => "array",
        }
    }
}

/// The preferences of `data` that are stored, after checking the type of
/// each known key (`null` is "not given", as `Match.Maybe`).
fn known_preferences(data: &Map<String, Value>) -> Result<Map<String, Value>> {
    let mut kept = Map::new();
    for (key, value) in data {
        let Some((_, kind)) = PREFERENCES.iter().find(|(k, _)| k == key) else { continue };
        if value.is_null() {
            continue;
        }
        if !kind.holds(value) {
            return Err(Error::match_failed(format!(
                "Expected {}, got {} in field data.{key}",
                kind.word(),
                json_type(value)
            )));
        }
        if *kind == PreferenceKind::Array
            && value.as_array().is_some_and(|items| items.iter().any(|i| !i.is_string()))
        {
            return Err(Error::match_failed(format!("Expected string in field data.{key}")));
        }
        if serde_json::to_string(value).map_or(true, |s| s.len() > MAX_PREFERENCE_BYTES) {
            return Err(Error::from(Reject::PreferenceTooLarge { key: key.clone() }));
        }
        kept.insert(key.clone(), value.clone());
    }
    Ok(kept)
}

/// The username suggested for a name: lower case, runs of characters a
/// username may not hold become one `.`, no leading or trailing dot.
fn username_from(text: &str) -> String {
    let mut out = String::new();
    for c in text.trim().chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
            out.push(c);
        } else if !out.is_empty() && !out.ends_with('.') {
            out.push('.');
        }
    }
    out.trim_end_matches('.').chars().take(40).collect()
}

impl Services {
    /// The user a profile request names, or the caller when it names none
    /// or names the caller. Naming another user needs
    /// `edit-other-user-info`.
    async fn profile_target(&self, caller: &User, who: UserSelector<'_>) -> Result<User> {
        let (id, name) = (named(who.user_id), named(who.username));
        let is_caller = id.is_some_and(|id| id == caller.id)
            || (id.is_none() && name.is_some_and(|n| n.eq_ignore_ascii_case(&caller.username)));
        if is_caller || (id.is_none() && name.is_none()) {
            return Ok(caller.clone());
        }
        self.require_global_permission(caller, "edit-other-user-info")?;
        let found = match id {
            Some(id) => self.store.user_by_id(id).await?,
            None => self.store.user_by_username(name.unwrap_or_default()).await?,
        };
        found.ok_or_else(|| Error::from(Reject::OptionalUserUnknown))
    }

    /// `users.setStatus`: the caller's status and status message, or
    /// another user's with `edit-other-user-info`. Refused while
    /// `Accounts_AllowUserStatusMessageChange` is off; `offline`
    /// (invisible) only while `Accounts_AllowInvisibleStatusOption` is on.
    pub async fn set_status(&self, caller: &User, change: StatusChange<'_>) -> Result<User> {
        if change.status.is_none() && change.message.is_none() {
            return Err(Error::match_failed("Failed Match.OneOf, Match.Maybe or Match.Optional validation"));
        }
        let settings = self.settings();
        if !settings.user_status_change_allowed() {
            return Err(Error::from(Reject::StatusChangeNotAllowed));
        }
        let target = self.profile_target(caller, change.who).await?;
        let status = match change.status.filter(|s| !s.is_empty()) {
            None => None,
            Some(s) if !threadsync_domain::presence::STATUSES.contains(&s) => {
                return Err(Error::from(Reject::InvalidStatus))
            }
            Some("offline") if !settings.invisible_status_allowed() => {
                return Err(Error::from(Reject::InvisibleStatusDisabled))
            }
            Some(s) => Some(s.to_owned()),
        };
        let patch =
            UserPatch { status, status_text: change.message.map(status_text), ..UserPatch::default() };
        self.apply_patch(&target.id, &patch).await
    }

    /// `users.update`: edits user `user_id`. The caller edits itself, or
    /// another user with `edit-other-user-info`; another user's password
    /// also needs `edit-other-user-password`, roles `assign-roles`, the
    /// active flag `edit-other-user-active-status`. Every field is checked
    /// before anything is written, and all are written in one transaction.
    pub async fn update_user(&self, caller: &User, user_id: &str, data: UserUpdate) -> Result<User> {
        let editing_self = user_id == caller.id;
        if !editing_self {
            self.require_global_permission(caller, "edit-other-user-info").map_err(|_| not_allowed())?;
        }
        let target = self.store.user_by_id(user_id).await?.ok_or_else(|| Error::from(Reject::InvalidUser))?;
        let mut patch = UserPatch::default();
        if let Some(username) = data.username.as_deref().map(str::trim) {
            if username != target.username {
                // Rocket.Chat's validateUserEditing: the setting binds users
                // renaming themselves, not admins renaming others.
                if editing_self && !self.settings().username_change_allowed() {
                    return Err(Error::from(Reject::UsernameChangeNotAllowed));
                }
                validate_username(username)?;
                let holder = self.store.user_by_username(username).await?;
                if holder.is_some_and(|holder| holder.id != target.id) {
                    return Err(username_taken(username));
                }
                patch.username = Some(username.to_owned());
            }
        }
        if let Some(name) = data.name.as_deref().map(str::trim) {
            if name.is_empty() || name.chars().count() > MAX_NAME_LEN {
                return Err(Error::from(Reject::NameLength));
            }
            patch.name = Some(name.to_owned());
        }
        match (data.email.as_deref().map(str::trim), data.verified) {
            (Some(address), verified) => {
                validate_email(address)?;
                let unchanged =
                    target.emails.first().is_some_and(|e| e.address.eq_ignore_ascii_case(address));
                let was_verified = unchanged && target.emails.first().is_some_and(|e| e.verified);
                patch.email =
                    Some(Email { address: address.to_owned(), verified: verified.unwrap_or(was_verified) });
            }
            (None, Some(verified)) => {
                if let Some(first) = target.emails.first() {
                    patch.email = Some(Email { address: first.address.clone(), verified });
                }
            }
            (None, None) => {}
        }
        if let Some(password) = &data.password {
            if !editing_self && !self.has_global_permission(caller, "edit-other-user-password") {
                return Err(not_allowed());
            }
            if password.is_empty() || password.len() > MAX_PASSWORD_LEN {
                return Err(Error::from(Reject::PasswordLength));
            }
            patch.password_hash = Some(self.hash_new_password(password).await?);
        }
        if let Some(roles) = data.roles {
            if !self.has_global_permission(caller, "assign-roles") {
                return Err(Error::from(Reject::AssignRolesNotAllowed));
            }
            // By id or name (an admin's role has a random id), stored by id.
            let table = self.permissions();
            let mut ids = Vec::with_capacity(roles.len());
            for role in &roles {
                match table.role(role) {
                    Some(found) if found.scope == RoleScope::Users => ids.push(found.id),
                    _ => return Err(Error::from(Reject::RoleUnknown { role: role.clone() })),
                }
            }
            let mut roles = ids;
            roles.dedup();
            patch.roles = Some(roles);
        }
        if let Some(active) = data.active {
            if active != target.active {
                self.require_global_permission(caller, "edit-other-user-active-status")?;
                patch.active = Some(active);
            }
        }
        if let Some(text) = &data.status_text {
            patch.status_text = Some(status_text(text));
        }
        self.apply_patch(&target.id, &patch).await
    }

    async fn apply_patch(&self, id: &str, patch: &UserPatch) -> Result<User> {
        match self.store.update_user(id, patch).await {
            Ok(Some(user)) => Ok(user),
            Ok(None) => Err(Error::from(Reject::InvalidUser)),
            Err(StorageError::Conflict("email")) => {
                Err(email_taken(patch.email.as_ref().map_or("", |e| e.address.as_str())))
            }
            // Taken between the check and the write (the unique index decides).
            Err(StorageError::Conflict("username")) => {
                Err(username_taken(patch.username.as_deref().unwrap_or_default()))
            }
            Err(StorageError::Invalid("last_active_admin")) => Err(Error::from(Reject::NoActiveAdminLeft)),
            Err(e) => Err(e.into()),
        }
    }

    /// `users.getPreferences`: the preferences the caller has set.
    pub async fn preferences(&self, caller: &User) -> Result<Map<String, Value>> {
        Ok(self.store.user_preferences(&caller.id).await?.unwrap_or_default())
    }

    /// `users.setPreferences`: sets the known keys of `data` for the caller,
    /// or for `user_id` with `edit-other-user-info`; returns the user's id
    /// and every preference it has set.
    pub async fn set_preferences(
        &self,
        caller: &User,
        user_id: Option<&str>,
        data: &Map<String, Value>,
    ) -> Result<(String, Map<String, Value>)> {
        let user_id = user_id.filter(|id| !id.is_empty()).unwrap_or(&caller.id);
        if user_id != caller.id && !self.has_global_permission(caller, "edit-other-user-info") {
            return Err(Error::from(Reject::EditUserNotAllowed));
        }
        let changes = known_preferences(data)?;
        let stored = self
            .store
            .merge_user_preferences(user_id, &changes)
            .await?
            .ok_or_else(|| Error::from(Reject::OptionalUserIdUnknown))?;
        Ok((user_id.to_owned(), stored))
    }

    /// `users.getUsernameSuggestion`: a free username made from the caller's
    /// name, else from its address, numbered from 1 when taken.
    pub async fn username_suggestion(&self, caller: &User) -> Result<String> {
        let local_part = |e: &Email| e.address.split('@').next().map(username_from).unwrap_or_default();
        let mut candidates: Vec<String> = std::iter::once(username_from(&caller.name))
            .chain(caller.emails.iter().map(local_part))
            .filter(|c| !c.is_empty() && !matches!(c.as_str(), "all" | "here"))
            .collect();
        candidates.dedup();
        for candidate in &candidates {
            if self.store.user_by_username(candidate).await?.is_none() {
                return Ok(candidate.clone());
            }
        }
        let base = candidates.into_iter().next().unwrap_or_else(|| "user".to_owned());
        for n in 1..1000u32 {
            let candidate = format!("{base}-{n}");
            if self.store.user_by_username(&candidate).await?.is_none() {
                return Ok(candidate);
            }
        }
        Ok(format!("{base}-{}", threadsync_domain::id::new_id().to_lowercase()))
    }

    /// `users.createToken`: a new login token for the caller, or for any
    /// user by holders of `user-generate-access-token`, only while the
    /// server allows it (`CREATE_TOKENS_FOR_USERS`) and, when a secret is
    /// configured, with that `secret`. Everything else is `Not authorized
    /// [error-not-authorized]`, as Rocket.Chat answers it.
    pub async fn create_token(
        &self,
        caller: &User,
        who: UserSelector<'_>,
        secret: Option<&str>,
    ) -> Result<LoginSession> {
        let refused = || Error::from(Reject::NotAuthorized);
        if !self.options.create_tokens_for_users {
            return Err(refused());
        }
        let target = match (named(who.user_id), named(who.username)) {
            (None, None) => return Err(Error::from(Reject::UserSelectorMissing)),
            (id, name) => self.user_info(id, name).await?,
        };
        if target.id != caller.id && !self.has_global_permission(caller, "user-generate-access-token") {
            return Err(refused());
        }
        if let Some(expected) = &self.options.create_tokens_secret {
            // Compared as hashes: the time taken says nothing of the secret.
            if secret.map(hash_token) != Some(hash_token(expected)) {
                return Err(refused());
            }
        }
        if !target.active {
            return Err(refused());
        }
        self.issue_token(target).await
    }

    /// `users.forgotPassword`: accepted for any address, so the answer does
    /// not tell whether an account exists. threadsync sends no mail: the
    /// request is logged (with the account's id, never the address).
    pub async fn forgot_password(&self, email: &str) -> Result<()> {
        match self.store.user_by_email(email.trim()).await? {
            Some(user) => tracing::info!(
                user = %user.id,
                "password reset requested; no mail is sent (threadsync has no mail transport), an admin can set a password with users.update"
            ),
            None => tracing::info!("password reset requested for an address no account holds"),
        }
        Ok(())
    }
}

fn named(value: Option<&str>) -> Option<&str> {
    value.filter(|s| !s.trim().is_empty())
}

fn not_allowed() -> Error {
    Error::from(Reject::EditUserNotAllowed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn suggested_usernames_are_valid_usernames() {
        assert_eq!(username_from("Ada Lovelace"), "ada.lovelace");
        assert_eq!(username_from("  Zoë  O'Neil!! "), "zo.o.neil");
        assert_eq!(username_from("***"), "");
        assert_eq!(username_from("under_score-dash"), "under_score-dash");
    }

    #[test]
    fn preferences_keep_known_keys_of_the_right_type() {
        let data = json!({"useEmojis": false, "unknown": 1, "language": null, "highlights": ["a"]});
        let kept = known_preferences(data.as_object().expect("object")).expect("valid");
        assert_eq!(Value::Object(kept), json!({"useEmojis": false, "highlights": ["a"]}));
        let wrong = json!({"clockMode": "24h"});
        assert_eq!(
            known_preferences(wrong.as_object().expect("object")),
            Err(Error::from(Reject::ClockModeNotNumber))
        );
        let mixed = json!({"highlights": ["a", 1]});
        assert!(known_preferences(mixed.as_object().expect("object")).is_err());
    }

    #[test]
    fn status_messages_are_trimmed_and_cut() {
        assert_eq!(status_text("  busy day "), "busy day");
        assert_eq!(status_text(&"é".repeat(200)).chars().count(), MAX_STATUS_TEXT);
    }
}
