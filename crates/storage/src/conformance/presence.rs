//! Conformance of presence (`PresenceStore`): a user's status derived from
//! their connections and chosen status, leases, and the events announced.

use super::{next_event, World};
use crate::{PresenceChange, Store, StoreEvent, UserPatch};
use threadsync_domain::{Timestamp, User};

fn open(id: &str, instance: &str, status: &str, expires_at: Timestamp) -> PresenceChange {
    PresenceChange::Connection {
        id: id.to_owned(),
        instance: instance.to_owned(),
        status: status.to_owned(),
        expires_at,
    }
}

fn in_a_minute() -> Timestamp {
    Timestamp(Timestamp::now().millis() + 60_000)
}

async fn change(store: &dyn Store, user_id: &str, change: PresenceChange) -> User {
    store.update_presence(user_id, &change).await.expect("presence").expect("user")
}

fn statuses(user: &User) -> (&str, &str, &str) {
    (user.status.as_str(), user.status_connection.as_str(), user.status_default.as_str())
}

pub async fn presence_follows_connections_and_choice(store: &dyn Store) {
    let w = World::new(store).await;
    let bob = &w.bob.id;
    let mut rx = store.subscribe();
    // A login: online, announced.
    let u = change(store, bob, open("i1:1:1", "i1", "online", in_a_minute())).await;
    assert_eq!(statuses(&u), ("online", "online", "online"));
    assert_eq!(next_event(&mut rx).await, StoreEvent::presence(bob));
    // What the store reads back is what was derived.
    let stored = store.user_by_id(bob).await.expect("read").expect("bob");
    assert_eq!(statuses(&stored), ("online", "online", "online"));
    // A second connection, idle: still online, nothing announced.
    let u = change(store, bob, open("i2:7:1", "i2", "away", in_a_minute())).await;
    assert_eq!(statuses(&u), ("online", "online", "online"));
    // The first goes idle too: away.
    let u = change(store, bob, open("i1:1:1", "i1", "away", in_a_minute())).await;
    assert_eq!(statuses(&u), ("away", "away", "online"));
    assert_eq!(next_event(&mut rx).await, StoreEvent::presence(bob));
    // Busy chosen: busy whatever the connections say.
    let u = change(store, bob, PresenceChange::Chosen { status: "busy".into() }).await;
    assert_eq!(statuses(&u), ("busy", "away", "busy"));
    let u = change(store, bob, open("i1:1:1", "i1", "online", in_a_minute())).await;
    assert_eq!(statuses(&u), ("busy", "online", "busy"));
    // Invisible: offline while connected.
    let u = change(store, bob, PresenceChange::Chosen { status: "offline".into() }).await;
    assert_eq!(statuses(&u), ("offline", "online", "offline"));
    let u = change(store, bob, PresenceChange::Chosen { status: "online".into() }).await;
    assert_eq!(statuses(&u), ("online", "online", "online"));
    // Closing one connection leaves the other (away); closing both: offline.
    let u = change(store, bob, PresenceChange::Closed { id: "i1:1:1".into() }).await;
    assert_eq!(statuses(&u), ("away", "away", "online"));
    let u = change(store, bob, PresenceChange::Closed { id: "i2:7:1".into() }).await;
    assert_eq!(statuses(&u), ("offline", "offline", "online"));
    // Closing what is not open changes nothing.
    let u = change(store, bob, PresenceChange::Closed { id: "i2:7:1".into() }).await;
    assert_eq!(statuses(&u), ("offline", "offline", "online"));
    // Connections are per user: alice's does not make bob online.
    let a = change(store, &w.alice.id, open("i1:2:1", "i1", "online", in_a_minute())).await;
    assert_eq!(a.status, "online");
    let b = store.user_by_id(bob).await.expect("read").expect("bob");
    assert_eq!(b.status, "offline");
    // No such user.
    let none = store.update_presence("u-nobody", &PresenceChange::Closed { id: "x".into() }).await;
    assert_eq!(none.expect("no error"), None);
}

pub async fn presence_leases_expire(store: &dyn Store) {
    let w = World::new(store).await;
    let (bob, carol) = (&w.bob.id, &w.carol.id);
    // bob's connection on a dead instance, its lease already over; carol's
    // on a live one.
    let u = change(store, bob, open("dead:1:1", "dead", "online", Timestamp(Timestamp::now().millis() - 1)))
        .await;
    // An expired lease counts for nothing, even before it is swept.
    assert_eq!(u.status, "offline");
    change(store, bob, PresenceChange::Chosen { status: "away".into() }).await;
    let patch = UserPatch { status: Some("online".into()), ..UserPatch::default() };
    // users.setStatus shows the choice at once, connections or not.
    let u = store.update_user(bob, &patch).await.expect("update").expect("bob");
    assert_eq!((u.status.as_str(), u.status_default.as_str()), ("online", "online"));
    change(store, carol, open("live:1:1", "live", "online", in_a_minute())).await;
    assert_eq!(store.expired_presence(100).await.expect("expired"), vec![bob.clone()]);
    let mut rx = store.subscribe();
    let u = change(store, bob, PresenceChange::Expired).await;
    assert_eq!(statuses(&u), ("offline", "offline", "online"));
    assert_eq!(next_event(&mut rx).await, StoreEvent::presence(bob));
    assert!(store.expired_presence(100).await.expect("expired").is_empty());
    let c = store.user_by_id(carol).await.expect("read").expect("carol");
    assert_eq!(c.status, "online");
    // A renewal moves every lease of its instance (here into the past, as
    // an instance releasing its connections at shutdown does, and back).
    store.renew_presence("live", Timestamp(1)).await.expect("renew");
    assert_eq!(store.expired_presence(100).await.expect("expired"), vec![carol.clone()]);
    store.renew_presence("live", in_a_minute()).await.expect("renew");
    assert!(store.expired_presence(100).await.expect("expired").is_empty());
    store.renew_presence("other", Timestamp(1)).await.expect("renew");
    assert!(store.expired_presence(100).await.expect("expired").is_empty());
    // A deleted user's connections go with them.
    assert!(store.delete_user(carol).await.expect("delete"));
    store.renew_presence("live", Timestamp(1)).await.expect("renew");
    assert!(store.expired_presence(100).await.expect("expired").is_empty());
}
