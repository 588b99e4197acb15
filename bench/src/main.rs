//! Benchmark: replicate small objects, large objects and a Delta table of many commits on one
//! local S3 server with lakedr, and copy the same objects with s5cmd and the AWS CLI.
//!
//! Reports objects/s, MB/s, S3 requests per replicated object (counted by an SDK interceptor,
//! retries included), p50/p99 time from a commit's event to its visibility in DR, and the peak
//! memory of this process (which holds no object bodies: the data is staged with s5cmd).
//! `bench/run.sh` starts the servers and runs it.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use anyhow::{Context as _, Result, bail};
use aws_sdk_s3::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_s3::config::{ConfigBag, Intercept, RuntimeComponents};
use clap::Parser;
use futures::StreamExt;
use lakedr::event::{ChangeKind, ObjectEvent};
use lakedr::handler::{Outcome, Replicator};
use lakedr::store::{ObjectUrl, Stores};
use lakedr::{Config, Context};
use serde_json::json;

#[derive(Debug, Parser)]
struct Args {
    /// S3 endpoint of the server under test.
    #[arg(long)]
    endpoint: String,
    /// Name of the server, for the report.
    #[arg(long)]
    label: String,
    /// Directory with `objects/` (small and large files) and `table/` (a Delta table).
    #[arg(long)]
    data: PathBuf,
    /// s5cmd binary.
    #[arg(long, default_value = "s5cmd")]
    s5cmd: String,
    /// aws CLI binary.
    #[arg(long, default_value = "aws")]
    aws: String,
    /// Concurrent handler invocations (stands for Lambda concurrency).
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
}

#[derive(Debug, Default)]
struct Counter(AtomicU64);

#[derive(Debug, Clone)]
struct Counting(Arc<Counter>);

impl Intercept for Counting {
    fn name(&self) -> &'static str {
        "request-counter"
    }
    fn read_before_transmit(
        &self,
        _: &BeforeTransmitInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), aws_sdk_s3::error::BoxError> {
        self.0.0.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}

fn files(dir: &Path, rel: &str, out: &mut Vec<(String, u64)>) -> Result<()> {
    for e in std::fs::read_dir(dir)? {
        let e = e?;
        let name = e.file_name().to_string_lossy().into_owned();
        if e.file_type()?.is_dir() {
            files(&e.path(), &format!("{rel}{name}/"), out)?;
        } else {
            out.push((format!("{rel}{name}"), e.metadata()?.len()));
        }
    }
    Ok(())
}

fn run(cmd: &mut Command) -> Result<f64> {
    let start = Instant::now();
    let out = cmd.output().with_context(|| format!("running {cmd:?}"))?;
    if !out.status.success() {
        bail!("{cmd:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(start.elapsed().as_secs_f64())
}

/// CPU seconds (user + system) used so far by this process, and by its waited-for children.
fn cpu_seconds() -> (f64, f64) {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which may hold spaces): utime is field 14 of the line.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or_default();
    let f: Vec<f64> = rest
        .split_whitespace()
        .skip(11)
        .take(4)
        .filter_map(|x| x.parse().ok())
        .collect();
    let tick = 100.0; // USER_HZ on Linux
    match f.as_slice() {
        [u, s, cu, cs] => ((u + s) / tick, (cu + cs) / tick),
        _ => (0.0, 0.0),
    }
}

/// Flushes the page cache's dirty pages, so a timed run does not pay for the write-back of the
/// run (or the staging) before it.
fn settle() {
    let _ = Command::new("sync").status();
}

fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map(|kib| kib / 1024.0)
        .unwrap_or_default()
}

/// What replicating one table's commits measured.
#[derive(Debug, Default)]
struct TableRun {
    log_entries_before: usize,
    commits: usize,
    data_files: u64,
    data_requests: u64,
    commit_requests: Vec<f64>,
    latencies_ms: Vec<f64>,
}

