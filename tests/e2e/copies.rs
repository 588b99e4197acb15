//! Object copies: odd keys through real notification bodies, multipart copies, and the store
//! contract on a real S3 server. (The sample events run through the function binaries in
//! `functions.rs`.)

use lakedr::ObjectUrl;
use lakedr_tests::rig::{DR, PREFIX, Rig, SRC, config_text};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn odd_keys_round_trip_through_real_notifications() {
    let mut rig = Rig::new(13, None).await;
    let keys = [
        "plain/a.txt",
        "with space/b c.txt",
        "plus+sign/x+y.bin",
        "per%cent/100%25.txt",
        "amp&ersand/a&b=c.txt",
        "colon:s/12:00:00.log",
        "ünïcödé/日本語 файл.txt",
        "mixed/ a+b%2B c&d:e é .json",
    ];
    for (i, k) in keys.iter().enumerate() {
        rig.put_source(
            &format!("{PREFIX}{k}"),
            format!("body {i} of {k}").into_bytes(),
        )
        .await;
    }
    rig.settle(&[]).await;
    let s3 = rig.moto.s3();
    for (i, k) in keys.iter().enumerate() {
        let got = s3
            .get_object()
            .bucket(DR)
            .key(format!("{PREFIX}{k}"))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{k}: {e:?}"));
        assert_eq!(
            got.body.collect().await.unwrap().into_bytes(),
            format!("body {i} of {k}").as_bytes(),
            "{k}"
        );
    }
    let listed = s3.list_objects_v2().bucket(DR).send().await.unwrap();
    assert_eq!(
        listed.contents().len(),
        keys.len(),
        "no extra keys (double decoding would create some)"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multipart_copy_above_threshold_is_identical() {
    const MIB: usize = 1024 * 1024;
    let copy = "[copy]\nmultipart_threshold_bytes = 6291456\nmultipart_part_size_bytes = 5242880\nmax_concurrency = 4\n";
    let mut rig = Rig::with_config(17, None, &config_text(""), copy).await;
    let body: Vec<u8> = (0..13 * MIB + 12345)
        .map(|i| (i * 31 % 251) as u8)
        .collect();
    let key = format!("{PREFIX}big/blob.bin");
    let s3 = rig.moto.s3();
    s3.put_object()
        .bucket(SRC)
        .key(&key)
        .body(body.clone().into())
        .content_type("application/x-test")
        .metadata("owner", "data-platform")
        .tagging("tier=gold&team=sre")
        .send()
        .await
        .unwrap();
    let small_key = format!("{PREFIX}big/small.bin");
    s3.put_object()
        .bucket(SRC)
        .key(&small_key)
        .body(vec![7u8; 1000].into())
        .content_type("text/x-small")
        .metadata("k", "v")
        .send()
        .await
        .unwrap();
    rig.settle(&[]).await;

    let got = s3.get_object().bucket(DR).key(&key).send().await.unwrap();
    assert_eq!(got.content_type(), Some("application/x-test"));
    assert_eq!(
        got.metadata().unwrap().get("owner").map(String::as_str),
        Some("data-platform")
    );
    let etag = got.e_tag().unwrap().to_string();
    assert!(
        etag.contains("-3"),
        "expected a 3-part multipart entity tag, got {etag}"
    );
    let bytes = got.body.collect().await.unwrap().into_bytes();
    assert_eq!(bytes.len(), body.len());
    assert_eq!(
        lakedr::store::md5_hex(&bytes),
        lakedr::store::md5_hex(&body),
        "checksums differ"
    );
    let tags = s3
        .get_object_tagging()
        .bucket(DR)
        .key(&key)
        .send()
        .await
        .unwrap();
    let mut tags: Vec<(String, String)> = tags
        .tag_set()
        .iter()
        .map(|t| (t.key().to_string(), t.value().to_string()))
        .collect();
    tags.sort();
    assert_eq!(
        tags,
        vec![
            ("team".into(), "sre".into()),
            ("tier".into(), "gold".into())
        ]
    );

    let small = s3
        .get_object()
        .bucket(DR)
        .key(&small_key)
        .send()
        .await
        .unwrap();
    assert_eq!(small.content_type(), Some("text/x-small"));
    assert_eq!(
        small.metadata().unwrap().get("k").map(String::as_str),
        Some("v")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_store_keeps_the_store_contract() {
    let rig = Rig::new(19, None).await;
    let store = rig.clean.get_store(&ObjectUrl::s3(DR, "")).unwrap();
    lakedr::testing::store_contract(store, &ObjectUrl::s3(DR, "contract/")).await;
}

/// A DR bucket that does not exist (misspelled, or not deployed) is a fault named with both
/// ends, never "the object is gone", which the replicator would acknowledge as a skip.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_bucket_is_an_error_not_a_missing_object() {
    use lakedr::ObjectStore as _;
    use lakedr::store::CopySource;
    let mut rig = Rig::new(23, None).await;
    let key = format!("{PREFIX}to-nowhere.txt");
    rig.put_source(&key, b"body".to_vec()).await;
    // The region is configured, as a rule's override gives it: no HeadBucket finds it missing.
    let store = lakedr_aws::S3Store::new(&rig.moto.sdk(), true, rig.ctx.config.copy.clone())
        .with_bucket_regions([("lakedr-no-such-dr".to_string(), "us-east-1".to_string())]);
    let src = CopySource::latest(ObjectUrl::s3(SRC, &key));
    let dst = ObjectUrl::s3("lakedr-no-such-dr", &key);
    match store.copy(&src, &dst).await {
        Err(e @ lakedr::Error::Storage { .. }) => {
            let text = e.to_string();
            assert!(
                text.contains("NoSuchBucket")
                    && text.contains(&format!("s3://{SRC}/{key}"))
                    && text.contains(&dst.to_string()),
                "{text}"
            );
            assert_eq!(e.disposition(), lakedr::error::Disposition::DeadLetter);
        }
        other => panic!("a copy into a missing bucket gave {other:?}"),
    }
    // A read of a missing bucket is not "no such object" either (the DR state readers treat
    // that as "nothing yet").
    match store.get(&dst, None).await {
        Err(lakedr::Error::Storage { message, .. }) => {
            assert!(message.contains("NoSuchBucket"), "{message}")
        }
        other => panic!(
            "a read of a missing bucket gave {:?}",
            other.map(|g| g.meta)
        ),
    }
}

/// On a versioned source, an event for an older version of a key that has been overwritten
/// since (events come in any order) never puts that older version in DR over the newer one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_for_an_overwritten_version_is_skipped_not_copied() {
    use lakedr::event::{ChangeKind, ObjectEvent};
    let rig = Rig::new(29, None).await;
    let s3 = rig.moto.s3();
    s3.put_bucket_versioning()
        .bucket(SRC)
        .versioning_configuration(
            aws_sdk_s3::types::VersioningConfiguration::builder()
                .status(aws_sdk_s3::types::BucketVersioningStatus::Enabled)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let key = format!("{PREFIX}mutable/settings.json");
    let mut versions = Vec::new();
    for body in ["v1", "v2, longer"] {
        let out = s3
            .put_object()
            .bucket(SRC)
            .key(&key)
            .body(body.as_bytes().to_vec().into())
            .send()
            .await
            .unwrap();
        versions.push((
            out.version_id().unwrap().to_string(),
            out.e_tag().unwrap().trim_matches('"').to_string(),
            body.len() as u64,
        ));
    }
    let event = |(version, etag, size): &(String, String, u64)| ObjectEvent {
        url: ObjectUrl::s3(SRC, &key),
        kind: ChangeKind::Created,
        size: Some(*size),
        etag: Some(etag.clone()),
        version_id: Some(version.clone()),
        sequencer: None,
    };
    let replicator = lakedr::Replicator {
        ctx: rig.ctx.clone(),
    };
    let dr_body = || async {
        s3.get_object()
            .bucket(DR)
            .key(&key)
            .send()
            .await
            .ok()
            .map(|g| g.body)
    };
    // The newer event first, then the older one.
    replicator
        .on_event(&event(&versions[1]), None)
        .await
        .unwrap();
    let out = replicator
        .on_event(&event(&versions[0]), None)
        .await
        .unwrap();
    assert!(
        matches!(out, lakedr::handler::Outcome::Skipped { .. }),
        "{out:?}"
    );
    let body = dr_body()
        .await
        .unwrap()
        .collect()
        .await
        .unwrap()
        .into_bytes();
    assert_eq!(&body[..], b"v2, longer");
}
