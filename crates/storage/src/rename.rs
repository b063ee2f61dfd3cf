//! Renaming a user (`users.update` with a new `username`): which stored
//! documents hold the old name and how each is rewritten, written once for
//! every backend (as [`crate::rules`] is for message writes).
//!
//! Rocket.Chat copies a user's username into many documents (a message's
//! author, editor, mentions and reactions; a direct room's member list; a
//! subscription's owner and a direct subscription's name), so a rename
//! rewrites them all. A backend selects candidate documents cheaply (any
//! document whose JSON text contains the old name as a string), applies
//! these functions, stamps and persists what they report changed, in the
//! same transaction as the users row, so no reader ever sees half a rename.
//!
//! Mentions are matched by user id, not by name: a message that says
//! `@old` about someone else (an old name later taken by another user)
//! keeps its text. In the text, `@old` becomes `@new` only as a whole
//! username (Rocket.Chat's case-insensitive replace also rewrote `@oldie`).

use serde_json::Value;
use threadsync_domain::markup::Markup;
use threadsync_domain::{Message, Room, RoomType, Subscription};

/// One username change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rename {
    pub user_id: String,
    pub old: String,
    pub new: String,
}

/// Characters a username is made of (Rocket.Chat's default
/// `UTF8_User_Names_Validation` is `[0-9a-zA-Z-_.]+`); a mention ends at the
/// first other character.
fn username_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '-' | '_' | '.')
}

impl Rename {
    /// The JSON string literal of the old name: every document holding the
    /// name as a value contains it (a cheap prefilter for the stores).
    pub fn needle(&self) -> String {
        Value::String(self.old.clone()).to_string()
    }

    /// `@old` replaced by `@new` in `text` wherever it is a whole mention
    /// (not preceded or followed by a username character).
    pub fn mention_text(&self, text: &str) -> Option<String> {
        let pattern = format!("@{}", self.old);
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        let mut changed = false;
        while let Some(at) = rest.find(&pattern) {
            out.push_str(&rest[..at]);
            let tail = &rest[at + pattern.len()..];
            let whole = !out.chars().next_back().is_some_and(username_char)
                && !tail.chars().next().is_some_and(username_char);
            if whole {
                out.push('@');
                out.push_str(&self.new);
                changed = true;
            } else {
                out.push_str(&pattern);
            }
            rest = tail;
        }
        out.push_str(rest);
        changed.then_some(out)
    }

    /// Rewrites a message: its author, editor, mentions of this user (and
    /// their `@old` in the text and the markup tree) and reactions. Returns
    /// whether anything changed (the backend then stamps it).
    pub fn message(&self, message: &mut Message) -> bool {
        let mut changed = false;
        if message.u.id == self.user_id && message.u.username != self.new {
            message.u.username.clone_from(&self.new);
            changed = true;
        }
        if let Some(editor) = message.edited_by.as_mut().filter(|e| e.id == self.user_id) {
            if editor.username != self.new {
                editor.username.clone_from(&self.new);
                changed = true;
            }
        }
        let mut mentioned = false;
        for mention in message.mentions.iter_mut().filter(|m| m.id == self.user_id) {
            mentioned = true;
            if mention.username != self.new {
                mention.username.clone_from(&self.new);
                changed = true;
            }
        }
        if mentioned {
            if let Some(text) = self.mention_text(&message.msg) {
                message.msg = text;
                changed = true;
            }
            if let Some(md) = message.md.as_ref().and_then(|md| self.markup(md)) {
                message.md = Some(md);
                changed = true;
            }
        }
        if let Some(Value::Object(reactions)) = message.extra.get_mut("reactions") {
            for reaction in reactions.values_mut() {
                let Some(Value::Array(names)) = reaction.get_mut("usernames") else { continue };
                for name in names.iter_mut().filter(|n| n.as_str() == Some(self.old.as_str())) {
                    *name = Value::String(self.new.clone());
                    changed = true;
                }
            }
        }
        changed
    }

