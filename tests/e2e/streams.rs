//! Invariant 3 on real Structured Streaming checkpoints (pyspark 4.3.0, `tests/py/streams.py`):
//! a stateful aggregation on the HDFS store (checkpoint format 1, a foreachBatch sink), the same
//! on RocksDB with changelogs and checkpoint format 2, a windowed aggregation into a real file
//! sink, and a Delta table read by a streaming source with Delta's own offsets and written by an
//! idempotent Delta sink (`txn` app id = query id, version = batch id). Their files are uploaded
//! in the order the queries wrote them, events delivered shuffled and duplicated, the DR
//! checkpoint checked after every delivery; then each query is restarted by pyspark from its DR
//! copy, and must end with exactly the rows of an uninterrupted run, including when the DR copy
//! of the sink lagged the checkpoint at the moment of failover. One SparkSession for the module.

use std::path::{Path, PathBuf};

use lakedr_tests::rig::{DR, PREFIX, Rig, SRC, StreamCase, TableCase};
use lakedr_tests::spark::Spark;
use serde_json::{Value, json};

const SCENARIOS: [&str; 4] = ["hdfs-agg", "rocksdb-v2", "file-sink", "delta-to-delta"];

fn rules() -> String {
    let src = |rel: &str| format!("s3://{SRC}/{PREFIX}streams/{rel}");
    format!(
        r#"
[[rule]]
name = "lake"
source = "s3://{SRC}/{PREFIX}"
destination = "s3://{DR}/{PREFIX}"

[[stream]]
checkpoint = "{}"
sink_table = "{}"

[[stream]]
checkpoint = "{}"
file_sink = "{}"
"#,
        src("delta-to-delta/checkpoint/"),
        src("delta-to-delta/output/"),
        src("file-sink/checkpoint/"),
        src("file-sink/output/"),
    )
}

/// Runs a scenario from nothing for `batches` batches under `root`.
fn create(spark: &mut Spark, scenario: &str, root: &Path, batches: u64) -> Value {
    spark.ok(&json!({"op": "create", "scenario": scenario, "root": root, "batches": batches, "settle": 1.5}))
}

/// Restarts a scenario from the directories under `root` (checkpoint, input, output) with two
/// more batches of input.
fn restart(spark: &mut Spark, scenario: &str, root: &Path) -> Value {
    spark.ok(
        &json!({"op": "restart", "scenario": scenario, "checkpoint": root.join("checkpoint"),
        "source": root.join("input"), "sink": root.join("output"), "add_batches": 2}),
    )
}

/// Downloads the DR copy of `prefix` (relative to the rule) into `into`.
async fn download(rig: &Rig, prefix: &str, into: &Path) {
    let s3 = rig.moto.s3();
    let key = format!("{PREFIX}{prefix}");
    let objects = rig
        .clean
        .list(&lakedr::ObjectUrl::s3(DR, key.clone()))
        .await
        .unwrap();
    assert!(!objects.is_empty(), "nothing in DR under {key}");
    for o in objects {
        let body = s3
            .get_object()
            .bucket(DR)
            .key(&o.key)
            .send()
            .await
            .unwrap()
            .body
            .collect()
            .await
            .unwrap()
            .into_bytes();
        let path = into.join(&o.key[key.len()..]);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, body).unwrap();
    }
}

/// Restarts query `s` (a scenario, or `lagging`) by pyspark from what DR holds now, copied to
/// `<scratch>/<label>/<s>`, with two more batches of input; the primary's directories are left as
/// they were. A file source's log names the primary's paths, so its copy runs in their place
/// (the primary's directories set aside meanwhile). The answer, and DR's newest `commits/N`;
/// `None` when DR has no `commits/N` yet and `only_started` (a query not started in DR is a new
/// one, which needs its source there first).
async fn restart_from_dr(
    rig: &Rig,
    spark: &mut Spark,
    scratch: &Path,
    label: &str,
    s: &str,
    only_started: bool,
) -> Option<(Value, Option<u64>)> {
    let dir = scratch.join(label).join(s);
    download(rig, &format!("streams/{s}/"), &dir).await;
    let dr_newest = newest_commit(&dir);
    if dr_newest.is_none() && only_started {
        return None;
    }
    if matches!(s, "delta-to-delta" | "lagging") {
        return Some((restart(spark, "delta-to-delta", &dir), dr_newest));
    }
    let at = scratch.join("primary").join(s);
    let aside = scratch.join(label).join(format!("{s}-primary"));
    std::fs::rename(&at, &aside).unwrap();
    std::fs::rename(&dir, &at).unwrap();
    let answer = restart(spark, s, &at);
    std::fs::rename(&at, &dir).unwrap();
    std::fs::rename(&aside, &at).unwrap();
    Some((answer, dr_newest))
}

