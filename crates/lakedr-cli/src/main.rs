//! `lakedr`: the same handlers as the Lambda functions, run locally.
//!
//! * `sync`: full, consistent sync of every rule (backfill, reconcile), then verify;
//! * `verify`: invariants 1 and 2 and lag for every DR table; non-zero exit on a violation;
//! * `invoke <function> --event FILE`: one function on one event, built from the environment
//!   as Lambda builds it (the data-plane functions from `--config`);
//! * `run --until-idle`: poll the configured queues and run the handlers until both are empty;
//! * `export`: the control plane of a Databricks workspace to the DR bucket (or a directory),
//!   in full or one object;
//! * `deploy-parameters`: the SAM template's parameters for the rules of the configuration.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context as _, Result, bail};
use clap::{Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use lakedr::queue::Queue;
use lakedr::sync::{Progress, sync_all};
use lakedr::verify::{TableVerdict, verify_rule};
use lakedr::{Config, Context, OrderedSync, Replicator};

#[derive(Debug, Parser)]
#[command(
    name = "lakedr",
    version,
    about = "Consistent DR replication of Delta tables and lakehouse objects"
)]
struct Cli {
    /// Configuration file (TOML or JSON).
    #[arg(
        long,
        short,
        env = "LAKEDR_CONFIG",
        default_value = "lakedr.toml",
        global = true
    )]
    config: PathBuf,
    /// Print machine-readable JSON instead of text.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Full, consistent sync of every rule, then verify.
    Sync,
    /// Check the invariants on every DR table; non-zero exit on any violation.
    Verify,
    /// Run one function on an event file, built as Lambda builds it: the data-plane functions
    /// from --config, the control-plane ones from the variables the template sets
    /// (LAKEDR_EVENT_BUS, LAKEDR_CONTROL_STATE; LAKEDR_DATABRICKS_SECRET, LAKEDR_CONTROL_DEST,
    /// LAKEDR_WORKSPACE_NAME...).
    Invoke {
        function: Function,
        /// The event, as Lambda would deliver it (see events/).
        #[arg(long)]
        event: PathBuf,
    },
    /// Export the control plane of a Databricks workspace: every object (or one) as canonical
    /// JSON snapshots with a manifest and a `latest` pointer. Credentials: DATABRICKS_HOST, and
    /// DATABRICKS_TOKEN or DATABRICKS_CLIENT_ID and DATABRICKS_CLIENT_SECRET.
    Export {
        /// Where snapshots go: s3://bucket/prefix or a directory.
        #[arg(long)]
        to: String,
        /// The workspace's name under the destination (default: the host name).
        #[arg(long)]
        workspace: Option<String>,
        /// One object after a change, as KIND/ID (e.g. jobs/123, catalogs/sales).
        #[arg(long)]
        object: Option<String>,
        /// Address S3 buckets by path (local S3 servers).
        #[arg(long)]
        path_style: bool,
        /// Also write the latest export's Terraform (`*.tf.json`) into this directory.
        #[arg(long)]
        terraform_out: Option<PathBuf>,
        /// Where `dbfs:/` lives (s3://<root bucket>/<prefix>/), to find model artifacts on DBFS.
        /// Artifacts elsewhere are found in DR through the rules of --config, when it exists.
        #[arg(long)]
        dbfs_root: Option<String>,
    },
    /// The control-plane changes audit-log files give (what the audit-events function
    /// publishes): one line each (`--json`: one JSON object each) with the workspace, kind, id
    /// and action. Ids records give another way (a workspace object's number) are resolved
    /// through the latest export at --export, when given.
    Audit {
        /// Audit-log files (JSON lines, as Databricks delivers them).
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// The workspace the changes are followed for (default: the `workspaceId=` in each
        /// file's path).
        #[arg(long)]
        workspace_id: Option<String>,
        /// The control-plane export (s3://bucket/prefix or a directory) whose latest manifest
        /// resolves ids; with --workspace, its name there.
        #[arg(long)]
        export: Option<String>,
        #[arg(long, requires = "export")]
        workspace: Option<String>,
        /// Address S3 buckets by path (local S3 servers).
        #[arg(long)]
        path_style: bool,
    },
    /// Print the SAM template's parameters for the rules of --config (every source bucket, the
    /// object ARNs the functions may read and write, the rules as one line of JSON), as a file
    /// for `sam deploy --parameter-overrides file://FILE.yaml`.
    DeployParameters {
        /// The AWS partition of the ARNs.
        #[arg(long, default_value = "aws")]
        partition: String,
    },
    /// Poll the configured queues and run the handlers locally.
    Run {
        /// Stop when both queues are empty.
        #[arg(long)]
        until_idle: bool,
    },
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Function {
    Replicator,
    OrderedSync,
    AuditEvents,
    ControlPlaneExport,
}

