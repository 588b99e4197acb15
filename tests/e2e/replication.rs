//! Invariants 1, 2 and 5 under shuffled, duplicated and crashing deliveries.

use lakedr_tests::rig::{Rig, TableCase};

/// Fixture tables replicated by the two halves of the shuffled-delivery test, with whether the
/// independent reader can read them (deltalake reads them all, deletion vectors and V2
/// checkpoints through its DataFusion engine, except the catalog-managed one, which needs the
/// catalog; that one is checked by the structural verifier alone). Every
/// readable fixture goes through exactly one shuffled run: these halves, the crash test (which
/// shuffles and duplicates the same way, with faults on top: the multi-part checkpoint, V2
/// checkpoints with sidecars, deletion vectors), the catalog-managed test and the bad-input
/// test (vacuumed, non-contiguous and absolute-path tables).
fn good_fixtures(half: usize) -> Vec<TableCase> {
    let halves: [&[(&str, bool)]; 2] = [
        &[
            ("rs-cdf-table", true),
            ("krs-compacted-log-files-table", true),
            ("rs-table_with_column_mapping", true),
            ("krs-app-txn-checkpoint", true),
        ],
        &[
            ("rs-simple_table", true),
            ("rs-simple_table_with_checkpoint", true),
            ("golden-v2-checkpoint-json", true),
            ("rs-delta-0.8.0-special-partition", true),
            ("rs-table_failed_last_checkpoint_update", true),
        ],
    ];
    halves[half]
        .iter()
        .map(|(name, oracle)| TableCase::fixture(name, *oracle))
        .collect()
}

/// The fixture tables of the crash test (see [`good_fixtures`]).
const CRASH_FIXTURES: [(&str, bool); 3] = [
    ("golden-multi-part-checkpoint", true),
    ("krs-v2-checkpoints-parquet-with-sidecars", true),
    ("rs-table_with_deletion_logs", true),
];

/// The catalog-managed fixture (its own test below).
const CATALOG_MANAGED: &str = "kernel-java-catalog-owned-preview";