    /// The markup tree with every `MENTION_USER` of the old name renamed;
    /// `None` when it has none.
    fn markup(&self, md: &Markup) -> Option<Markup> {
        let mut tree = md.to_value();
        let mut changed = false;
        let mut stack = vec![&mut tree];
        while let Some(node) = stack.pop() {
            match node {
                Value::Array(items) => stack.extend(items.iter_mut()),
                Value::Object(map) => {
                    let is_mention = map.get("type").and_then(Value::as_str) == Some("MENTION_USER");
                    if is_mention {
                        if let Some(Value::String(name)) =
                            map.get_mut("value").and_then(|v| v.get_mut("value"))
                        {
                            if *name == self.old {
                                name.clone_from(&self.new);
                                changed = true;
                            }
                        }
                    }
                    stack.extend(map.values_mut());
                }
                _ => {}
            }
        }
        changed.then(|| Markup::from_value(&tree))
    }

    /// Rewrites a room: its creator and, for a direct room, its members'
    /// usernames (kept in the order of `uids`).
    pub fn room(&self, room: &mut Room) -> bool {
        let mut changed = false;
        if let Some(creator) = room.creator.as_mut().filter(|c| c.id == self.user_id) {
            if creator.username != self.new {
                creator.username.clone_from(&self.new);
                changed = true;
            }
        }
        if room.t == RoomType::Direct {
            if let Some(at) = room.uids.iter().position(|id| *id == self.user_id) {
                if room.usernames.get(at).is_some_and(|name| *name != self.new) {
                    room.usernames[at].clone_from(&self.new);
                    changed = true;
                }
            }
        }
        changed
    }

    /// Rewrites a subscription: its owner, and the name of a direct room
    /// holding the user (`name` lists the other members' usernames, or the
    /// user's own in a direct room with oneself; the display name `fname`
    /// too where it showed the username). `room` is the subscription's room.
    pub fn subscription(&self, subscription: &mut Subscription, room: Option<&Room>) -> bool {
        let mut changed = false;
        if subscription.u.id == self.user_id && subscription.u.username != self.new {
            subscription.u.username.clone_from(&self.new);
            changed = true;
        }
        if room.is_some_and(|r| r.t == RoomType::Direct && r.uids.contains(&self.user_id)) {
            for text in [&mut subscription.name, &mut subscription.fname] {
                if let Some(renamed) = self.name_list(text) {
                    *text = renamed;
                    changed = true;
                }
            }
        }
        changed
    }

    /// A `, `-separated list of names with the old name replaced; `None`
    /// when the old name is not one of them.
    fn name_list(&self, text: &str) -> Option<String> {
        let parts: Vec<&str> = text.split(", ").collect();
        parts.contains(&self.old.as_str()).then(|| {
            let renamed: Vec<&str> =
                parts.iter().map(|p| if *p == self.old { self.new.as_str() } else { p }).collect();
            renamed.join(", ")
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rename() -> Rename {
        Rename { user_id: "u1".into(), old: "bob".into(), new: "robert".into() }
    }

    #[test]
    fn mentions_in_text_are_whole_usernames() {
        let r = rename();
        assert_eq!(r.mention_text("hi @bob!").as_deref(), Some("hi @robert!"));
        assert_eq!(r.mention_text("@bob and @bob").as_deref(), Some("@robert and @robert"));
        assert_eq!(r.mention_text("@bobby @bob.x x@bob mail@bob"), None);
        assert_eq!(r.mention_text("(@bob), @BOB").as_deref(), Some("(@robert), @BOB"));
        assert_eq!(r.mention_text("no mention"), None);
    }

    #[test]
    fn direct_room_names_list_usernames() {
        let r = rename();
        assert_eq!(r.name_list("ann, bob, carl").as_deref(), Some("ann, robert, carl"));
        assert_eq!(r.name_list("bob").as_deref(), Some("robert"));
        assert_eq!(r.name_list("bobby, ann"), None);
    }
}
