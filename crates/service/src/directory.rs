//! What clients read at start-up besides their rooms: the settings lists,
//! roles and permissions, and presence (docs/rest.md#start-up).

use crate::paging::Paging;
use crate::rooms::{Listing, UserSelector};
use crate::Services;
use serde_json::Value;
use threadsync_domain::permissions::RoleScope;
use threadsync_domain::settings::is_public;
use threadsync_domain::{Error, Result, Timestamp, User};
use threadsync_domain::{Param, Reject};
use threadsync_storage::{RoleFilter, UserListQuery};

/// The most users one presence or role listing returns.
pub const MAX_DIRECTORY_USERS: u64 = 1000;

/// Which settings `settings.public` lists: all public ones, or those named.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SettingsFilter {
    /// `None`: every public setting; `Some`: only these ids.
    pub ids: Option<Vec<String>>,
}

impl SettingsFilter {
    /// Reads Rocket.Chat's two request forms: `_id=a,b` (7.0 and later)
    /// and `query={"_id":{"$in":[...]}}` or `query={"_id":"a"}` (before).
    pub fn parse(ids: Option<&str>, query: Option<&str>) -> Result<SettingsFilter> {
        if let Some(ids) = ids.filter(|s| !s.trim().is_empty()) {
            let ids = ids.split(',').map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect();
            return Ok(SettingsFilter { ids: Some(ids) });
        }
        let Some(query) = query.filter(|s| !s.trim().is_empty()) else {
            return Ok(SettingsFilter::default());
        };
        let bad = || Error::from(Reject::DirectoryQueryInvalid);
        let value: Value = serde_json::from_str(query).map_err(|_| bad())?;
        let object = value.as_object().ok_or_else(bad)?;
        if object.keys().any(|k| k != "_id") {
            return Err(bad());
        }
        let ids = match object.get("_id") {
            None => return Ok(SettingsFilter::default()),
            Some(Value::String(id)) => vec![id.clone()],
            Some(Value::Object(op)) if op.len() == 1 => match op.get("$in") {
                Some(Value::Array(items)) => items
                    .iter()
                    .map(|v| v.as_str().map(str::to_owned).ok_or_else(bad))
                    .collect::<Result<Vec<_>>>()?,
                _ => return Err(bad()),
            },
            Some(_) => return Err(bad()),
        };
        Ok(SettingsFilter { ids: Some(ids) })
    }
}

impl Services {
    /// `settings.public`: public settings by id, paged; unknown and private
    /// ids are left out, as in Rocket.Chat.
    pub fn public_settings(&self, filter: &SettingsFilter, paging: Paging) -> Listing<(String, Value)> {
        let settings = self.settings();
        let all = settings.values.iter().filter(|(id, _)| is_public(id));
        let chosen: Vec<(String, Value)> = match &filter.ids {
            None => all.map(|(id, v)| (id.clone(), v.clone())).collect(),
            Some(ids) => {
                all.filter(|(id, _)| ids.contains(id)).map(|(id, v)| (id.clone(), v.clone())).collect()
            }
        };
        page_of(chosen, paging)
    }

    /// `settings`: every setting, paged; needs `view-privileged-setting`
    /// (admins by default), else 403.
    pub fn all_settings(&self, caller: &User, paging: Paging) -> Result<Listing<(String, Value)>> {
        self.require_global_permission(caller, "view-privileged-setting")?;
        let all = self.settings().values.iter().map(|(id, v)| (id.clone(), v.clone())).collect();
        Ok(page_of(all, paging))
    }

    /// `roles.getUsersInPublicRoles`: users holding a role besides `user`.
    pub async fn users_in_public_roles(&self) -> Result<Vec<User>> {
        Ok(self.store.users_with_extra_roles(MAX_DIRECTORY_USERS).await?)
    }

    /// `roles.getUsersInRole?role=&roomId=`: the users holding `role`, by
    /// username. Rocket.Chat's checks in its order: `role` given, the
    /// caller holds `access-permissions` (and `view-other-user-channels`
    /// when a room is named; both admins by default), the role exists. A
    /// room role (owner, moderator, leader) is looked up in the room's
    /// subscriptions (in every room without `roomId`); a global role in the
    /// users' roles, whatever the room.
    pub async fn users_in_role(
        &self,
        caller: &User,
        role: Param<&str>,
        room_id: Option<&str>,
        paging: Paging,
    ) -> Result<Listing<User>> {
        let role = role?;
        let not_allowed = || Error::from(Reject::NotAllowed);
        if !self.has_global_permission(caller, "access-permissions") {
            return Err(not_allowed());
        }
        if room_id.is_some() && !self.has_global_permission(caller, "view-other-user-channels") {
            return Err(not_allowed());
        }
        let def = self.permissions().role(role).ok_or_else(|| Error::from(Reject::InvalidRoleIdBare))?;
        let filter = match def.scope {
            RoleScope::Subscriptions => RoleFilter::InRoom { role: def.id, rid: room_id.map(str::to_owned) },
            RoleScope::Users => RoleFilter::Global(def.id),
        };
        let query = UserListQuery {
            role: Some(filter),
            offset: paging.offset,
            count: paging.count,
            ..UserListQuery::default()
        };
        let page = self.store.list_users(&query).await?;
        Ok(Listing { items: page.items, total: page.total })
    }

