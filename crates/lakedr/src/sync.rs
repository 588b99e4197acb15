//! Full, consistent sync of every rule: the backfill and the reconcile that catches lost events.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use futures::StreamExt;
use serde::Serialize;

use crate::artifacts::ArtifactReport;
use crate::classify::{KeyClass, classify};
use crate::error::Result;
use crate::handler::{Context, UnitReport, run_unit, sync_table};
use crate::ordered::TableReport;
use crate::queue::Unit;
use crate::store::{CopySource, ObjectMeta, same_object};
use crate::stream::file_sink::FileSinkReport;
use crate::stream::sync::StreamReport;

/// Progress callbacks (the CLI draws a bar with them).
pub trait Progress: Send + Sync {
    /// More work was discovered.
    fn add_total(&self, n: u64);
    /// Work was done.
    fn advance(&self, n: u64, what: &str);
}

/// A [`Progress`] that ignores everything.
#[derive(Debug, Default)]
pub struct NoProgress;

impl Progress for NoProgress {
    fn add_total(&self, _: u64) {}
    fn advance(&self, _: u64, _: &str) {}
}

/// What a sync did.
#[derive(Clone, Debug, Default, Serialize)]
pub struct SyncSummary {
    pub objects_seen: u64,
    pub objects_copied: u64,
    pub objects_already_in_dr: u64,
    pub temporary_skipped: u64,
    pub excluded: u64,
    pub tables: Vec<TableReport>,
    /// Streaming checkpoints, file sinks' logs and artifact sets, after the tables.
    pub streams: Vec<StreamReport>,
    pub file_sinks: Vec<FileSinkReport>,
    pub artifact_sets: Vec<ArtifactReport>,
    /// `(what, error)` for units that failed; DR is at their last consistent state.
    pub errors: Vec<(String, String)>,
}

/// Syncs every rule: plain objects missing or different in DR are copied, then every Delta
/// table found is brought up to date in order, then (their sinks published) every streaming
/// checkpoint, file sink log and artifact set.
pub async fn sync_all(ctx: &Context, progress: Arc<dyn Progress>) -> Result<SyncSummary> {
    let mut summary = SyncSummary::default();
    let mut later: Vec<(&crate::config::Rule, Unit, String)> = Vec::new();
    for rule in &ctx.config.rules {
        let src = ctx.stores.list(&rule.source).await?;
        let dst = ctx.stores.list(&rule.destination).await?;
        let dst_by_rel: BTreeMap<&str, &ObjectMeta> = dst
            .iter()
            .map(|m| (&m.key[rule.destination.key.len()..], m))
            .collect();
        let mut tables: BTreeSet<String> = BTreeSet::new();
        let mut to_copy: Vec<&ObjectMeta> = Vec::new();
        for m in &src {
            let rel = &m.key[rule.source.key.len()..];
            summary.objects_seen += 1;
            if !rule.selects(rel) {
                summary.excluded += 1;
                continue;
            }
            let in_dr = dst_by_rel.get(rel).is_some_and(|d| same_object(m, d));
            let class = classify(rel);
            if matches!(class, KeyClass::Object | KeyClass::Artifact { .. }) {
                if in_dr {
                    summary.objects_already_in_dr += 1;
                } else {
                    to_copy.push(m);
                }
            }
            match class {
                KeyClass::Temporary => summary.temporary_skipped += 1,
                KeyClass::DeltaLog { table, .. } => {
                    tables.insert(table);
                }
                KeyClass::Object => {}
                KeyClass::Artifact { set } => later.push((rule, Unit::Artifacts, set)),
                KeyClass::Stream { root, .. } | KeyClass::StreamBatchFile { root } => {
                    later.push((rule, Unit::Stream, root));
                }
                KeyClass::FileSinkLog { root, .. } => later.push((rule, Unit::FileSink, root)),
            }
        }
        progress.add_total(to_copy.len() as u64 + tables.len() as u64);
        let results: Vec<(String, Result<()>)> =
            futures::stream::iter(to_copy.into_iter().map(|m| {
                let rel = m.key[rule.source.key.len()..].to_string();
                let progress = progress.clone();
                async move {
                    let source = CopySource {
                        url: rule.source.with_key(m.key.clone()),
                        version_id: None,
                        etag: m.etag.clone(),
                        size: Some(m.size),
                    };
                    let r = ctx.stores.copy(&source, &rule.dr_url(&rel)).await;
                    progress.advance(1, &rel);
                    (rel, r)
                }
            }))
            .buffer_unordered(ctx.config.copy.max_concurrency)
            .collect()
            .await;
        for (rel, r) in results {
            match r {
                Ok(()) => summary.objects_copied += 1,
                Err(e) => summary
                    .errors
                    .push((rule.source.join(&rel).to_string(), e.to_string())),
            }
        }
        let reports: Vec<(String, Result<TableReport>)> =
            futures::stream::iter(tables.into_iter().map(|t| {
                let progress = progress.clone();
                async move {
                    let r = sync_table(ctx, rule, &t, None).await;
                    progress.advance(1, &t);
                    (t, r)
                }
            }))
            .buffer_unordered(4)
            .collect()
            .await;
        for (t, r) in reports {
            match r {
                Ok(rep) => summary.tables.push(rep),
                Err(e) => {
                    tracing::error!(rule = %rule.name, table = %t, error = %e, "table stopped");
                    summary
                        .errors
                        .push((rule.source.join(&t).to_string(), e.to_string()));
                }
            }
        }
    }
    // After every table, so that a checkpoint's sinks are published: file sinks, then
    // checkpoints, then artifact sets' manifests (their files are copied above).
    let order = |u: Unit| match u {
        Unit::Table => 0,
        Unit::FileSink => 1,
        Unit::Stream => 2,
        Unit::Artifacts => 3,
    };
    later.sort_by(|a, b| (order(a.1), &a.0.name, &a.2).cmp(&(order(b.1), &b.0.name, &b.2)));
    later.dedup_by(|a, b| a.0.name == b.0.name && a.1 == b.1 && a.2 == b.2);
    progress.add_total(later.len() as u64);
    for (rule, unit, root) in later {
        let r = run_unit(ctx, rule, unit, &root, None).await;
        progress.advance(1, &root);
        match r {
            Ok(UnitReport::Table(t)) => summary.tables.push(t),
            Ok(UnitReport::Stream(s)) => summary.streams.push(s),
            Ok(UnitReport::FileSink(f)) => summary.file_sinks.push(f),
            Ok(UnitReport::Artifacts(a)) => summary.artifact_sets.push(a),
            Err(e) => {
                tracing::error!(rule = %rule.name, unit = %root, error = %e, "unit stopped");
                summary
                    .errors
                    .push((rule.source.join(&root).to_string(), e.to_string()));
            }
        }
    }
    summary
        .tables
        .sort_by(|a, b| (&a.rule, &a.table).cmp(&(&b.rule, &b.table)));
    summary.errors.sort();
    Ok(summary)
}