fn newest_commit(dir: &Path) -> Option<u64> {
    std::fs::read_dir(dir.join("checkpoint/commits"))
        .ok()?
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .max()
}

fn tables_of(prefix: &str) -> Vec<TableCase> {
    // The Delta source and sink of the delta-to-delta query (the local paths are filled in by
    // the caller).
    ["input/", "output/"]
        .into_iter()
        .map(|t| TableCase {
            local: PathBuf::new(),
            prefix: format!("streams/{prefix}{t}"),
            oracle: true,
            rule: 0,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checkpoints_replicate_in_order_and_queries_resume_from_dr() {
    let mut spark = Spark::start();
    let scratch = tempfile::tempdir().unwrap();
    let primary = scratch.path().join("primary");
    // What each query gives when it runs six batches without interruption.
    let mut reference = std::collections::BTreeMap::new();
    for s in SCENARIOS {
        let r = create(&mut spark, s, &scratch.path().join("reference").join(s), 6);
        reference.insert(s, r["rows"].clone());
        create(&mut spark, s, &primary.join(s), 4);
    }
    // The same delta-to-delta query again, whose sink will lag at failover.
    create(&mut spark, "delta-to-delta", &primary.join("lagging"), 4);

    let text = format!(
        "{}\n[[stream]]\ncheckpoint = \"s3://{SRC}/{PREFIX}streams/lagging/checkpoint/\"\nsink_table = \"s3://{SRC}/{PREFIX}streams/lagging/output/\"\n",
        rules()
    );
    assert_eq!(lakedr::Config::from_text(&text).unwrap().streams.len(), 3);
    let mut rig = Rig::with_config(41, None, &text, "").await;
    let mut cases = Vec::new();
    for (name, local) in [
        ("delta-to-delta/", "delta-to-delta"),
        ("lagging/", "lagging"),
    ] {
        for mut c in tables_of(name) {
            c.local = primary
                .join(local)
                .join(c.prefix.rsplit('/').nth(1).unwrap());
            cases.push(c);
        }
    }
    for s in SCENARIOS.into_iter().chain(["lagging"]) {
        rig.watch_stream(StreamCase {
            prefix: format!("streams/{s}/"),
            checkpoint: "checkpoint/".into(),
            rule: 0,
        });
    }

    // The lagging query's sink: its newest commit (and the files it adds) reaches DR only after
    // the failover.
    let sink_log = primary.join("lagging/output/_delta_log");
    let last_sink_commit = std::fs::read_dir(&sink_log)
        .unwrap()
        .filter_map(|e| {
            match lakedr::delta::LogFile::parse(&e.unwrap().file_name().to_string_lossy()) {
                lakedr::delta::LogFile::Commit(v) => Some(v),
                _ => None,
            }
        })
        .max()
        .unwrap();
    let commit_rel = format!("output/_delta_log/{last_sink_commit:020}.json");
    let mut lagging_files = vec![commit_rel.clone()];
    for line in std::fs::read_to_string(primary.join("lagging").join(&commit_rel))
        .unwrap()
        .lines()
    {
        let action: Value = serde_json::from_str(line).unwrap();
        if let Some(p) = action["add"]["path"].as_str() {
            lagging_files.push(format!("output/{p}"));
        }
    }
    assert!(
        lagging_files.len() > 1,
        "the sink's last commit adds no file"
    );

    let mut midway_restarts = 0;
    for s in SCENARIOS.into_iter().chain(["lagging"]) {
        let order: Vec<String> = lakedr_tests::spark::write_order(&primary.join(s))
            .into_iter()
            .filter(|rel| s != "lagging" || !lagging_files.contains(rel))
            .collect();
        rig.write_files(
            &primary.join(s),
            &order,
            0,
            &format!("streams/{s}/"),
            &cases,
        )
        .await;
        // Mid-flight (events still pending): pyspark restarts from whatever DR holds, at the
        // batch after DR's newest commit, and an idempotent sink takes no batch twice.
        let Some((midway, dr_newest)) =
            restart_from_dr(&rig, &mut spark, scratch.path(), "midway", s, true).await
        else {
            continue;
        };
        midway_restarts += 1;
        assert!(
            midway["error"].is_null(),
            "{s} from DR mid-flight: {midway}"
        );
        assert_eq!(
            midway["resumed_at"],
            json!(dr_newest.map_or(0, |c| c + 1)),
            "{s}: {midway}"
        );
        if matches!(s, "delta-to-delta" | "lagging") {
            let ids: Vec<&Value> = midway["rows"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| &r["id"])
                .collect();
            let unique: std::collections::BTreeSet<String> =
                ids.iter().map(|i| i.to_string()).collect();
            assert_eq!(
                unique.len(),
                ids.len(),
                "{s}: a batch written twice: {midway}"
            );
        }
    }
    assert!(
        midway_restarts >= 3,
        "only {midway_restarts} mid-flight restarts"
    );
    rig.settle(&cases).await;
    assert!(
        rig.stream_checks > 50,
        "only {} checkpoint checks",
        rig.stream_checks
    );

    // Every checkpoint is in DR whole, but the lagging one, which waits for its sink.
    for s in SCENARIOS {
        let v = rig
            .check_stream(&StreamCase {
                prefix: format!("streams/{s}/"),
                checkpoint: "checkpoint/".into(),
                rule: 0,
            })
            .await;
        assert_eq!(v.dr_version, v.source_version, "{s}: {v:?}");
        assert_eq!(v.dr_version, newest_commit(&primary.join(s)), "{s}");
        // A file source's log names the primary's paths: verify says the copy is not portable.
        let file_source = s != "delta-to-delta";
        assert_eq!(
            v.warnings.iter().any(|w| w.contains("not portable")),
            file_source,
            "{s}: {v:?}"
        );
    }
    let lagging = StreamCase {
        prefix: "streams/lagging/".into(),
        checkpoint: "checkpoint/".into(),
        rule: 0,
    };
    let v = rig.check_stream(&lagging).await;
    let src_last = newest_commit(&primary.join("lagging")).unwrap();
    assert_eq!(
        v.dr_version,
        Some(src_last - 1),
        "commits/{src_last} must wait for the sink's txn {src_last}: {v:?}"
    );
    assert!(
        v.blocked.as_deref().is_some_and(
            |b| b.contains("waiting for table") && b.contains(&format!("txn {src_last}"))
        ),
        "{v:?}"
    );

    // Failover: every query restarted by pyspark from its DR copy (DR checkpoint, DR source, DR
    // sink), with two more batches of input, ends with the rows of an uninterrupted run.
    for s in SCENARIOS.into_iter().chain(["lagging"]) {
        let (restarted, dr_newest) =
            restart_from_dr(&rig, &mut spark, scratch.path(), "failover", s, false)
                .await
                .unwrap();
        assert!(restarted["error"].is_null(), "{s}: {restarted}");
        assert_eq!(
            restarted["resumed_at"],
            json!(dr_newest.map_or(0, |c| c + 1)),
            "{s}: {restarted}"
        );
        let scenario = if s == "lagging" { "delta-to-delta" } else { s };
        assert_eq!(
            restarted["rows"], reference[scenario],
            "{s}: a batch lost or doubled: {restarted}"
        );
    }

    // Once the sink's commit arrives, the checkpoint catches up by itself (the table stage wakes it).
    lagging_files.reverse(); // the data files, then the commit
    rig.write_files(
        &primary.join("lagging"),
        &lagging_files,
        0,
        "streams/lagging/",
        &cases,
    )
    .await;
    rig.settle(&cases).await;
    let v = rig.check_stream(&lagging).await;
    assert_eq!(v.dr_version, Some(src_last), "{v:?}");
    for case in &cases {
        rig.check_again(case).await;
        rig.assert_nothing_lost(case).await;
    }
    for url in [rig.ordered_dlq_url.clone(), rig.dlq_url.clone()] {
        let dead = rig.dead_letters(&url).await;
        assert!(dead.is_empty(), "{dead:?}");
    }
}
