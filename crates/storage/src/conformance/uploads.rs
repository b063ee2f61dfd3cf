//! Conformance of [`UploadStore`](crate::UploadStore): records of uploaded files.

use crate::{Store, UploadListQuery, UploadSelection};
use threadsync_domain::{Timestamp, Upload};

fn upload(id: &str, rid: &str, name: &str, content_type: &str, at: i64) -> Upload {
    Upload {
        id: id.into(),
        rid: rid.into(),
        user_id: "u-alice".into(),
        name: name.into(),
        size: 42,
        content_type: content_type.into(),
        description: None,
        uploaded_at: Timestamp(at),
        updated_at: Timestamp(at),
        message_id: None,
        expires_at: Some(Timestamp(at + 1000)),
    }
}

fn query(rid: &str) -> UploadListQuery {
    UploadListQuery { rid: rid.into(), name: None, type_group: None, offset: 0, count: 50 }
}

fn ids(uploads: &[Upload]) -> Vec<&str> {
    uploads.iter().map(|u| u.id.as_str()).collect()
}

pub async fn uploads_attach_list_and_filter(store: &dyn Store) {
    for u in [
        upload("F1", "R1", "Cat Photo.PNG", "image/png", 100),
        upload("F2", "R1", "report.pdf", "application/pdf", 200),
        upload("F3", "R1", "dog.jpg", "image/jpeg", 300),
        upload("F4", "R2", "cat.png", "image/png", 400),
    ] {
        store.insert_upload(&u).await.expect("insert");
    }
    let stored = store.upload_by_id("F1").await.expect("read").expect("kept");
    assert_eq!(stored, upload("F1", "R1", "Cat Photo.PNG", "image/png", 100), "round trip");
    assert_eq!(store.upload_by_id("nope").await.expect("read"), None);

    // Unconfirmed uploads are not listed.
    assert_eq!(store.room_uploads(&query("R1")).await.expect("list").total, 0);
    for (id, msg) in [("F1", "M1"), ("F2", "M2"), ("F3", "M3"), ("F4", "M4")] {
        assert!(store.attach_upload(id, msg, Some("said"), Timestamp(500)).await.expect("attach"));
    }
    assert!(!store.attach_upload("F1", "M9", None, Timestamp(600)).await.expect("again"), "shared once");
    assert!(!store.attach_upload("nope", "M9", None, Timestamp(600)).await.expect("unknown"));
    let attached = store.upload_by_id("F1").await.expect("read").expect("kept");
    assert_eq!(
        (
            attached.message_id.as_deref(),
            attached.description.as_deref(),
            attached.expires_at,
            attached.updated_at
        ),
        (Some("M1"), Some("said"), None, Timestamp(500))
    );

    let all = store.room_uploads(&query("R1")).await.expect("list");
    assert_eq!((ids(&all.items), all.total), (vec!["F3", "F2", "F1"], 3), "newest first, one room");
    let page =
        store.room_uploads(&UploadListQuery { offset: 1, count: 1, ..query("R1") }).await.expect("page");
    assert_eq!((ids(&page.items), page.total), (vec!["F2"], 3));
    let named = store.room_uploads(&UploadListQuery { name: Some("cAt p".into()), ..query("R1") }).await;
    assert_eq!(ids(&named.expect("by name").items), vec!["F1"], "name contains, any case");
    let pattern = store.room_uploads(&UploadListQuery { name: Some("%".into()), ..query("R1") }).await;
    assert_eq!(pattern.expect("literal").total, 0, "the name is text, not a pattern");
    let images =
        store.room_uploads(&UploadListQuery { type_group: Some("image".into()), ..query("R1") }).await;
    assert_eq!(ids(&images.expect("by group").items), vec!["F3", "F1"]);
}

pub async fn uploads_deleted_by_id_room_and_expiry(store: &dyn Store) {
    for u in [
        upload("F1", "R1", "a.png", "image/png", 100),
        upload("F2", "R1", "b.png", "image/png", 200),
        upload("F3", "R2", "c.png", "image/png", 300),
        upload("F4", "R3", "d.png", "image/png", 400),
        upload("F5", "R3", "e.png", "image/png", 500),
    ] {
        store.insert_upload(&u).await.expect("insert");
    }
    assert!(store.attach_upload("F5", "M5", None, Timestamp(600)).await.expect("attach"));

    let gone = store.delete_uploads(UploadSelection::Ids(&["F1".into(), "nope".into()])).await.expect("ids");
    assert_eq!(ids(&gone), vec!["F1"]);
    assert_eq!(store.upload_by_id("F1").await.expect("read"), None);

    let gone = store.delete_uploads(UploadSelection::Room("R2")).await.expect("room");
    assert_eq!(ids(&gone), vec!["F3"]);

    // F2 expires at 1200, F4 at 1400; F5 is shared, so it never expires.
    let none = store.delete_uploads(UploadSelection::Expired { now: Timestamp(1200), limit: 10 }).await;
    assert!(none.expect("nothing yet").is_empty(), "expiry is strictly before now");
    let first = store.delete_uploads(UploadSelection::Expired { now: Timestamp(9999), limit: 1 }).await;
    assert_eq!(ids(&first.expect("limited")), vec!["F2"], "oldest expiry first, at most limit");
    let rest = store.delete_uploads(UploadSelection::Expired { now: Timestamp(9999), limit: 10 }).await;
    assert_eq!(ids(&rest.expect("rest")), vec!["F4"]);
    assert!(store.upload_by_id("F5").await.expect("read").is_some(), "a shared upload stays");
}

pub async fn avatars_set_replace_and_remove(store: &dyn Store) {
    let avatar = |key: &str, at: i64| crate::Avatar {
        user_id: "u-alice".into(),
        key: key.into(),
        content_type: "image/png".into(),
        updated_at: Timestamp(at),
    };
    assert_eq!(store.avatar_of("u-alice").await.expect("read"), None);
    assert_eq!(store.set_avatar(&avatar("K1", 1)).await.expect("set"), None, "nothing replaced");
    assert_eq!(store.avatar_of("u-alice").await.expect("read"), Some(avatar("K1", 1)));
    assert_eq!(store.set_avatar(&avatar("K2", 2)).await.expect("replace"), Some(avatar("K1", 1)));
    assert_eq!(store.avatar_of("u-alice").await.expect("read"), Some(avatar("K2", 2)));
    assert_eq!(store.avatar_of("u-bob").await.expect("read"), None, "one user's picture");
    assert_eq!(store.remove_avatar("u-alice").await.expect("remove"), Some(avatar("K2", 2)));
    assert_eq!(store.remove_avatar("u-alice").await.expect("again"), None);
    assert_eq!(store.avatar_of("u-alice").await.expect("read"), None);
}