#[test]
fn every_fixture_table_goes_through_a_shuffled_run() {
    let mut covered: Vec<String> = (0..2)
        .flat_map(good_fixtures)
        .map(|c| c.prefix.trim_end_matches('/').to_string())
        .chain(CRASH_FIXTURES.iter().map(|(n, _)| n.to_string()))
        .chain(crate::bad_input::BAD_FIXTURES.iter().map(|n| n.to_string()))
        .chain([CATALOG_MANAGED.to_string()])
        .collect();
    covered.sort();
    let mut all: Vec<String> = std::fs::read_dir(lakedr_tests::fixtures().join("delta"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    all.sort();
    assert_eq!(
        covered, all,
        "each fixture table in exactly one shuffled run"
    );
}

fn source_latest(case: &TableCase) -> u64 {
    std::fs::read_dir(case.local.join("_delta_log"))
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

async fn replicate_all(seed: u64, faults: Option<f64>, cases: &[TableCase]) -> Rig {
    replicate_on(Rig::new(seed, faults).await, cases, &[]).await
}

/// Writes `cases` with shuffled, duplicated deliveries and checks DR after each, then checks
/// every table whole. `waits` names tables that cannot be read whole until their checkpoint
/// arrives (vacuumed): their runs before it may dead-letter, saying so.
async fn replicate_on(mut rig: Rig, cases: &[TableCase], waits: &[&TableCase]) -> Rig {
    for case in cases {
        rig.write_table(case, cases).await;
    }
    rig.settle(cases).await;
    // Every upload's event reaches the replicator at least once, and DR is checked after each.
    assert!(
        rig.checks_after_delivery >= rig.uploads,
        "DR checked after {} deliveries, {} uploads",
        rig.checks_after_delivery,
        rig.uploads
    );
    for case in cases {
        rig.check_again(case).await;
        rig.check_all_versions(case).await;
        let dr = rig.dr_commits(case).await;
        assert_eq!(
            dr.last().copied(),
            Some(source_latest(case)),
            "{}: DR does not have every version",
            case.prefix
        );
        // DR keeps every version the source can still read: it starts where the reader finds
        // the oldest readable start.
        if case.oracle {
            assert_eq!(
                dr.first().copied(),
                rig.expected_start(case),
                "{}: DR starts elsewhere than the oldest version the source reads whole",
                case.prefix
            );
        }
        rig.assert_nothing_lost(case).await;
    }
    for url in [rig.ordered_dlq_url.clone(), rig.dlq_url.clone()] {
        let dead = rig.dead_letters(&url).await;
        let unexpected: Vec<_> = dead
            .iter()
            .filter(|(body, attrs)| {
                !(attrs.get("lakedr-error-kind").map(String::as_str) == Some("NoReadableVersion")
                    && waits
                        .iter()
                        .any(|w| body.contains(w.prefix.trim_end_matches('/'))))
            })
            .collect();
        assert!(
            unexpected.is_empty(),
            "good tables must not dead-letter: {unexpected:?}"
        );
    }
    rig
}

async fn fixture_tables_survive(half: usize) {
    let cases = good_fixtures(half);
    let rig = replicate_all(7 + half as u64, None, &cases).await;
    // Every upload's event was delivered, and some more than once.
    assert!(
        rig.deliveries > rig.uploads,
        "{} deliveries of {} uploads",
        rig.deliveries,
        rig.uploads
    );
    // The reader runs after a delivery whenever the DR log of the table changed since it last
    // read it: at least once per table, and more as versions become visible one by one.
    let readable = cases.iter().filter(|c| c.oracle).count() as u64;
    assert!(
        rig.oracle_checks > readable,
        "only {} reader checks for {readable} tables",
        rig.oracle_checks
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fixture_tables_survive_shuffled_duplicated_events_1() {
    fixture_tables_survive(0).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fixture_tables_survive_shuffled_duplicated_events_2() {
    fixture_tables_survive(1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deltalake_written_tables_survive_shuffled_duplicated_events() {
    let vacuumed = TableCase::generated("vacuumed");
    let cases = vec![
        TableCase::generated("odd_partitions"),
        TableCase::generated("cdf"),
        TableCase::generated("cleaned"),
        vacuumed.clone(),
    ];
    let rig = replicate_on(Rig::new(1, None).await, &cases, &[&vacuumed]).await;
    // The vacuumed table starts at its checkpoint, not at version 0.
    assert!(rig.dr_commits(&vacuumed).await.first().copied() > Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crashes_at_random_points_then_resume() {
    // A bootstrapped log, a multi-part checkpoint, V2 checkpoints with sidecars, deletion vectors.
    let mut cases = vec![TableCase::generated("cleaned")];
    cases.extend(
        CRASH_FIXTURES
            .iter()
            .map(|(name, oracle)| TableCase::fixture(name, *oracle)),
    );
    let rig = replicate_all(11, Some(0.08), &cases).await;
    let injected = rig
        .faults
        .as_ref()
        .unwrap()
        .injected
        .load(std::sync::atomic::Ordering::Relaxed);
    assert!(injected > 30, "only {injected} faults were injected");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn catalog_managed_table_publishes_only_ratified_files_and_warns() {
    let case = TableCase::fixture(CATALOG_MANAGED, false);
    let mut rig = Rig::new(3, None).await;
    rig.write_table(&case, std::slice::from_ref(&case)).await;
    rig.settle(std::slice::from_ref(&case)).await;
    assert_eq!(
        rig.dr_commits(&case).await.into_iter().collect::<Vec<_>>(),
        vec![0]
    );
    let listing = rig
        .clean
        .list(&lakedr::ObjectUrl::s3(
            lakedr_tests::rig::DR,
            format!("lake/{}_delta_log/", case.prefix),
        ))
        .await
        .unwrap();
    assert!(
        listing.iter().all(|m| !m.key.contains("_staged_commits")),
        "staged commits must not be copied"
    );
    let verdict = lakedr::verify::verify_table(&rig.clean, &rig.ctx.config.rules[0], &case.prefix)
        .await
        .unwrap();
    assert!(
        verdict.ok()
            && verdict
                .warnings
                .iter()
                .any(|w| w.contains("catalog-managed")),
        "{verdict:?}"
    );
}

/// A real V2 checkpoint with sidecars (Spark-written) under the classic name, which the
/// protocol allows for V2 content: the fixture's UUID-named checkpoints renamed, in a scratch
/// copy, with a `_last_checkpoint` naming the newest by version only.
fn classic_named_v2_checkpoints() -> (tempfile::TempDir, TableCase) {
    let from = lakedr_tests::fixtures().join("delta/krs-v2-checkpoints-parquet-with-sidecars");
    let dir = tempfile::tempdir().unwrap();
    let to = dir.path().join("v2-classic");
    for rel in lakedr_tests::write_order::write_order(&from) {
        let target = match rel
            .strip_prefix("_delta_log/")
            .map(lakedr::delta::LogFile::parse)
        {
            Some(lakedr::delta::LogFile::Checkpoint { version, .. }) => {
                format!("_delta_log/{version:020}.checkpoint.parquet")
            }
            Some(lakedr::delta::LogFile::LastCheckpoint) => continue,
            _ => rel.clone(),
        };
        let path = to.join(&target);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::copy(from.join(&rel), path).unwrap();
    }
    std::fs::write(
        to.join("_delta_log/_last_checkpoint"),
        br#"{"version":6,"size":3}"#,
    )
    .unwrap();
    let case = TableCase {
        local: to,
        prefix: "derived/v2-classic/".into(),
        oracle: true,
        rule: 0,
    };
    (dir, case)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tables_in_two_source_buckets_replicate_into_dr_in_another_region() {
    // Two source buckets in us-east-1 (the functions' region), DR in us-west-2; no region in
    // the configuration. Every S3 request of the product goes through a front that answers a
    // request signed for the wrong region with 301 PermanentRedirect, as S3 does.
    let (_v2_dir, v2) = classic_named_v2_checkpoints();
    let vacuumed = TableCase::generated("vacuumed").in_rule(1);
    let cases = vec![
        TableCase::generated("odd_partitions"),
        v2.clone(),
        TableCase::generated("cleaned").in_rule(1),
        vacuumed.clone(),
    ];
    let rig = replicate_on(Rig::two_regions(29, None).await, &cases, &[&vacuumed]).await;
    let stats = rig.front.as_ref().unwrap().stats();
    let (forwarded, redirected) = (
        stats["forwarded"].as_u64().unwrap(),
        stats["redirected"].as_u64().unwrap(),
    );
    // The DR bucket's region was found once (one redirected HeadBucket) and kept; every
    // other request went to the right region.
    assert!(forwarded > 1000, "{stats}");
    assert_eq!(
        redirected, 1,
        "a redirect per bucket, not per request: {stats}"
    );
    assert_eq!(stats["redirects"][lakedr_tests::rig::DR], 1, "{stats}");
    // The classic-named V2 checkpoints went to DR after their sidecars, and the reader used
    // them (every version compared above).
    let listing = rig
        .clean
        .list(&rig.dr_url(&v2, "_delta_log/_sidecars/"))
        .await
        .unwrap();
    assert!(listing.len() >= 20, "{} sidecars in DR", listing.len());
}
