//! Invariant 6: bad input stops the unit at its last consistent version, says which table,
//! version and key, and ends in the dead-letter queue; other tables go on.

use std::collections::BTreeMap;
use std::path::Path;

use lakedr_tests::rig::{Rig, TableCase};

/// Copies a generated table to a scratch directory so a test can damage it.
fn damaged_copy(name: &str, damage: impl FnOnce(&Path)) -> (tempfile::TempDir, TableCase) {
    let dir = tempfile::tempdir().unwrap();
    let src = lakedr_tests::generated_tables().join(name);
    let dst = dir.path().join(name);
    copy_dir(&src, &dst);
    damage(&dst);
    let case = TableCase {
        local: dst,
        prefix: format!("damaged/{name}/"),
        oracle: true,
        rule: 0,
    };
    (dir, case)
}

fn copy_dir(src: &Path, dst: &Path) {
    std::fs::create_dir_all(dst).unwrap();
    for e in std::fs::read_dir(src).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &dst.join(e.file_name()));
        } else {
            std::fs::copy(e.path(), dst.join(e.file_name())).unwrap();
        }
    }
}

/// The fixture tables that must stop short with a clear error: LOG-ONLY (a vacuumed table, a
/// non-contiguous log whose files are missing) and a table with absolute paths.
pub(crate) const BAD_FIXTURES: [&str; 3] = [
    "rs-checkpoints_vacuumed",
    "golden-versions-not-contiguous",
    "golden-canonicalized-paths-special-a",
];

fn commit(v: u64) -> String {
    format!("_delta_log/{v:020}.json")
}

/// The newest commit of a local table.
fn latest_version(table: &Path) -> u64 {
    std::fs::read_dir(table.join("_delta_log"))
        .unwrap()
        .filter_map(|e| {
            match lakedr::delta::LogFile::parse(&e.unwrap().file_name().to_string_lossy()) {
                lakedr::delta::LogFile::Commit(v) => Some(v),
                _ => None,
            }
        })
        .max()
        .unwrap()
}

