//! Users: registration, creation by an admin, lookup, deletion.

use crate::membership::new_subscription;
use crate::paging::Paging;
use crate::rooms::Listing;
use crate::Services;
use std::sync::OnceLock;
use threadsync_domain::Reject;
use threadsync_domain::{id, Email, Error, Result, Timestamp, User};
use threadsync_storage::{StorageError, UserListQuery, UserSortField};

const MAX_USERNAME_LEN: usize = 64;
pub(crate) const MAX_NAME_LEN: usize = 256;
const MAX_EMAIL_LEN: usize = 254;
pub(crate) const MAX_PASSWORD_LEN: usize = 1024;

/// A user to create (`users.register`, `users.create`, the first admin).
#[derive(Clone, Debug, Default)]
pub struct NewUser {
    pub username: String,
    pub email: String,
    pub password: String,
    pub name: String,
    pub roles: Vec<String>,
    pub active: bool,
    pub verified: bool,
    pub join_default_channels: bool,
}

fn username_pattern() -> &'static regex::Regex {
    static RE: OnceLock<regex::Regex> = OnceLock::new();
    // Rocket.Chat's default `UTF8_User_Names_Validation`.
    RE.get_or_init(|| regex::Regex::new(r"^[0-9a-zA-Z\-_.]+$").expect("valid pattern"))
}

pub(crate) fn validate_username(username: &str) -> Result<()> {
    if username.is_empty() || username.len() > MAX_USERNAME_LEN || !username_pattern().is_match(username) {
        return Err(Error::from(Reject::UsernameInvalid { username: username.to_owned() }));
    }
    if matches!(username.to_ascii_lowercase().as_str(), "all" | "here") {
        return Err(Error::from(Reject::UsernameBlocked { username: username.to_owned() }));
    }
    Ok(())
}

pub(crate) fn validate_email(email: &str) -> Result<()> {
    let ok = email.len() <= MAX_EMAIL_LEN
        && !email.chars().any(char::is_whitespace)
        && email
            .split_once('@')
            .is_some_and(|(local, domain)| !local.is_empty() && !domain.is_empty() && !domain.contains('@'));
    if ok {
        Ok(())
    } else {
        Err(Error::from(Reject::EmailInvalid { email: email.to_owned() }))
    }
}

impl Services {
    /// Creates a user after validating every field; joins the default
    /// channels unless asked not to.
    pub async fn create_user(&self, new: NewUser) -> Result<User> {
        let username = new.username.trim().to_owned();
        let email = new.email.trim().to_owned();
        validate_username(&username)?;
        validate_email(&email)?;
        if new.password.is_empty() || new.password.len() > MAX_PASSWORD_LEN {
            return Err(Error::from(Reject::PasswordLength));
        }
        let name = if new.name.trim().is_empty() { username.clone() } else { new.name.trim().to_owned() };
        if name.chars().count() > MAX_NAME_LEN {
            return Err(Error::from(Reject::NameTooLong));
        }
        if self.store.user_by_username(&username).await?.is_some() {
            return Err(username_taken(&username));
        }
        if self.store.user_by_email(&email).await?.is_some() {
            return Err(email_taken(&email));
        }
        let now = Timestamp::now();
        let roles = if new.roles.is_empty() { vec!["user".to_owned()] } else { new.roles };
        for role in &roles {
            if !matches!(role.as_str(), "admin" | "user" | "bot" | "guest") {
                return Err(Error::from(Reject::RoleUnknown { role: role.clone() }));
            }
        }
        let user = User {
            id: id::new_id(),
            username: username.clone(),
            name,
            emails: vec![Email { address: email.clone(), verified: new.verified }],
            password_hash: Some(self.hash_new_password(&new.password).await?),
            kind: if roles.iter().any(|r| r == "bot") { "bot".into() } else { "user".into() },
            roles,
            active: new.active,
            status: "offline".into(),
            status_text: String::new(),
            status_default: "online".into(),
            status_connection: "offline".into(),
            last_login: None,
            utc_offset: 0.0,
            created_at: now,
            updated_at: now,
        };
        // The default channels are joined in the same transaction as the
        // user is created: a failure leaves neither behind.
        let joins = if new.join_default_channels {
            self.store
                .default_rooms()
                .await?
                .iter()
                .map(|room| new_subscription(room, &user, Vec::new()))
                .collect()
        } else {
            Vec::new()
        };
        // The checks above give friendly errors; the store's unique indexes
        // are what actually guarantee uniqueness under concurrent requests.
        self.store.insert_user(&user, &joins).await.map_err(|e| match e {
            StorageError::Conflict("email") => email_taken(&email),
            StorageError::Conflict(_) => username_taken(&username),
            other => other.into(),
        })?;
        Ok(user)
    }

    /// `users.register`: self-service sign-up, while `Accounts_RegistrationForm` is `Public`.
    pub async fn register(&self, username: &str, email: &str, pass: &str, name: &str) -> Result<User> {
        if !self.settings().registration_public() {
            return Err(Error::from(Reject::RegistrationNeedsSecret));
        }
        self.create_user(NewUser {
            username: username.to_owned(),
            email: email.to_owned(),
            password: pass.to_owned(),
            name: name.to_owned(),
            roles: vec!["user".into()],
            active: true,
            verified: false,
            join_default_channels: true,
        })
        .await
    }

    /// `users.create`: needs `create-user` (admins by default), else 403.
    pub async fn create_user_as(&self, caller: &User, new: NewUser) -> Result<User> {
        self.require_global_permission(caller, "create-user")?;
        self.create_user(new).await
    }

