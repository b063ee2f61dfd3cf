//! Users' pictures: `users.setAvatar`, `users.resetAvatar`, `users.getAvatar`
//! and what `/avatar/<username>` serves (docs/files.md#avatars).
//!
//! An uploaded picture replaces the drawn initials. Its bytes go to the
//! blob store under a new key each time; the record names the key, so the
//! old bytes are removed only after the record moved on.

use crate::files::{IncomingFile, StoredFile};
use crate::rooms::UserSelector;
use crate::Services;
use threadsync_domain::upload::{clean_name, content_type_of, type_group};
use threadsync_domain::Reject;
use threadsync_domain::{id, Error, Result, Timestamp, User};
use threadsync_storage::{Avatar, Blob, BlobError};

/// The largest picture accepted: pictures are fetched by every client that
/// shows a message of the user, without login, so they stay small whatever
/// `FileUpload_MaxFileSize` allows.
pub const MAX_AVATAR_BYTES: u64 = 5 * 1024 * 1024;

impl Services {
    /// The first check of `users.setAvatar` / `users.resetAvatar`, made
    /// before a picture is read: the caller may change their own picture
    /// (`Accounts_AllowUserAvatarChange`) or holds `edit-other-user-avatar`.
    pub fn check_avatar_change_allowed(&self, caller: &User) -> Result<()> {
        if !self.settings().allow_user_avatar_change()
            && !self.has_global_permission(caller, "edit-other-user-avatar")
        {
            return Err(Error::from(Reject::AvatarChangeNotAllowed));
        }
        Ok(())
    }

    /// Stores an uploaded picture's bytes: an image (`image/*`, declared
    /// or guessed from the name), at most [`MAX_AVATAR_BYTES`].
    pub async fn store_avatar_image(&self, file: IncomingFile<'_>) -> Result<StoredFile> {
        let name = clean_name(file.name.unwrap_or(""));
        let content_type = content_type_of(file.content_type, &name);
        if type_group(&content_type) != "image" {
            return Err(Error::from(Reject::AvatarNotAnImage));
        }
        let key = format!("avatar-{}", id::new_id());
        let size = self.blobs.put(&key, file.body, Some(MAX_AVATAR_BYTES)).await.map_err(|e| match e {
            BlobError::TooLarge { .. } => Error::from(Reject::FileTooLarge),
            BlobError::Incoming(e) => Error::from(Reject::ImageIncomplete { detail: e.to_string() }),
            BlobError::Store(e) => Error::Internal(format!("cannot store an avatar: {e}")),
        })?;
        Ok(StoredFile::new(key, name, content_type, size))
    }

    /// `users.setAvatar`: makes a stored picture the picture of the caller
    /// or of the user named (`userId` / `username`; another user's needs
    /// `edit-other-user-avatar`). On any refusal the picture is removed.
    pub async fn set_avatar(&self, caller: &User, target: UserSelector<'_>, image: StoredFile) -> Result<()> {
        let user = match self.avatar_target(caller, target).await {
            Ok(user) => user,
            Err(e) => {
                self.discard_file(image).await;
                return Err(e);
            }
        };
        let avatar = Avatar {
            user_id: user.id.clone(),
            key: image.key().to_owned(),
            content_type: image.content_type().to_owned(),
            updated_at: Timestamp::now(),
        };
        match self.store.set_avatar(&avatar).await {
            Ok(Some(old)) => self.remove_avatar_bytes(&old).await,
            Ok(None) => {}
            Err(e) => {
                self.discard_file(image).await;
                return Err(e.into());
            }
        }
        Ok(())
    }

    /// `users.resetAvatar`: back to the drawn initials (same rules as
    /// `users.setAvatar`; the user must be named).
    pub async fn reset_avatar(&self, caller: &User, target: UserSelector<'_>) -> Result<()> {
        self.check_avatar_change_allowed(caller)?;
        let user = self.target_user(target).await?;
        if user.id != caller.id && !self.has_global_permission(caller, "edit-other-user-avatar") {
            return Err(Error::from(Reject::NotAllowed));
        }
        if let Some(old) = self.store.remove_avatar(&user.id).await? {
            self.remove_avatar_bytes(&old).await;
        }
        Ok(())
    }

    /// `users.getAvatar`: the user whose picture is asked for (by `userId`
    /// or `username`); the route redirects to `/avatar/<username>`.
    pub async fn avatar_owner(&self, target: UserSelector<'_>) -> Result<User> {
        self.target_user(target).await
    }

    /// What `/avatar/<name>` serves for a username: the uploaded picture
    /// and its bytes, or `None` (the route draws the initials).
    pub async fn uploaded_avatar(&self, username: &str) -> Result<Option<(Avatar, Blob)>> {
        let Some(user) = self.store.user_by_username(username).await? else {
            return Ok(None);
        };
        let Some(avatar) = self.store.avatar_of(&user.id).await? else {
            return Ok(None);
        };
        Ok(self.blobs.open(&avatar.key).await?.map(|blob| (avatar, blob)))
    }

    async fn avatar_target(&self, caller: &User, target: UserSelector<'_>) -> Result<User> {
        self.check_avatar_change_allowed(caller)?;
        let named = target.user_id.is_some_and(|s| !s.trim().is_empty())
            || target.username.is_some_and(|s| !s.trim().is_empty());
        if !named {
            return Ok(caller.clone());
        }
        let user = self.target_user(target).await.map_err(|_| Error::from(Reject::OptionalUserUnknown))?;
        if user.id != caller.id && !self.has_global_permission(caller, "edit-other-user-avatar") {
            return Err(Error::from(Reject::NotAllowed));
        }
        Ok(user)
    }

    async fn remove_avatar_bytes(&self, avatar: &Avatar) {
        if let Err(e) = self.blobs.delete(&avatar.key).await {
            tracing::warn!(key = %avatar.key, error = %e, "cannot remove a replaced avatar's bytes");
        }
    }
}