impl TableRun {
    fn report(&self) -> serde_json::Value {
        let mut l = self.latencies_ms.clone();
        l.sort_by(f64::total_cmp);
        json!({
            "log_entries_before_first_timed_commit": self.log_entries_before,
            "commits": self.commits,
            "data_files": self.data_files,
            "requests_per_data_file": self.data_requests as f64 / self.data_files.max(1) as f64,
            "requests_per_commit_beyond_files":
                self.commit_requests.iter().sum::<f64>() / self.commit_requests.len().max(1) as f64,
            "commit_visible_ms_p50": percentile(&l, 0.5),
            "commit_visible_ms_p99": percentile(&l, 0.99),
        })
    }
}

/// Replays a table's commits newer than `after` into the source bucket under `key_prefix` as
/// its writer made them (files, commit, then checkpoint and hint), each followed by its events
/// through the replicator, and times each commit from its event to its visibility in DR.
async fn replicate_table(
    client: &aws_sdk_s3::Client,
    counter: &Counter,
    replicator: &Replicator,
    src: &str,
    table_dir: &Path,
    key_prefix: &str,
    after: Option<u64>,
) -> Result<TableRun> {
    let mut table = Vec::new();
    files(table_dir, "", &mut table)?;
    let size_of = |k: &str| {
        table
            .iter()
            .find(|(t, _)| t == k)
            .map(|(_, s)| *s)
            .unwrap_or_default()
    };
    let event = |key: &str, size: u64| ObjectEvent {
        url: ObjectUrl::s3(src, format!("{key_prefix}{key}")),
        kind: ChangeKind::Created,
        size: Some(size),
        etag: None,
        version_id: None,
        sequencer: None,
    };
    let version_of = |k: &str| match lakedr::delta::LogFile::parse(k.strip_prefix("_delta_log/")?) {
        lakedr::delta::LogFile::Commit(v) => Some(v),
        _ => None,
    };
    let mut versions: Vec<u64> = table
        .iter()
        .filter_map(|(k, _)| version_of(k))
        .filter(|v| after.is_none_or(|a| *v > a))
        .collect();
    versions.sort_unstable();
    let mut run = TableRun {
        log_entries_before: table
            .iter()
            .filter(|(k, _)| {
                k.starts_with("_delta_log/")
                    && !k.starts_with("_delta_log/_")
                    && lakedr::delta::LogFile::parse(&k["_delta_log/".len()..])
                        .version()
                        .is_some_and(|v| after.is_some_and(|a| v <= a))
            })
            .count(),
        commits: versions.len(),
        ..TableRun::default()
    };
    let put = |k: String, body: Vec<u8>| async move {
        client
            .put_object()
            .bucket(src)
            .key(format!("{key_prefix}{k}"))
            .body(body.into())
            .send()
            .await
    };
    for v in &versions {
        let ckey = lakedr::delta::commit_name(*v);
        let body = std::fs::read(table_dir.join(&ckey))?;
        let refs = lakedr::delta::parse_ndjson(&body).map_err(anyhow::Error::msg)?;
        // The writer puts the commit's files, then the commit; their events follow.
        let mut keys: Vec<String> = refs.files.iter().map(|f| f.rel.clone()).collect();
        for k in &keys {
            put(k.clone(), std::fs::read(table_dir.join(k))?).await?;
        }
        put(ckey.clone(), body).await?;
        let r0 = counter.0.load(Ordering::Relaxed);
        for k in &keys {
            replicator.on_event(&event(k, size_of(k)), None).await?;
        }
        let r1 = counter.0.load(Ordering::Relaxed);
        run.data_requests += r1 - r0;
        run.data_files += keys.len() as u64;
        let t = Instant::now();
        replicator
            .on_event(&event(&ckey, size_of(&ckey)), None)
            .await?;
        run.latencies_ms.push(t.elapsed().as_secs_f64() * 1000.0);
        run.commit_requests
            .push((counter.0.load(Ordering::Relaxed) - r1) as f64);
        // Checkpoint and hint written after the commit, as writers do.
        keys.clear();
        keys.extend(
            table
                .iter()
                .map(|(k, _)| k.clone())
                .filter(|k| k.starts_with(&format!("_delta_log/{v:020}.checkpoint"))),
        );
        if !keys.is_empty()
            && table
                .iter()
                .any(|(k, _)| k == "_delta_log/_last_checkpoint")
        {
            keys.push("_delta_log/_last_checkpoint".into());
        }
        for k in &keys {
            put(k.clone(), std::fs::read(table_dir.join(k))?).await?;
            replicator.on_event(&event(k, size_of(k)), None).await?;
        }
    }
    Ok(run)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    let (src, dr, dr_s5, dr_aws) = ("bench-src", "bench-dr", "bench-dr-s5cmd", "bench-dr-awscli");
    // The objects are copied four times, s5cmd and lakedr in turn (s5cmd first), each into its
    // own bucket, dirty pages flushed before each run: neither tool gets the edge of running
    // later on a server that warms up, or pays for the other's write-back.
    let (dr_s5_first, dr_again) = ("bench-dr-s5cmd-first", "bench-dr-again");
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(lakedr_aws::http_client())
        .endpoint_url(&args.endpoint)
        .load()
        .await;
    let counter = Arc::new(Counter::default());
    let client = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&sdk)
            .force_path_style(true)
            .interceptor(Counting(counter.clone()))
            .build(),
    );
    for b in [src, dr, dr_s5, dr_s5_first, dr_again, dr_aws] {
        let _ = client.create_bucket().bucket(b).send().await;
    }
    // Stage the data with s5cmd so this process never holds object bodies.
    let s5 = |a: &[&str]| {
        let mut c = Command::new(&args.s5cmd);
        c.args(["--endpoint-url", &args.endpoint]).args(a);
        c
    };
    run(&mut s5(&[
        "cp",
        &format!("{}/objects/*", args.data.display()),
        &format!("s3://{src}/objects/"),
    ]))?;
    let mut objects = Vec::new();
    files(&args.data.join("objects"), "objects/", &mut objects)?;
    // In key order, as s5cmd copies them (from its listing) and as a writer usually makes them.
    objects.sort();
    let mut table = Vec::new();
    files(&args.data.join("table"), "", &mut table)?;

    // The default copy settings: objects above 256 MiB go multipart, so the large objects here
    // are single server-side copies, as s5cmd makes them (multipart copy is in the tests).
    let replicator_to = |dst: &str| -> Result<Replicator> {
        let config = Config::from_text(&format!(
            "[[rule]]\nname = \"bench\"\nsource = \"s3://{src}/\"\ndestination = \"s3://{dst}/\"\n[s3]\nforce_path_style = true\n"
        ))?;
        let store = lakedr_aws::S3Store::from_conf(client.config().clone(), config.copy.clone());
        let ctx = Context {
            config: Arc::new(config),
            stores: Stores::new(Some(Arc::new(store))),
            ordered: None,
            dead_letter: None,
            ordered_dead_letter: None,
            hints: Default::default(),
        };
        Ok(Replicator { ctx })
    };
    let replicator = replicator_to(dr)?;
    let event = |key: &str, size: u64| ObjectEvent {
        url: ObjectUrl::s3(src, key),
        kind: ChangeKind::Created,
        size: Some(size),
        etag: None,
        version_id: None,
        sequencer: None,
    };

    let s5_copy = |to: &str| {
        let n = args.concurrency.to_string();
        let (from, to) = (
            format!("s3://{src}/objects/*"),
            format!("s3://{to}/objects/"),
        );
        settle();
        let child_cpu0 = cpu_seconds().1;
        let secs = run(&mut s5(&["--numworkers", &n, "cp", &from, &to]))?;
        anyhow::Ok((secs, cpu_seconds().1 - child_cpu0))
    };
    let (s5_first_secs, _) = s5_copy(dr_s5_first)?;

    // 1. Objects, as events, through the replicator with bounded concurrency: once now, once
    //    after s5cmd's second run (to another bucket), as s5cmd runs before and after.
    let bytes: u64 = objects.iter().map(|(_, s)| s).sum();
    let replicate = |r: Replicator| {
        let events: Vec<ObjectEvent> = objects.iter().map(|(k, s)| event(k, *s)).collect();
        async move {
            settle();
            let cpu0 = cpu_seconds().0;
            let start = Instant::now();
            let results: Vec<_> = futures::stream::iter(events.iter().map(|ev| {
                let r = &r;
                async move { r.on_event(ev, None).await }
            }))
            .buffer_unordered(args.concurrency)
            .collect()
            .await;
            let secs = start.elapsed().as_secs_f64();
            let cpu = cpu_seconds().0 - cpu0;
            let copied = results
                .iter()
                .filter(|r| matches!(r, Ok(Outcome::Copied { .. })))
                .count();
            if copied != events.len() {
                let first = results.iter().find_map(|r| match r {
                    Ok(Outcome::Copied { .. }) => None,
                    Ok(other) => Some(format!("not copied: {other:?}")),
                    Err(e) => Some(e.to_string()),
                });
                bail!(
                    "{} of {} objects copied; first: {}",
                    copied,
                    events.len(),
                    first.unwrap_or_default()
                );
            }
            anyhow::Ok((secs, cpu))
        }
    };
    let before = counter.0.load(Ordering::Relaxed);
    let (secs, cpu) = replicate(replicator_to(dr)?).await?;
    let object_requests = counter.0.load(Ordering::Relaxed) - before;

    // 2. The Delta tables: a writer's files arrive, then each commit's event; time each commit
    //    from its event to its visibility in DR. The same commits after a short log (200
    //    entries) and at the end of a long one (its older entries already in both buckets).
    let short = replicate_table(
        &client,
        &counter,
        &replicator,
        src,
        &args.data.join("table"),
        "table/",
        None,
    )
    .await?;
    let prefix_dir = args.data.join("long-prefix");
    let mut prefix = Vec::new();
    files(&prefix_dir, "", &mut prefix)?;
    let prefix_last = prefix
        .iter()
        .filter_map(
            |(k, _)| match lakedr::delta::LogFile::parse(k.strip_prefix("_delta_log/")?) {
                lakedr::delta::LogFile::Commit(v) => Some(v),
                _ => None,
            },
        )
        .max()
        .context("long-prefix has no commit")?;
    for bucket in [src, dr] {
        run(&mut s5(&[
            "cp",
            &format!("{}/*", prefix_dir.display()),
            &format!("s3://{bucket}/long/"),
        ]))?;
    }
    let long = replicate_table(
        &client,
        &counter,
        &replicator,
        src,
        &args.data.join("long-table"),
        "long/",
        Some(prefix_last),
    )
    .await?;
    let peak = peak_rss_mib();

    // 3. The same objects with s5cmd (again) and the AWS CLI (no ordering guarantees).
    let (s5_secs, s5_cpu) = s5_copy(dr_s5)?;
    let (secs_again, _) = replicate(replicator_to(dr_again)?).await?;
    settle();
    let aws_secs = run(Command::new(&args.aws).args([
        "s3",
        "sync",
        &format!("s3://{src}/objects/"),
        &format!("s3://{dr_aws}/objects/"),
        "--endpoint-url",
        &args.endpoint,
        "--only-show-errors",
    ]))?;

    let n = objects.len() as f64;
    let mb = bytes as f64 / 1e6;
    let report = json!({
        "server": args.label,
        "objects": objects.len(),
        "object_bytes": bytes,
        "lakedr": {
            "seconds": secs, "objects_per_s": n / secs, "mb_per_s": mb / secs,
            "after_s5cmd": { "seconds": secs_again, "objects_per_s": n / secs_again },
            "requests_per_object": object_requests as f64 / n,
            "client_cpu_ms_per_object": cpu * 1000.0 / n,
            "table": short.report(),
            "long_log_table": long.report(),
            "peak_rss_mib": peak,
        },
        "s5cmd": { "seconds": s5_secs, "objects_per_s": n / s5_secs, "mb_per_s": mb / s5_secs,
                   "client_cpu_ms_per_object": s5_cpu * 1000.0 / n,
                   "before_lakedr": { "seconds": s5_first_secs, "objects_per_s": n / s5_first_secs } },
        "aws_cli": { "seconds": aws_secs, "objects_per_s": n / aws_secs, "mb_per_s": mb / aws_secs },
    });
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}
