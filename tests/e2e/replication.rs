//! Invariants 1, 2 and 5 under shuffled, duplicated and crashing deliveries.

use lakedr_tests::rig::{Rig, TableCase};

/// Tables the independent reader can read (deltalake lacks deletion vectors, V2 checkpoints
/// and catalog-managed tables); the others are checked by the structural verifier alone. Two
/// halves, each with both kinds, run as two tests in parallel.
fn good_fixtures(half: usize) -> Vec<TableCase> {
    let all = [
        ("golden-multi-part-checkpoint", true),
        ("krs-app-txn-checkpoint", true),
        ("rs-cdf-table", true),
        ("rs-delta-0.8.0-special-partition", true),
        ("rs-simple_table", true),
        ("rs-simple_table_with_checkpoint", true),
        ("rs-table_failed_last_checkpoint_update", true),
        ("rs-table_with_column_mapping", true),
        ("golden-v2-checkpoint-json", false),
        ("krs-compacted-log-files-table", false),
        ("krs-v2-checkpoints-parquet-with-sidecars", false),
        ("rs-table_with_deletion_logs", false),
    ];
    all.iter()
        .enumerate()
        .filter(|(i, _)| i % 2 == half)
        .map(|(_, (name, oracle))| TableCase::fixture(name, *oracle))
        .collect()
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
    let mut rig = Rig::new(seed, faults).await;
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
        rig.assert_nothing_lost(case).await;
    }
    for url in [rig.ordered_dlq_url.clone(), rig.dlq_url.clone()] {
        let dead = rig.dead_letters(&url).await;
        assert!(
            dead.is_empty(),
            "good tables must not dead-letter: {dead:?}"
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
    let cases = vec![
        TableCase::generated("odd_partitions"),
        TableCase::generated("cdf"),
        TableCase::generated("cleaned"),
    ];
    for seed in [1] {
        replicate_all(seed, None, &cases).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crashes_at_random_points_then_resume() {
    // A bootstrapped log, a multi-part checkpoint, V2 checkpoints with sidecars, deletion vectors.
    let cases = vec![
        TableCase::generated("cleaned"),
        TableCase::fixture("golden-multi-part-checkpoint", true),
        TableCase::fixture("krs-v2-checkpoints-parquet-with-sidecars", false),
        TableCase::fixture("rs-table_with_deletion_logs", false),
    ];
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
    let case = TableCase::fixture("kernel-java-catalog-owned-preview", false);
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