    /// `users.getStatus` / `users.getPresence`: the named user, or the
    /// caller when none is named.
    pub async fn user_status(&self, caller: &User, who: UserSelector<'_>) -> Result<User> {
        let named = |v: Option<&str>| v.is_some_and(|s| !s.trim().is_empty());
        if !named(who.user_id) && !named(who.username) {
            return Ok(caller.clone());
        }
        self.user_info(who.user_id, who.username).await
    }

    /// `users.presence?ids=&from=`, as Rocket.Chat answers it: with `ids`,
    /// those of the named users who are not offline (at most
    /// [`MAX_DIRECTORY_USERS`] ids are looked at; `full: false`); with a
    /// `from` less than [`PRESENCE_DELTA_WINDOW_MS`] old, every user but the
    /// caller whose status changed since, offline ones included, so a
    /// client sees who left (`full: false`); otherwise every user who is
    /// not offline (`full: true`). With the presence broadcast off
    /// (`Troubleshoot_Disable_Presence_Broadcast`), nobody, `full: true`.
    /// Lists stop at [`MAX_PRESENCE_USERS`]: Rocket.Chat's are unbounded.
    pub async fn users_presence(
        &self,
        caller: &User,
        ids: &[String],
        from: Option<Timestamp>,
    ) -> Result<PresenceList> {
        if self.settings().presence_broadcast_disabled() {
            return Ok(PresenceList { users: Vec::new(), full: true });
        }
        if !ids.is_empty() {
            let mut present = Vec::new();
            for id in ids.iter().take(usize::try_from(MAX_DIRECTORY_USERS).unwrap_or(usize::MAX)) {
                if let Some(user) = self.store.user_by_id(id).await? {
                    if user.status != "offline" {
                        present.push(user);
                    }
                }
            }
            return Ok(PresenceList { users: present, full: false });
        }
        let recent = from.filter(|at| Timestamp::now().millis() - at.millis() < PRESENCE_DELTA_WINDOW_MS);
        let query = UserListQuery {
            present_only: recent.is_none(),
            updated_since: recent,
            except_id: recent.map(|_| caller.id.clone()),
            count: MAX_PRESENCE_USERS,
            ..UserListQuery::default()
        };
        let page = self.store.list_users(&query).await?;
        Ok(PresenceList { users: page.items, full: recent.is_none() })
    }
}

/// The answer of [`Services::users_presence`].
#[derive(Clone, Debug)]
pub struct PresenceList {
    pub users: Vec<User>,
    /// Every user who is not offline (`true`), or only changes (`false`).
    pub full: bool,
}

/// How old a `users.presence?from=` may be and still get only the changes
/// since (Rocket.Chat's ten minutes); an older one gets the full list.
pub const PRESENCE_DELTA_WINDOW_MS: i64 = 10 * 60 * 1000;

/// The most users one `users.presence` answer lists.
pub const MAX_PRESENCE_USERS: u64 = 10_000;

fn page_of<T>(items: Vec<T>, paging: Paging) -> Listing<T> {
    let total = u64::try_from(items.len()).unwrap_or(u64::MAX);
    let offset = usize::try_from(paging.offset).unwrap_or(usize::MAX);
    let count = usize::try_from(paging.count).unwrap_or(usize::MAX);
    Listing { items: items.into_iter().skip(offset).take(count).collect(), total }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_request_forms() {
        let some = |ids: &[&str]| SettingsFilter { ids: Some(ids.iter().map(|s| (*s).to_owned()).collect()) };
        assert_eq!(SettingsFilter::parse(Some("a, b,"), None), Ok(some(&["a", "b"])));
        assert_eq!(SettingsFilter::parse(None, Some(r#"{"_id":{"$in":["a","b"]}}"#)), Ok(some(&["a", "b"])));
        assert_eq!(SettingsFilter::parse(None, Some(r#"{"_id":"a"}"#)), Ok(some(&["a"])));
        assert_eq!(SettingsFilter::parse(None, None), Ok(SettingsFilter::default()));
        for bad in [r#"{"_id":{"$ne":"a"}}"#, r#"{"value":1}"#, "[1]", "{", r#"{"_id":{"$in":[1]}}"#] {
            assert!(SettingsFilter::parse(None, Some(bad)).is_err(), "{bad}");
        }
    }
}
