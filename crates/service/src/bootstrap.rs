//! First start: the `GENERAL` channel and the first admin.

use crate::users::NewUser;
use crate::Services;
use threadsync_domain::Code;
use threadsync_domain::{Error, Result, Room, RoomType, Timestamp};
use threadsync_storage::StorageError;

/// The id of the default public channel every Rocket.Chat server has.
pub const GENERAL_ROOM_ID: &str = "GENERAL";

/// The first admin, from `ADMIN_USERNAME`, `ADMIN_PASS`, `ADMIN_EMAIL`
/// (the names Rocket.Chat's images use).
#[derive(Clone, Debug)]
pub struct AdminSeed {
    pub username: String,
    pub password: String,
    pub email: String,
}

/// What [`bootstrap`] did, for the binary to log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BootstrapReport {
    /// Users already exist: nothing to do.
    AlreadyInitialised,
    /// No users existed; the admin was created with this username.
    AdminCreated { username: String },
    /// No users exist and no admin seed was given.
    NoAdmin,
}

/// On a store with no users: makes sure `GENERAL` exists and creates the
/// admin from `seed` if given. Safe to run on every start.
pub async fn bootstrap(services: &Services, seed: Option<AdminSeed>) -> Result<BootstrapReport> {
    let store = services.store();
    if store.count_users().await? > 0 {
        return Ok(BootstrapReport::AlreadyInitialised);
    }
    if store.room_by_id(GENERAL_ROOM_ID).await?.is_none() {
        let now = Timestamp::now();
        let general = Room {
            name: Some("general".to_owned()),
            fname: Some("general".to_owned()),
            is_default: true,
            ..Room::new(GENERAL_ROOM_ID.to_owned(), RoomType::Channel, now)
        };
        match store.create_room(&general, &[]).await {
            // Another instance created it first: fine.
            Ok(_) | Err(StorageError::Conflict(_)) => {}
            Err(e) => return Err(e.into()),
        }
    }
    let Some(seed) = seed else {
        return Ok(BootstrapReport::NoAdmin);
    };
    let name = seed.username.clone();
    let created = services
        .create_user(NewUser {
            username: seed.username,
            email: seed.email,
            password: seed.password,
            name: name.clone(),
            roles: vec!["admin".into(), "user".into()],
            active: true,
            verified: true,
            join_default_channels: true,
        })
        .await;
    match created {
        Ok(_) => {}
        // Another instance on the same database created it first (both saw
        // no users): the admin exists, which is all that was asked.
        Err(Error::Rejected { code: Code::FieldUnavailable, .. }) => {
            return Ok(BootstrapReport::AlreadyInitialised)
        }
        Err(Error::Rejected { reason, .. }) => {
            return Err(Error::internal(format!("cannot create the admin: {reason}")))
        }
        Err(other) => return Err(other),
    }
    Ok(BootstrapReport::AdminCreated { username: name })
}
