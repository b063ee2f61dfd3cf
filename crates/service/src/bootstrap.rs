//! First start: the `GENERAL` channel, the `rocket.cat` bot and the first
//! admin.

use crate::users::NewUser;
use crate::Services;
use threadsync_domain::Code;
use threadsync_domain::{Error, Result, Room, RoomType, Timestamp, User};
use threadsync_storage::StorageError;

/// The id of the default public channel every Rocket.Chat server has.
pub const GENERAL_ROOM_ID: &str = "GENERAL";

/// The id and username of the bot every Rocket.Chat server creates for
/// itself. Clients and scripts name it without looking it up (the Python
/// client's suite ignores `rocket.cat` in `GENERAL` after adding every user
/// there), so it exists here too, with the same id, name, type and role.
pub const ROCKET_CAT_ID: &str = "rocket.cat";

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

/// Makes sure the `rocket.cat` bot exists (on every start, as Rocket.Chat
/// does, so a store created before the bot existed gains it); then, on a
/// store with no users besides the bot, makes sure `GENERAL` exists and
/// creates the admin from `seed` if given. Safe to run on every start, and
/// on several instances starting at once.
pub async fn bootstrap(services: &Services, seed: Option<AdminSeed>) -> Result<BootstrapReport> {
    let store = services.store();
    let bot_exists = store.user_by_id(ROCKET_CAT_ID).await?.is_some();
    // The bot is the server's own: it does not make a store "set up".
    let people = store.count_users().await?.saturating_sub(u64::from(bot_exists));
    if people == 0 && store.room_by_id(GENERAL_ROOM_ID).await?.is_none() {
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
    if !bot_exists {
        create_rocket_cat(services).await?;
    }
    if people > 0 {
        return Ok(BootstrapReport::AlreadyInitialised);
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

/// Creates `rocket.cat` as Rocket.Chat does: id and username `rocket.cat`,
/// name `Rocket.Cat`, type `bot`, role `bot`, active, always `online`, no
/// email, no password (nobody can log in as it) and no room: it joins
/// `GENERAL` only if someone adds it (`channels.addAll` does).
async fn create_rocket_cat(services: &Services) -> Result<()> {
    let now = Timestamp::now();
    let bot = User {
        id: ROCKET_CAT_ID.to_owned(),
        username: ROCKET_CAT_ID.to_owned(),
        name: "Rocket.Cat".to_owned(),
        emails: Vec::new(),
        password_hash: None,
        roles: vec!["bot".to_owned()],
        active: true,
        status: "online".to_owned(),
        status_default: "online".to_owned(),
        status_connection: "offline".to_owned(),
        status_text: String::new(),
        last_login: None,
        utc_offset: 0.0,
        kind: "bot".to_owned(),
        created_at: now,
        updated_at: now,
    };
    match services.store().insert_user(&bot, &[]).await {
        Ok(()) => Ok(()),
        // Another instance created it first.
        Err(StorageError::Conflict("id")) => Ok(()),
        // Someone registered the username before the bot existed (a store
        // from a version without it): Rocket.Chat refuses to start; the
        // server here runs without the bot, and says so.
        Err(StorageError::Conflict(_)) => {
            tracing::warn!("a user named rocket.cat exists: the rocket.cat bot was not created");
            Ok(())
        }
        Err(e) => Err(e.into()),
    }
}
