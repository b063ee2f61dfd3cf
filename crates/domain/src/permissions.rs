//! Roles and the permission table: Rocket.Chat's defaults, as data.
//!
//! `roles.list` and `permissions.listAll` answer from here, and every
//! access decision of the services consults the table (with an admin's
//! stored changes laid over these defaults), keyed by permission id.

use crate::time::Timestamp;

/// When the built-in table last changed (the `_updatedAt` of its roles and
/// permissions): a client that synced after it gets an empty delta from
/// `permissions.listAll?updatedSince=`. Move it whenever the table changes.
pub const TABLE_UPDATED_AT: Timestamp = Timestamp(1_796_256_000_000);

/// Where a role applies: to a user everywhere (`Users`) or to a user in one
/// room (`Subscriptions`: owner, moderator, leader).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RoleScope {
    Users,
    Subscriptions,
}

impl RoleScope {
    /// `Users` or `Subscriptions`, exactly as Rocket.Chat spells them.
    pub fn parse(s: &str) -> Option<RoleScope> {
        match s {
            "Users" => Some(RoleScope::Users),
            "Subscriptions" => Some(RoleScope::Subscriptions),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            RoleScope::Users => "Users",
            RoleScope::Subscriptions => "Subscriptions",
        }
    }
}

/// A role as `roles.list` describes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RoleDef {
    /// The role's id, also its name.
    pub id: &'static str,
    pub scope: RoleScope,
    pub description: &'static str,
}

/// The default roles. All are protected (they cannot be deleted).
pub const ROLES: &[RoleDef] = &[
    RoleDef { id: "admin", scope: RoleScope::Users, description: "Admin" },
    RoleDef { id: "moderator", scope: RoleScope::Subscriptions, description: "Moderator" },
    RoleDef { id: "leader", scope: RoleScope::Subscriptions, description: "Leader" },
    RoleDef { id: "owner", scope: RoleScope::Subscriptions, description: "Owner" },
    RoleDef { id: "user", scope: RoleScope::Users, description: "" },
    RoleDef { id: "bot", scope: RoleScope::Users, description: "" },
    RoleDef { id: "app", scope: RoleScope::Users, description: "" },
    RoleDef { id: "guest", scope: RoleScope::Users, description: "" },
    RoleDef { id: "anonymous", scope: RoleScope::Users, description: "" },
];

pub fn role(id: &str) -> Option<&'static RoleDef> {
    ROLES.iter().find(|r| r.id == id)
}

/// A role as the server knows it: a built-in one (protected, its id is its
/// name) or one an admin created (`roles.create`: a random id, its own
/// name). Users' and subscriptions' `roles` and the permission table name
/// roles by id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Role {
    pub id: String,
    pub name: String,
    pub scope: RoleScope,
    pub description: String,
    /// Built-in: never renamed, re-scoped or deleted.
    pub protected: bool,
    pub mandatory2fa: bool,
    pub updated_at: Timestamp,
}

impl Role {
    /// A built-in role.
    pub fn builtin(def: &RoleDef) -> Role {
        Role {
            id: def.id.to_owned(),
            name: def.id.to_owned(),
            scope: def.scope,
            description: def.description.to_owned(),
            protected: true,
            mandatory2fa: false,
            updated_at: TABLE_UPDATED_AT,
        }
    }
}

