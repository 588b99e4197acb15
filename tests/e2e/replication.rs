//! Invariants 1, 2 and 5 under shuffled, duplicated and crashing deliveries.

use lakedr_tests::rig::{Rig, TableCase};

/// Fixture tables replicated by the two halves of the shuffled-delivery test, with whether the
/// independent reader can read them (deltalake lacks deletion vectors, V2 checkpoints and
/// catalog-managed tables; the others are checked by the structural verifier alone). Every
/// readable fixture goes through exactly one shuffled run: these halves, the crash test (which
/// shuffles and duplicates the same way, with faults on top: the multi-part checkpoint, V2
/// checkpoints with sidecars, deletion vectors), the catalog-managed test and the bad-input
/// test (vacuumed, non-contiguous and absolute-path tables).
fn good_fixtures(half: usize) -> Vec<TableCase> {
    let halves: [&[(&str, bool)]; 2] = [
        &[
            ("rs-cdf-table", true),
            ("krs-compacted-log-files-table", false),
            ("rs-table_with_column_mapping", true),
            ("krs-app-txn-checkpoint", true),
        ],
        &[
            ("rs-simple_table", true),
            ("rs-simple_table_with_checkpoint", true),
            ("golden-v2-checkpoint-json", false),
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
    ("krs-v2-checkpoints-parquet-with-sidecars", false),
    ("rs-table_with_deletion_logs", false),
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