impl Function {
    fn name(self) -> lakedr_aws::functions::FunctionName {
        use lakedr_aws::functions::FunctionName;
        match self {
            Function::Replicator => FunctionName::Replicator,
            Function::OrderedSync => FunctionName::OrderedSync,
            Function::AuditEvents => FunctionName::AuditEvents,
            Function::ControlPlaneExport => FunctionName::ControlPlaneExport,
        }
    }
}

/// A version for people: `12`, or `none`.
fn version(v: Option<u64>) -> String {
    v.map_or_else(|| "none".to_string(), |v| v.to_string())
}

struct Bar(ProgressBar);

impl Progress for Bar {
    fn add_total(&self, n: u64) {
        self.0.inc_length(n);
    }
    fn advance(&self, n: u64, what: &str) {
        self.0.set_message(what.to_string());
        self.0.inc(n);
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    match run(Cli::parse()).await {
        Ok(code) => code,
        Err(e) => {
            let e: &(dyn std::error::Error + 'static) = e.as_ref();
            eprintln!("error: {}", lakedr::error::chain(e));
            ExitCode::from(2)
        }
    }
}

async fn run(cli: Cli) -> Result<ExitCode> {
    if let Command::Export {
        to,
        workspace,
        object,
        path_style,
        terraform_out,
        dbfs_root,
    } = &cli.command
    {
        return export(
            ExportArgs {
                to,
                workspace: workspace.as_deref(),
                object: object.as_deref(),
                path_style: *path_style,
                terraform_out: terraform_out.as_deref(),
                dbfs_root: dbfs_root.as_deref(),
                config: &cli.config,
            },
            cli.json,
        )
        .await;
    }
    if let Command::Audit {
        files,
        workspace_id,
        export,
        workspace,
        path_style,
    } = &cli.command
    {
        return audit(
            files,
            workspace_id.as_deref(),
            export.as_deref(),
            workspace.as_deref(),
            *path_style,
            cli.json,
        )
        .await;
    }
    if let Command::Invoke { function, event } = &cli.command {
        return invoke(*function, event, &cli.config).await;
    }
    if let Command::DeployParameters { partition } = &cli.command {
        let text = std::fs::read_to_string(&cli.config)
            .with_context(|| format!("reading {}", cli.config.display()))?;
        let config = Config::from_file(&cli.config)
            .with_context(|| format!("loading {}", cli.config.display()))?;
        let params = lakedr::deploy::parameters(&text, &config, partition)?;
        println!("{}", serde_json::to_string_pretty(&params)?);
        return Ok(ExitCode::SUCCESS);
    }
    let config = Config::from_file(&cli.config)
        .with_context(|| format!("loading {}", cli.config.display()))?;
    let ctx = lakedr_aws::build_context(config).await;
    match cli.command {
        Command::Sync => {
            let bar = ProgressBar::new(0);
            if std::io::stderr().is_terminal() && !cli.json {
                bar.set_style(
                    ProgressStyle::with_template("{spinner} [{bar:30}] {pos}/{len} {wide_msg}")?
                        .progress_chars("=> "),
                );
            } else {
                bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
            }
            let summary = sync_all(&ctx, Arc::new(Bar(bar.clone()))).await?;
            bar.finish_and_clear();
            let verdicts = verify_all(&ctx).await?;
            if cli.json {
                println!(
                    "{}",
                    serde_json::json!({ "sync": summary, "verify": verdicts })
                );
            } else {
                println!(
                    "sync: {} objects seen, {} copied, {} already in DR, {} temporary skipped, {} excluded",
                    summary.objects_seen,
                    summary.objects_copied,
                    summary.objects_already_in_dr,
                    summary.temporary_skipped,
                    summary.excluded
                );
                for t in &summary.tables {
                    println!(
                        "  table {}:{}: DR version {} -> {} (source {}), {} commits published, {} files and {} log files copied",
                        t.rule,
                        t.table,
                        version(t.dr_version_before),
                        version(t.dr_version),
                        version(t.source_version),
                        t.commits_published,
                        t.files_copied,
                        t.log_files_copied
                    );
                    for w in &t.warnings {
                        println!("    warning: {w}");
                    }
                }
                for st in &summary.streams {
                    println!(
                        "  stream {}:{}: DR batch {} -> {} (source {}), {} batches published, {} files copied",
                        st.rule,
                        st.checkpoint,
                        version(st.dr_batch_before),
                        version(st.dr_batch),
                        version(st.source_batch),
                        st.batches_published,
                        st.files_copied
                    );
                    if let Some(w) = &st.waiting {
                        println!("    waiting: {w}");
                    }
                    for w in &st.warnings {
                        println!("    warning: {w}");
                    }
                }
                for f in &summary.file_sinks {
                    println!(
                        "  file sink {}:{}: {} log entries published, {} files copied",
                        f.rule, f.sink, f.entries_published, f.files_copied
                    );
                    for w in &f.warnings {
                        println!("    warning: {w}");
                    }
                }
                for a in &summary.artifact_sets {
                    println!(
                        "  artifacts {}:{}: {} of {} files in DR{}",
                        a.rule,
                        a.set,
                        a.files,
                        a.source_files,
                        if a.complete { ", complete" } else { "" }
                    );
                }
                for (what, err) in &summary.errors {
                    println!("  ERROR {what}: {err}");
                }
                print_verdicts(&verdicts);
            }
            Ok(exit_code(
                summary.errors.is_empty() && verdicts.iter().all(TableVerdict::ok),
            ))
        }
        Command::Verify => {
            let verdicts = verify_all(&ctx).await?;
            if cli.json {
                println!("{}", serde_json::to_string_pretty(&verdicts)?);
            } else {
                print_verdicts(&verdicts);
            }
            Ok(exit_code(verdicts.iter().all(TableVerdict::ok)))
        }
        Command::Invoke { .. }
        | Command::Export { .. }
        | Command::Audit { .. }
        | Command::DeployParameters { .. } => {
            unreachable!("handled before the configuration is read")
        }
        Command::Run { until_idle } => {
            let stats = run_queues(ctx, until_idle).await?;
            if cli.json {
                println!(
                    "{}",
                    serde_json::json!({ "processed": stats.0, "retried": stats.1 })
                );
            } else {
                println!(
                    "run: {} messages processed, {} left for retry",
                    stats.0, stats.1
                );
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// `lakedr invoke`: one function, built as Lambda builds it, on one event file.
async fn invoke(function: Function, event: &Path, config: &Path) -> Result<ExitCode> {
    let text =
        std::fs::read_to_string(event).with_context(|| format!("reading {}", event.display()))?;
    let payload: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("{} is not JSON", event.display()))?;
    let name = function.name();
    let config = match name {
        lakedr_aws::functions::FunctionName::Replicator
        | lakedr_aws::functions::FunctionName::OrderedSync => Some(
            Config::from_file(config).with_context(|| format!("loading {}", config.display()))?,
        ),
        lakedr_aws::functions::FunctionName::AuditEvents
        | lakedr_aws::functions::FunctionName::ControlPlaneExport => None,
    };
    let built = lakedr_aws::functions::Function::from_env(name, config)
        .await
        .map_err(|e| anyhow::anyhow!("{} cannot start: {e}", name.as_str()))?;
    match built.handle(payload, None).await {
        Ok(out) => {
            println!("{}", serde_json::to_string_pretty(&out)?);
            Ok(ExitCode::SUCCESS)
        }
        Err(d) => bail!("{}: {}: {}", name.as_str(), d.error_type, d.error_message),
    }
}

fn exit_code(ok: bool) -> ExitCode {
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

async fn verify_all(ctx: &Context) -> Result<Vec<TableVerdict>> {
    let mut out = Vec::new();
    for rule in &ctx.config.rules {
        out.extend(verify_rule(&ctx.stores, &ctx.config, rule).await?);
    }
    Ok(out)
}

fn print_verdicts(verdicts: &[TableVerdict]) {
    let streams = verdicts.iter().filter(|v| v.unit == "stream").count();
    println!(
        "verify: {} tables, {streams} streaming checkpoints",
        verdicts.len() - streams
    );
    for v in verdicts {
        let state = if v.ok() { "OK" } else { "VIOLATION" };
        let state = if v.problems.is_empty() && v.blocked.is_some() {
            "STUCK"
        } else {
            state
        };
        let (what, at, ats) = if v.unit == "stream" {
            ("stream", "batch", "batches")
        } else {
            ("table", "version", "versions")
        };
        println!(
            "  {state} {what} {}:{} source {at} {}, DR {at} {}, lag {} {ats}",
            v.rule,
            v.table,
            version(v.source_version),
            version(v.dr_version),
            v.lag_versions
        );
        for p in &v.problems {
            println!("    problem: {p}");
        }
        if let Some(b) = &v.blocked {
            println!("    cannot advance: {b}");
        }
        for w in &v.warnings {
            println!("    warning: {w}");
        }
    }
}

/// Polls the events queue (replicator) and the ordered queue (ordered stage) in turn.
/// Returns (messages processed, messages left for retry).
async fn run_queues(ctx: Context, until_idle: bool) -> Result<(u64, u64)> {
    let Some(events_url) = ctx.config.queues.events_url.clone() else {
        bail!("queues.events_url (or LAKEDR_EVENTS_QUEUE_URL) is not set");
    };
    let events = lakedr_aws::sqs_queue(&events_url).await;
    let ordered_q = ctx.ordered.clone();
    let replicator = Replicator { ctx: ctx.clone() };
    let ordered = OrderedSync { ctx };
    let (mut processed, mut retried) = (0u64, 0u64);
    let mut idle_rounds = 0;
    loop {
        let mut got = 0;
        for msg in events.receive(10).await? {
            got += 1;
            if replicator.handle_message(&msg, None).await {
                events.delete(&msg.receipt).await?;
                processed += 1;
            } else {
                retried += 1;
            }
        }
        if let Some(q) = &ordered_q {
            let msgs = q.receive(10).await?;
            got += msgs.len();
            let failed = ordered.handle_messages(&msgs, None).await;
            for m in &msgs {
                if failed.contains(&m.id) {
                    retried += 1;
                } else {
                    q.delete(&m.receipt).await?;
                    processed += 1;
                }
            }
        }
        if got == 0 {
            idle_rounds += 1;
            if until_idle && idle_rounds >= 2 {
                return Ok((processed, retried));
            }
            tokio::time::sleep(std::time::Duration::from_millis(if until_idle {
                200
            } else {
                1000
            }))
            .await;
        } else {
            idle_rounds = 0;
        }
    }
}

struct ExportArgs<'a> {
    to: &'a str,
    workspace: Option<&'a str>,
    object: Option<&'a str>,
    path_style: bool,
    terraform_out: Option<&'a std::path::Path>,
    dbfs_root: Option<&'a str>,
    config: &'a std::path::Path,
}

/// `lakedr export`: one run of the control-plane export.
async fn export(args: ExportArgs<'_>, json: bool) -> Result<ExitCode> {
    use lakedr_control::{
        ArtifactLocations, ClientConfig, DatabricksClient, Destination, RunOptions,
    };
    let ExportArgs {
        to,
        workspace,
        object,
        path_style,
        terraform_out,
        dbfs_root,
        config,
    } = args;
    // The data plane's rules say where model artifacts have their DR copies.
    let data_plane = if config.exists() {
        Some(Config::from_file(config)?)
    } else {
        None
    };
    let rules = data_plane
        .as_ref()
        .map(|c| c.rules.as_slice())
        .unwrap_or_default();
    let dbfs_root = dbfs_root
        .map(lakedr::ObjectUrl::parse)
        .transpose()
        .context("--dbfs-root")?;
    let cfg = ClientConfig::from_env()?;
    let name = workspace.map(str::to_owned).unwrap_or_else(|| {
        cfg.host
            .split("://")
            .last()
            .unwrap_or_default()
            .split(['/', ':'])
            .next()
            .unwrap_or("workspace")
            .to_string()
    });
    let root = lakedr::ObjectUrl::parse(to).context("--to")?;
    let s3 = lakedr::store::Scheme::S3;
    let stores = if root.scheme == s3
        || rules
            .iter()
            .any(|r| r.source.scheme == s3 || r.destination.scheme == s3)
        || dbfs_root.as_ref().is_some_and(|d| d.scheme == s3)
    {
        lakedr_aws::s3_stores(&lakedr_aws::sdk_config().await, path_style)
    } else {
        lakedr::Stores::new(None)
    };
    let artifacts = match &data_plane {
        Some(c) => ArtifactLocations::new(stores.clone(), c, dbfs_root),
        None => ArtifactLocations::default(),
    };
    let dest = Destination::new(stores, &root, &name);
    let account = match (
        std::env::var("LAKEDR_DATABRICKS_ACCOUNT_ID")
            .ok()
            .filter(|v| !v.is_empty()),
        std::env::var("LAKEDR_DATABRICKS_WORKSPACE_ID")
            .ok()
            .filter(|v| !v.is_empty()),
    ) {
        (Some(account_id), Some(workspace_id)) => {
            let host = std::env::var("LAKEDR_DATABRICKS_ACCOUNTS_HOST")
                .unwrap_or_else(|_| "https://accounts.cloud.databricks.com".into());
            Some(lakedr_control::AccountApi {
                api: std::sync::Arc::new(DatabricksClient::new(
                    cfg.for_account(&host, &account_id),
                )?),
                account_id,
                workspace_id,
            })
        }
        _ => None,
    };
    let client = DatabricksClient::new(cfg)?;
    let opts = RunOptions {
        artifacts,
        terraform: data_plane
            .as_ref()
            .map(lakedr_control::TfConfig::new)
            .unwrap_or_default(),
        account,
        ..RunOptions::default()
    };
    let manifest = match object {
        None => lakedr_control::export_full(&client, &dest, &opts).await?,
        Some(o) => {
            let (kind, id) = o
                .split_once('/')
                .with_context(|| format!("--object `{o}`: expected KIND/ID"))?;
            let kind = lakedr_control::Kind::parse(kind).with_context(|| {
                format!("--object `{o}`: `{kind}` is not a kind the export knows")
            })?;
            lakedr_control::export_one(&client, &dest, kind, id, &opts).await?
        }
    };
    let dr = data_plane
        .as_ref()
        .map(|c| c.dr.clone())
        .unwrap_or_default();
    let terraform = match terraform_out {
        Some(dir) => Some(lakedr_control::terraform_dir(&dest, dir, &dr).await?),
        None => None,
    };
    if json {
        let mut summary = serde_json::to_value(&manifest)?;
        summary["terraform_files"] = serde_json::json!(terraform);
        if let Some(m) = summary.as_object_mut() {
            m.remove("objects");
            m.remove("tombstones");
        }
        println!("{summary}");
    } else {
        println!(
            "export {} ({}): snapshot {}, {} objects, {} written, {} unchanged, {} deleted, {} API calls in {} ms",
            manifest.workspace,
            manifest.mode,
            manifest.snapshot,
            manifest.objects.len(),
            manifest.written,
            manifest.unchanged,
            manifest.deleted,
            manifest.api_calls,
            manifest.duration_ms
        );
        for (kind, n) in &manifest.counts {
            println!("  {kind}: {n}");
        }
        if let (Some(r), Some(dir)) = (&terraform, terraform_out) {
            println!(
                "  terraform: {} files, {} resources in {}; {} left out, {} problems; variables without a default: {}",
                r.files,
                r.resources,
                dir.display(),
                r.left_out.len(),
                r.problems.len(),
                if r.variables_without_default.is_empty() {
                    "none".to_string()
                } else {
                    r.variables_without_default.join(", ")
                }
            );
            for p in &r.problems {
                println!("  TERRAFORM {p}");
            }
        }
        for e in &manifest.errors {
            if e.id.is_empty() {
                println!("  ERROR {} (listing): {}", e.kind, e.error);
            } else {
                println!("  ERROR {}/{}: {}", e.kind, e.id, e.error);
            }
        }
    }
    let sound = terraform.as_ref().is_none_or(|r| r.problems.is_empty());
    Ok(exit_code(manifest.errors.is_empty() && sound))
}

/// `lakedr audit`: the changes audit-log files give.
async fn audit(
    files: &[PathBuf],
    workspace_id: Option<&str>,
    export: Option<&str>,
    workspace: Option<&str>,
    path_style: bool,
    json: bool,
) -> Result<ExitCode> {
    use lakedr_control::audit::{self, ManifestIndex, parse};
    let index = match export {
        Some(root) => {
            let root = lakedr::ObjectUrl::parse(root).context("--export")?;
            let stores = if root.scheme == lakedr::store::Scheme::S3 {
                lakedr_aws::s3_stores(&lakedr_aws::sdk_config().await, path_style)
            } else {
                lakedr::Stores::new(None)
            };
            let dest =
                lakedr_control::Destination::new(stores, &root, workspace.unwrap_or("workspace"));
            lakedr_control::functions::index_of(&dest).await?
        }
        None => ManifestIndex::default(),
    };
    let mut malformed = 0;
    for f in files {
        let text =
            std::fs::read_to_string(f).with_context(|| format!("reading {}", f.display()))?;
        let path = f.to_string_lossy();
        let Some(ws) = workspace_id.or_else(|| audit::workspace_of(&path)) else {
            anyhow::bail!(
                "{}: no workspaceId=<id> in the path: give --workspace-id",
                f.display()
            );
        };
        let mut seen = std::collections::BTreeSet::new();
        let parsed = parse(ws, &text, &mut seen, &index);
        for (line, e) in &parsed.malformed {
            eprintln!("{}:{line}: not an audit record: {e}", f.display());
        }
        malformed += parsed.malformed.len();
        for c in &parsed.changes {
            if json {
                println!(
                    "{}",
                    serde_json::json!({"file": path, "workspace_id": c.workspace_id, "kind": c.kind,
                        "id": c.id, "action": format!("{}.{}", c.service, c.action), "request_id": c.request_id})
                );
            } else {
                let id = if c.id.is_empty() {
                    "(by the next full export)"
                } else {
                    c.id.as_str()
                };
                println!(
                    "{} {}/{} ({}.{})",
                    c.workspace_id, c.kind, id, c.service, c.action
                );
            }
        }
        if !json {
            println!(
                "{}: {} changes; {} duplicates, {} failed requests, {} of other workspaces, {} not followed",
                f.display(),
                parsed.changes.len(),
                parsed.duplicates,
                parsed.failed,
                parsed.other_workspaces,
                parsed.ignored.values().sum::<u64>()
            );
        }
    }
    Ok(exit_code(malformed == 0))
}
