//! Contract tests every [`ObjectStore`] adapter must pass, shared by the local adapter's unit
//! tests and the S3 adapter's tests against a real server.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use bytes::Bytes;

use crate::error::Error;
use crate::store::{CopySource, ObjectStore, ObjectUrl, PutMode, PutOptions};

/// Runs the contract against `store` under `root` (an empty prefix).
pub async fn store_contract(store: &dyn ObjectStore, root: &ObjectUrl) {
    let a = root.join("dir/a b+c%&:é.txt");
    let b = root.join("dir/sub/b.txt");
    let put = |mode| PutOptions {
        mode,
        ..PutOptions::default()
    };

    // Absent objects.
    assert!(store.head(&a).await.unwrap().is_none());
    assert!(matches!(
        store.get(&a, None).await,
        Err(Error::NotFound { .. })
    ));
    store.delete(&a).await.unwrap();

    // Put-if-absent wins once.
    store
        .put(&a, Bytes::from_static(b"one"), &put(PutMode::IfAbsent))
        .await
        .unwrap();
    let second = store
        .put(&a, Bytes::from_static(b"two"), &put(PutMode::IfAbsent))
        .await;
    assert!(
        matches!(second, Err(Error::PreconditionFailed { .. })),
        "{second:?}"
    );
    let got = store.get(&a, None).await.unwrap();
    assert_eq!(&got.body[..], b"one");
    assert_eq!(store.head(&a).await.unwrap().unwrap().size, 3);

    // Compare and swap.
    let etag = got.meta.etag.clone().expect("get returns an entity tag");
    let stale = store
        .put(
            &a,
            Bytes::from_static(b"x"),
            &put(PutMode::IfMatch("0000".into())),
        )
        .await;
    assert!(
        matches!(stale, Err(Error::PreconditionFailed { .. })),
        "{stale:?}"
    );
    store
        .put(
            &a,
            Bytes::from_static(b"three"),
            &put(PutMode::IfMatch(etag)),
        )
        .await
        .unwrap();
    assert_eq!(&store.get(&a, None).await.unwrap().body[..], b"three");

    // Copy, listing order, prefix filtering.
    store
        .copy(
            &CopySource {
                url: a.clone(),
                version_id: None,
                etag: None,
                size: Some(5),
            },
            &b,
        )
        .await
        .unwrap();
    assert_eq!(&store.get(&b, None).await.unwrap().body[..], b"three");
    let missing = store
        .copy(&CopySource::latest(root.join("nope")), &root.join("nope2"))
        .await;
    assert!(
        matches!(missing, Err(Error::NotFound { .. })),
        "{missing:?}"
    );
    store
        .put(
            &root.join("dir/00000000000000000010.json"),
            Bytes::from_static(b"{}"),
            &put(PutMode::Overwrite),
        )
        .await
        .unwrap();
    store
        .put(
            &root.join("dir/00000000000000000009.json"),
            Bytes::from_static(b"{}"),
            &put(PutMode::Overwrite),
        )
        .await
        .unwrap();
    store
        .put(
            &root.join("dirx/other"),
            Bytes::from_static(b"{}"),
            &put(PutMode::Overwrite),
        )
        .await
        .unwrap();
    let keys: Vec<String> = store
        .list(&root.join("dir/"))
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.key[root.key.len()..].to_string())
        .collect();
    assert_eq!(
        keys,
        vec![
            "dir/00000000000000000009.json",
            "dir/00000000000000000010.json",
            "dir/a b+c%&:é.txt",
            "dir/sub/b.txt"
        ]
    );
    // One directory level, from a key on.
    let shallow = |after: Option<&'static str>| {
        let prefix = root.join("dir/");
        let after = after.map(|a| root.join(a).key);
        async move {
            store
                .list_dir(&prefix, after.as_deref())
                .await
                .unwrap()
                .into_iter()
                .map(|m| m.key[root.key.len()..].to_string())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        shallow(None).await,
        vec![
            "dir/00000000000000000009.json",
            "dir/00000000000000000010.json",
            "dir/a b+c%&:é.txt",
        ],
        "no keys of sub-directories"
    );
    assert_eq!(
        shallow(Some("dir/00000000000000000009")).await,
        vec![
            "dir/00000000000000000009.json",
            "dir/00000000000000000010.json",
            "dir/a b+c%&:é.txt"
        ]
    );
    assert_eq!(
        shallow(Some("dir/00000000000000000009.json")).await,
        vec!["dir/00000000000000000010.json", "dir/a b+c%&:é.txt"],
        "start_after is exclusive"
    );
    assert!(
        store
            .list_dir(&root.join("none/"), None)
            .await
            .unwrap()
            .is_empty()
    );
    // Ranged reads.
    assert_eq!(&store.get_range(&b, 1..4).await.unwrap()[..], b"hre");
    assert_eq!(&store.get_range(&b, 3..5).await.unwrap()[..], b"ee");
    assert!(matches!(
        store.get_range(&root.join("nope"), 0..1).await,
        Err(Error::NotFound { .. })
    ));

    assert!(store.exists_prefix(&root.join("dir/sub/")).await.unwrap());
    assert!(!store.exists_prefix(&root.join("dir/none/")).await.unwrap());

    store.delete(&b).await.unwrap();
    assert!(store.head(&b).await.unwrap().is_none());
}
