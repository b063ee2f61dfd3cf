//! Conformance of a user's rename (`UserPatch::username`): every document
//! holding the old name is rewritten and stamped, in one transaction, on
//! every backend.

use super::{direct, message, next_event, plain, subscription, user_ref, World, ROOM};
use crate::{ChangeScope, EventKind, MessageEdit, StorageError, Store, StoreEvent, UserPatch};
use serde_json::json;
use threadsync_domain::markup::Markup;
use threadsync_domain::message::Mention;
use threadsync_domain::query::Filter;
use threadsync_domain::{Message, Subscription, Timestamp};

fn rename_to(username: &str) -> UserPatch {
    UserPatch { username: Some(username.to_owned()), ..UserPatch::default() }
}

async fn load(store: &dyn Store, id: &str) -> Message {
    store.message_by_id(id).await.expect("read").expect("message")
}

async fn subscription_of(store: &dyn Store, rid: &str, user_id: &str) -> Subscription {
    store.subscription(rid, user_id).await.expect("read").expect("subscription")
}

pub async fn users_rename_rewrites_every_document(store: &dyn Store) {
    let w = World::new(store).await;
    // bob's own message, edited by him, with a reaction of his.
    w.post(store, "m1", &w.bob).await;
    let edit = MessageEdit {
        msg: "edited".into(),
        md: None,
        mentions: Vec::new(),
        channels: Vec::new(),
        edited_by: user_ref(&w.bob),
    };
    store.edit_message("m1", edit).await.expect("edit");
    store.set_reaction("m1", ":+1:", "bob", None).await.expect("react");
    store.set_reaction("m1", ":+1:", "alice", None).await.expect("react");
    // alice mentions bob (and a longer name, which stays).
    let mut mention = message("m2", ROOM, &w.alice, "hi @bob, not @bobby");
    mention.mentions = vec![Mention { id: w.bob.id.clone(), username: "bob".into(), name: None, kind: None }];
    mention.md = Some(Markup::from_value(&json!([{"type": "PARAGRAPH", "value": [
        {"type": "PLAIN_TEXT", "value": "hi "},
        {"type": "MENTION_USER", "value": {"type": "PLAIN_TEXT", "value": "bob"}},
        {"type": "PLAIN_TEXT", "value": ", not "},
        {"type": "MENTION_USER", "value": {"type": "PLAIN_TEXT", "value": "bobby"}}
    ]}])));
    store.insert_message(plain(mention)).await.expect("mention");
    // carol's message says "bob" but is not about the user.
    store.insert_message(plain(message("m3", ROOM, &w.carol, "bob"))).await.expect("m3");
    // A direct room of alice and bob: each subscription is named after the other.
    let dm = direct("D1", &[&w.alice, &w.bob]);
    let named = |user: &threadsync_domain::User, other: &str| Subscription {
        name: other.to_owned(),
        fname: other.to_owned(),
        ..subscription(&dm, user)
    };
    store.create_room(&dm, &[named(&w.alice, "bob"), named(&w.bob, "alice")]).await.expect("dm");
    store.insert_message(plain(message("d1", "D1", &w.bob, "in private"))).await.expect("d1");

    let before_m3 = load(store, "m3").await;
    let before: Timestamp = load(store, "m2").await.updated_at;
    let dm_before = store.room_by_id("D1").await.expect("read").expect("dm").updated_at;
    let mut rx = store.subscribe();

    let bob = store.update_user(&w.bob.id, &rename_to("robert")).await.expect("rename").expect("bob");
    assert_eq!(bob.username, "robert");
    assert_eq!(
        next_event(&mut rx).await,
        StoreEvent { rid: None, kind: EventKind::Resync, user: None, data: None },
        "a rename touches many rooms: every listener re-reads"
    );
    assert_eq!(
        store.user_by_username("ROBERT").await.expect("by name").map(|u| u.id),
        Some(w.bob.id.clone())
    );
    assert_eq!(store.user_by_username("bob").await, Ok(None), "the old name is free");

    let m1 = load(store, "m1").await;
    assert_eq!(m1.u.username, "robert");
    assert_eq!(m1.edited_by.as_ref().map(|e| e.username.as_str()), Some("robert"));
    assert_eq!(m1.extra["reactions"], json!({":+1:": {"usernames": ["robert", "alice"]}}));
    let m2 = load(store, "m2").await;
    assert_eq!(m2.u.username, "alice", "the author is someone else");
    assert_eq!(m2.mentions[0].username, "robert");
    assert_eq!(m2.msg, "hi @robert, not @bobby");
    let md = m2.md.as_ref().expect("md").to_value();
    assert_eq!(md[0]["value"][1]["value"]["value"], "robert");
    assert_eq!(md[0]["value"][3]["value"]["value"], "bobby");
    assert_eq!(load(store, "d1").await.u.username, "robert");
    for m in [&m1, &m2] {
        assert!(m.updated_at > before, "{}: stamped, so sync deltas carry the new name", m.id);
    }
    assert_eq!(load(store, "m3").await, before_m3, "a message only saying the name is untouched");
    // The sync feed of the room returns the rewritten messages after `before`.
    let changed: Vec<String> = store
        .changes_since(ChangeScope::Room(ROOM), before, &Filter::True, 0, 100)
        .await
        .expect("changes")
        .updated
        .into_iter()
        .map(|m| m.id)
        .collect();
    assert!(changed.contains(&"m1".to_owned()) && changed.contains(&"m2".to_owned()), "{changed:?}");

    let dm = store.room_by_id("D1").await.expect("read").expect("dm");
    assert!(dm.usernames.contains(&"robert".to_owned()) && !dm.usernames.contains(&"bob".to_owned()));
    assert!(dm.updated_at > dm_before);
    let alices = subscription_of(store, "D1", &w.alice.id).await;
    assert_eq!((alices.name.as_str(), alices.fname.as_str()), ("robert", "robert"));
    assert_eq!(subscription_of(store, "D1", &w.bob.id).await.u.username, "robert");
    assert_eq!(subscription_of(store, ROOM, &w.bob.id).await.u.username, "robert");
    assert_eq!(subscription_of(store, ROOM, &w.alice.id).await.name, "room", "a channel keeps its name");
    // alice's room list delta carries the renamed direct room and her subscription to it.
    let rooms = store.rooms_since(&w.alice.id, Some(dm_before)).await.expect("rooms");
    assert!(rooms.updated.iter().any(|r| r.id == "D1"));
    let subs = store.subscriptions_since(&w.alice.id, Some(dm_before)).await.expect("subscriptions");
    assert!(subs.updated.iter().any(|s| s.rid == "D1" && s.name == "robert"));

    // A name held by another user, in any case, is refused and nothing is
    // written: not the name, not a document.
    let m2_before = load(store, "m2").await;
    assert_eq!(
        store.update_user(&w.carol.id, &rename_to("ALICE")).await,
        Err(StorageError::Conflict("username"))
    );
    assert_eq!(store.user_by_id(&w.carol.id).await.expect("carol").map(|u| u.username), Some("carol".into()));
    assert_eq!(load(store, "m3").await, before_m3);
    assert_eq!(load(store, "m2").await, m2_before);
    // Renaming back frees the new name and takes the old one again.
    store.update_user(&w.bob.id, &rename_to("bob")).await.expect("back").expect("bob");
    assert_eq!(load(store, "m2").await.msg, "hi @bob, not @bobby");
}