/// A permission and the roles that hold it by default.
pub type PermissionDef = (&'static str, &'static [&'static str]);

const A: &[&str] = &["admin"];
const AOM: &[&str] = &["admin", "owner", "moderator"];
const AO: &[&str] = &["admin", "owner"];
const AUBA: &[&str] = &["admin", "user", "bot", "app"];
const AOMU: &[&str] = &["admin", "owner", "moderator", "user"];

/// Rocket.Chat's default permission table (the omnichannel, VoIP and
/// marketplace permissions left out: threadsync has none of those
/// features), sorted by id.
pub const PERMISSIONS: &[PermissionDef] = &[
    ("access-mailer", A),
    ("access-permissions", A),
    ("access-setting-permissions", A),
    ("add-all-to-room", A),
    ("add-oauth-service", A),
    ("add-team-channel", AOM),
    ("add-team-member", AOM),
    ("add-user-to-any-c-room", A),
    ("add-user-to-any-p-room", &[]),
    ("add-user-to-joined-room", AOM),
    ("api-bypass-rate-limit", &["admin", "bot", "app"]),
    ("archive-room", AO),
    ("assign-admin-role", A),
    ("assign-roles", A),
    ("ban-user", AOM),
    ("bulk-register-user", A),
    ("call-management", AOM),
    ("clean-channel-history", A),
    ("clear-oembed-cache", A),
    ("convert-team", AO),
    ("create-c", AUBA),
    ("create-d", AUBA),
    ("create-invite-links", AOM),
    ("create-p", AUBA),
    ("create-personal-access-tokens", &["admin", "user"]),
    ("create-team", &["admin", "user"]),
    ("create-user", A),
    ("delete-c", AO),
    ("delete-d", A),
    ("delete-message", AOM),
    ("delete-own-message", &["admin", "user"]),
    ("delete-p", AO),
    ("delete-team", AO),
    ("delete-user", A),
    ("edit-message", AOM),
    ("edit-other-user-active-status", A),
    ("edit-other-user-avatar", A),
    ("edit-other-user-e2ee", A),
    ("edit-other-user-info", A),
    ("edit-other-user-password", A),
    ("edit-other-user-totp", A),
    ("edit-privileged-setting", A),
    ("edit-room", AOM),
    ("edit-room-avatar", AOM),
    ("edit-room-retention-policy", A),
    ("edit-team", AO),
    ("edit-team-channel", AOM),
    ("edit-team-member", AOM),
    ("force-delete-message", AO),
    ("get-server-info", A),
    ("join-without-join-code", &["admin", "bot", "app"]),
    ("leave-c", &["admin", "user", "bot", "anonymous", "app"]),
    ("leave-p", &["admin", "user", "bot", "anonymous", "app"]),
    ("logout-other-user", A),
    ("mail-messages", A),
    ("manage-assets", A),
    ("manage-emoji", A),
    ("manage-incoming-integrations", A),
    ("manage-oauth-apps", A),
    ("manage-outgoing-integrations", A),
    ("manage-own-incoming-integrations", A),
    ("manage-own-outgoing-integrations", A),
    ("manage-selected-settings", A),
    ("manage-sounds", A),
    ("manage-user-status", A),
    ("mention-all", AOMU),
    ("mention-here", AOMU),
    ("message-impersonate", &["bot", "app"]),
    ("mobile-upload-file", &["user", "admin"]),
    ("mute-user", AOM),
    ("pin-message", &["owner", "moderator", "admin"]),
    ("post-readonly", AOM),
    ("preview-c-room", &["admin", "user", "anonymous"]),
    ("remove-team-channel", AOM),
    ("remove-user", AOM),
    ("restart-server", A),
    ("run-import", A),
    ("run-migration", A),
    ("send-mail", A),
    ("send-many-messages", &["admin", "bot", "app"]),
    ("set-leader", AO),
    ("set-moderator", AO),
    ("set-owner", AO),
    ("set-react-when-readonly", AO),
    ("set-readonly", AO),
    ("snippet-message", &["owner", "moderator", "admin"]),
    ("start-discussion", &["admin", "user", "guest", "app"]),
    ("start-discussion-other-user", &["admin", "user", "owner", "app"]),
    ("test-admin-options", A),
    ("toggle-room-e2e-encryption", &["owner", "admin"]),
    ("unarchive-room", A),
    ("user-generate-access-token", A),
    ("videoconf-ring-users", AOMU),
    ("view-all-team-channels", AO),
    ("view-all-teams", A),
    ("view-broadcast-member-list", AOM),
    ("view-c-room", &["admin", "user", "bot", "app", "anonymous"]),
    ("view-d-room", &["admin", "user", "bot", "app", "guest"]),
    ("view-full-other-user-info", A),
    ("view-history", &["admin", "user", "anonymous"]),
    ("view-import-operations", A),
    ("view-join-code", A),
    ("view-joined-room", &["guest", "bot", "app", "anonymous"]),
    ("view-logs", A),
    ("view-other-user-channels", A),
    ("view-outside-room", AOMU),
    ("view-p-room", &["admin", "user", "anonymous", "guest"]),
    ("view-privileged-setting", A),
    ("view-room-administration", A),
    ("view-statistics", A),
    ("view-user-administration", A),
];

/// The roles that hold `permission` by default (`None`: no such permission).
pub fn default_roles(permission: &str) -> Option<&'static [&'static str]> {
    PERMISSIONS.binary_search_by(|(id, _)| (*id).cmp(permission)).ok().map(|i| PERMISSIONS[i].1)
}

/// An admin's change to the table: the roles now holding `id`, and when it
/// changed. Persisted by the store; the defaults are never stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PermissionChange {
    pub id: String,
    pub roles: Vec<String>,
    pub updated_at: Timestamp,
}

/// The permission table in force: Rocket.Chat's defaults with the admin's
/// changes over them. Every access decision that Rocket.Chat bases on a
/// permission asks [`PermissionTable::holds`]; a change replaces the whole
/// table (the services keep it behind an `Arc`), so a request sees one
/// consistent table.
#[derive(Clone, Debug, Default)]
pub struct PermissionTable {
    /// Permission id → roles, for the permissions an admin changed.
    changed: std::collections::HashMap<String, PermissionChange>,
    /// The roles admins created (`roles.create`), by name.
    custom_roles: Vec<Role>,
}