/// Dead letters of the ordered stage, as (error kind, error text).
async fn errors(rig: &Rig) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = rig
        .dead_letters(&rig.ordered_dlq_url)
        .await
        .into_iter()
        .map(|(_, a): (String, BTreeMap<String, String>)| {
            (a["lakedr-error-kind"].clone(), a["lakedr-error"].clone())
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_tables_stop_at_their_last_consistent_version_and_dead_letter() {
    // A data file the last commit adds never reaches the source: no checkpoint after it
    // could let DR go past it.
    let latest = latest_version(&lakedr_tests::generated_tables().join("odd_partitions"));
    let (_d1, missing) = damaged_copy("odd_partitions", |t| {
        let c =
            lakedr::delta::parse_ndjson(&std::fs::read(t.join(commit(latest))).unwrap()).unwrap();
        let f = c.files.iter().next().unwrap();
        std::fs::remove_file(t.join(&f.rel)).unwrap();
    });
    // Commit 2 is not JSON.
    let (_d2, unparseable) = damaged_copy("cdf", |t| {
        std::fs::write(t.join(commit(2)), b"{\"add\": {oops").unwrap()
    });
    // Commit 1 is missing: a gap.
    let (_d3, gap) = damaged_copy("cdf", |t| std::fs::remove_file(t.join(commit(1))).unwrap());
    let [vacuumed, not_contiguous, absolute] = BAD_FIXTURES.map(|n| TableCase::fixture(n, false));
    let good = TableCase::generated("cleaned");
    let gap = TableCase {
        prefix: "damaged/gap/".into(),
        ..gap
    };

    let cases = [
        missing.clone(),
        unparseable.clone(),
        gap.clone(),
        vacuumed.clone(),
        not_contiguous.clone(),
        absolute.clone(),
        good.clone(),
    ];
    let mut rig = Rig::new(5, None).await;
    for c in &cases {
        rig.write_table(c, &cases).await;
    }
    rig.settle(&cases).await;

    let expect = [
        (&missing, Some(latest - 1)),
        (&unparseable, Some(1)),
        (&gap, Some(0)),
        (&vacuumed, None),
        (&not_contiguous, None),
        (&absolute, None),
    ];
    for (case, latest) in expect {
        assert_eq!(
            rig.dr_commits(case).await.last().copied(),
            latest,
            "{}",
            case.prefix
        );
        rig.check_again(case).await; // what is visible is consistent
        // ... and verify says the table cannot advance, and why, rather than OK.
        let verdict = lakedr::verify::verify_table(&rig.clean, rig.rule(case), &case.prefix)
            .await
            .unwrap();
        assert!(
            !verdict.ok() && verdict.blocked.is_some(),
            "{}: {verdict:?}",
            case.prefix
        );
    }
    rig.check_all_versions(&good).await;
    assert_eq!(
        rig.dr_commits(&good).await.last().copied(),
        Some(7),
        "a good table next to bad ones goes on"
    );

    let errs = errors(&rig).await;
    let find = |kind: &str, needles: &[&str]| {
        assert!(
            errs.iter()
                .any(|(k, e)| k == kind && needles.iter().all(|n| e.contains(n))),
            "no {kind} dead letter mentioning {needles:?} in {errs:#?}"
        );
    };
    find(
        "NoReadableVersion",
        &[
            "damaged/odd_partitions",
            &format!("from {latest} on"),
            "part-",
        ],
    );
    find(
        "InvalidLogFile",
        &["damaged/cdf", "version 2", "00000000000000000002.json"],
    );
    find("LogGap", &["damaged/gap", "version 1 is missing"]);
    // Its data files are all absent: no checkpoint has its live files.
    find(
        "NoReadableVersion",
        &["rs-checkpoints_vacuumed", "from 12 on", ".parquet"],
    );
    find(
        "NoReadableVersion",
        &["golden-versions-not-contiguous", "from 0 on", "foo"],
    );
    find(
        "NotSelfContained",
        &[
            "golden-canonicalized-paths-special-a",
            "version 0",
            "/some/unqualified",
        ],
    );
    assert!(errs.iter().all(|(k, _)| k != "Transient"), "{errs:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn poison_events_are_dead_lettered_and_uncovered_buckets_refused() {
    let rig = Rig::new(9, None).await;
    let replicator = lakedr::Replicator {
        ctx: rig.ctx.clone(),
    };
    let event = serde_json::json!({"Records": [
        {"messageId": "poison", "receiptHandle": "r1", "body": "{\"not\": \"an event\"}", "attributes": {}, "messageAttributes": {}, "eventSource": "aws:sqs"},
        {"messageId": "elsewhere", "receiptHandle": "r2", "body": serde_json::json!({"Records": [{"eventName": "ObjectCreated:Put", "s3": {"bucket": {"name": "not-covered"}, "object": {"key": "x", "size": 1}}}]}).to_string(), "attributes": {}, "messageAttributes": {}, "eventSource": "aws:sqs"}
    ]});
    let resp = replicator.handle(event, None).await.unwrap();
    assert_eq!(
        resp["batchItemFailures"],
        serde_json::json!([]),
        "neither message may be retried"
    );
    let dead = rig.dead_letters(&rig.dlq_url).await;
    assert_eq!(dead.len(), 1, "{dead:?}");
    assert_eq!(dead[0].1["lakedr-message-id"], "poison");
    assert_eq!(dead[0].1["lakedr-error-kind"], "MalformedEvent");
    assert!(dead[0].1["lakedr-error"].contains("poison"));
    let dr = rig
        .moto
        .s3()
        .list_objects_v2()
        .bucket(lakedr_tests::rig::DR)
        .send()
        .await
        .unwrap();
    assert!(dr.contents().is_empty(), "nothing may be copied");
}