    /// `users.info`: by id or by username.
    pub async fn user_info(&self, user_id: Option<&str>, username: Option<&str>) -> Result<User> {
        let found = match (user_id, username) {
            (Some(id), _) if !id.is_empty() => self.store.user_by_id(id).await?,
            (_, Some(name)) if !name.is_empty() => self.store.user_by_username(name).await?,
            _ => return Err(Error::from(Reject::UserSelectorMissingGeneric)),
        };
        found.ok_or_else(|| Error::from(Reject::UserNotFound))
    }

    /// `users.delete`: needs `delete-user` (admins by default), else 403;
    /// an admin cannot delete themselves (the last admin must stay).
    pub async fn delete_user(&self, caller: &User, user_id: &str) -> Result<()> {
        self.require_global_permission(caller, "delete-user")?;
        let target = self.store.user_by_id(user_id).await?.ok_or_else(|| Error::from(Reject::InvalidUser))?;
        if target.is_admin() && target.id == caller.id {
            return Err(Error::from(Reject::NoAdminLeft));
        }
        self.store.delete_user(&target.id).await?;
        Ok(())
    }
}

/// `users.list`'s `sort`: a JSON object with one key (`username`, `name`,
/// `createdAt`, `status` or `active`, the last two both meaning the
/// `active` flag, as in Rocket.Chat) valued 1 or -1. Username order without it.
fn user_sort(raw: Option<&str>) -> Result<(UserSortField, bool)> {
    let Some(raw) = raw.filter(|r| !r.trim().is_empty()) else { return Ok((UserSortField::Username, false)) };
    let invalid = |reason: &str| {
        Error::from(Reject::UserSortInvalid { raw: raw.to_owned(), reason: reason.to_owned() })
    };
    let value: serde_json::Value = serde_json::from_str(raw).map_err(|_| invalid("not JSON"))?;
    let object = value.as_object().ok_or_else(|| invalid("not an object"))?;
    let mut entries = object.iter();
    let (Some((key, direction)), None) = (entries.next(), entries.next()) else {
        return Err(invalid("one field is expected"));
    };
    let field = match key.as_str() {
        "username" => UserSortField::Username,
        "name" => UserSortField::Name,
        "createdAt" => UserSortField::CreatedAt,
        "status" | "active" => UserSortField::Active,
        _ => return Err(invalid("users sort by username, name, createdAt, status or active")),
    };
    match direction.as_i64() {
        Some(1) => Ok((field, false)),
        Some(-1) => Ok((field, true)),
        _ => Err(invalid("the direction is 1 or -1")),
    }
}

/// What `users.list` was asked for, as read from the request.
#[derive(Clone, Copy, Debug, Default)]
pub struct UserListRequest<'a> {
    pub sort: Option<&'a str>,
    pub email: Option<&'a str>,
    pub query: Option<&'a str>,
}

impl Services {
    /// `users.list`: needs `view-d-room` (every role but anonymous), else
    /// 403. Users in `sort` order (username by default), or the one with
    /// address `email`. The free-form `query` of Rocket.Chat (deprecated
    /// there, and unsafe: a Mongo selector over user documents) is refused.
    /// Holders of `view-full-other-user-info` (admins) see addresses; others
    /// do not.
    pub async fn list_users(
        &self,
        caller: &User,
        request: UserListRequest<'_>,
        paging: Paging,
    ) -> Result<(Listing<User>, bool)> {
        self.require_global_permission(caller, "view-d-room")?;
        if request.query.is_some_and(|q| !q.trim().is_empty() && q.trim() != "{}") {
            return Err(Error::from(Reject::UsersListQueryUnsupported));
        }
        let (sort, descending) = user_sort(request.sort)?;
        let email = match request.email {
            Some("") => return Err(Error::from(Reject::SchemaEmptyString)),
            other => other.map(str::to_owned),
        };
        let query = UserListQuery {
            email,
            sort,
            descending,
            offset: paging.offset,
            count: paging.count,
            ..UserListQuery::default()
        };
        let page = self.store.list_users(&query).await?;
        let full = self.has_global_permission(caller, "view-full-other-user-info");
        Ok((Listing { items: page.items, total: page.total }, full))
    }

    /// `users.setActiveStatus`: needs `edit-other-user-active-status`
    /// (admins by default), else 403. Deactivating ends every session of the
    /// user at once (its login tokens are removed; it can no longer log in)
    /// and never leaves the server without an active admin.
    pub async fn set_user_active_status(&self, caller: &User, user_id: &str, active: bool) -> Result<User> {
        self.require_global_permission(caller, "edit-other-user-active-status")?;
        match self.store.set_user_active(user_id, active).await {
            Ok(Some(user)) => Ok(user),
            Ok(None) => Err(Error::from(Reject::InvalidUser)),
            Err(StorageError::Invalid("last_active_admin")) => Err(Error::from(Reject::NoActiveAdminLeft)),
            Err(e) => Err(e.into()),
        }
    }
}

pub(crate) fn username_taken(username: &str) -> Error {
    Error::from(Reject::UsernameTaken { username: username.to_owned() })
}

pub(crate) fn email_taken(email: &str) -> Error {
    Error::from(Reject::EmailTaken { email: email.to_owned() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_and_emails_are_validated() {
        assert!(validate_username("alice.b-c_9").is_ok());
        assert!(validate_username("al ice").is_err());
        assert!(validate_username("").is_err());
        assert!(validate_username("all").is_err());
        assert!(validate_username(&"a".repeat(65)).is_err());
        assert!(validate_email("a@b.c").is_ok());
        assert!(validate_email("a@").is_err());
        assert!(validate_email("a b@c").is_err());
        assert!(validate_email("no-at").is_err());
    }
}