impl PermissionTable {
    /// The defaults with `changes` applied. Changes of permissions this
    /// build does not know are dropped (a newer version may have written
    /// them; they cannot grant anything here).
    pub fn new(changes: impl IntoIterator<Item = PermissionChange>) -> PermissionTable {
        let changed = changes
            .into_iter()
            .filter(|c| default_roles(&c.id).is_some())
            .map(|c| (c.id.clone(), c))
            .collect();
        PermissionTable { changed, custom_roles: Vec::new() }
    }

    /// The table with these admin-created roles (built-in ids and names
    /// are dropped: a custom role can never shadow one).
    pub fn with_roles(mut self, roles: impl IntoIterator<Item = Role>) -> PermissionTable {
        self.custom_roles =
            roles.into_iter().filter(|r| role(&r.id).is_none() && role(&r.name).is_none()).collect();
        self.custom_roles.sort_by(|a, b| a.name.cmp(&b.name));
        self
    }

    /// The role with this id, else with this name (Rocket.Chat's
    /// `findOneByIdOrName`).
    pub fn role(&self, id_or_name: &str) -> Option<Role> {
        if let Some(def) = role(id_or_name) {
            return Some(Role::builtin(def));
        }
        let custom = self.custom_roles.iter();
        custom
            .clone()
            .find(|r| r.id == id_or_name)
            .or_else(|| custom.clone().find(|r| r.name == id_or_name))
            .cloned()
    }

    /// Every role: the built-in ones, then the admins' by name.
    pub fn roles(&self) -> Vec<Role> {
        ROLES.iter().map(Role::builtin).chain(self.custom_roles.iter().cloned()).collect()
    }

    /// Whether any of `roles` holds `permission`. An unknown permission is
    /// held by nobody.
    pub fn holds<'a>(&self, permission: &str, mut roles: impl Iterator<Item = &'a str>) -> bool {
        match self.changed.get(permission) {
            Some(change) => roles.any(|r| change.roles.iter().any(|h| h == r)),
            None => {
                let holders = default_roles(permission).unwrap_or_default();
                roles.any(|r| holders.contains(&r))
            }
        }
    }

    /// Every permission with its roles and when it last changed, by id.
    pub fn entries(&self) -> impl Iterator<Item = (&'static str, Vec<&str>, Timestamp)> + '_ {
        PERMISSIONS.iter().map(move |(id, roles)| match self.changed.get(*id) {
            Some(change) => (*id, change.roles.iter().map(String::as_str).collect(), change.updated_at),
            None => (*id, roles.to_vec(), TABLE_UPDATED_AT),
        })
    }

    /// The latest change of the table's permissions (the defaults' date
    /// if none).
    pub fn updated_at(&self) -> Timestamp {
        self.changed.values().map(|c| c.updated_at).fold(TABLE_UPDATED_AT, Timestamp::max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `default_roles` searches by bisection: the table must stay sorted
    /// and free of duplicates.
    #[test]
    fn the_table_is_sorted_and_unique() {
        for pair in PERMISSIONS.windows(2) {
            assert!(pair[0].0 < pair[1].0, "{} before {}", pair[0].0, pair[1].0);
        }
    }

    /// Every role a permission names is a known role.
    #[test]
    fn permissions_name_known_roles() {
        for (id, roles) in PERMISSIONS {
            for r in *roles {
                assert!(role(r).is_some(), "{id} names unknown role {r}");
            }
        }
    }

    #[test]
    fn a_change_replaces_the_default_holders() {
        let table = PermissionTable::default();
        assert!(table.holds("post-readonly", ["moderator"].into_iter()));
        assert!(!table.holds("post-readonly", ["user"].into_iter()));
        let at = Timestamp(TABLE_UPDATED_AT.0 + 5);
        let change = |id: &str, roles: &[&str]| PermissionChange {
            id: id.to_owned(),
            roles: roles.iter().map(|r| (*r).to_owned()).collect(),
            updated_at: at,
        };
        let table = PermissionTable::new([
            change("post-readonly", &["user"]),
            change("no-such-permission", &["user"]),
        ]);
        assert!(table.holds("post-readonly", ["user"].into_iter()));
        assert!(!table.holds("post-readonly", ["admin", "moderator"].into_iter()));
        assert!(!table.holds("no-such-permission", ["user"].into_iter()));
        assert_eq!(table.updated_at(), at);
        let entry = table.entries().find(|(id, _, _)| *id == "post-readonly").expect("listed");
        assert_eq!((entry.1, entry.2), (vec!["user"], at));
        assert_eq!(table.entries().count(), PERMISSIONS.len());
    }

    #[test]
    fn look_ups() {
        assert_eq!(default_roles("post-readonly"), Some(&["admin", "owner", "moderator"][..]));
        assert_eq!(default_roles("add-user-to-any-p-room"), Some(&[][..]));
        assert_eq!(default_roles("no-such-permission"), None);
        assert_eq!(role("owner").map(|r| r.scope), Some(RoleScope::Subscriptions));
    }
}
