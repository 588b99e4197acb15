//! Artifact sets (an MLflow run's `artifacts/`, a Unity Catalog model version's directory):
//! the files are copied as they come, like any object; a manifest of the set's DR copy is kept
//! beside it, written after the files it lists and again whenever files are added, so that a
//! reader (the control-plane export, an operator on the day of a failover) knows whether the set
//! is complete in DR without listing both buckets.
//!
//! The manifest of `<set>/` is `<set>.lakedr-manifest.json` in DR (outside the set, so it is
//! never taken for an artifact): the files present in DR with their sizes and entity tags (the
//! MD5 of the content for single-part objects), how many the source holds, and `complete`.

use std::collections::BTreeMap;

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use crate::config::Rule;
use crate::error::{Error, Result};
use crate::store::{ObjectMeta, ObjectUrl, PutMode, PutOptions, Stores, same_object};

/// The suffix of a set's manifest.
pub const MANIFEST_SUFFIX: &str = ".lakedr-manifest.json";

/// One file of a set's DR copy.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ManifestFile {
    /// Relative to the set.
    pub key: String,
    pub size: u64,
    pub etag: Option<String>,
}

/// The manifest of a set's DR copy.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Manifest {
    /// The set at the source.
    pub source: String,
    /// Files at the source when the manifest was written.
    pub source_files: u64,
    /// Files in DR identical to the source's (same size, same entity tag where both are
    /// content hashes).
    pub files: Vec<ManifestFile>,
    /// Source files not (yet) in DR, or different there.
    pub missing: Vec<String>,
    pub complete: bool,
}

/// The set an artifact key belongs to (relative to its rule), if it is in one:
/// * `<...>/<experiment id>/<run id>/artifacts/`: an MLflow run's artifacts;
/// * `<...>/<experiment id>/models/m-<model id>/artifacts/`: an MLflow 3 logged model (what a
///   registered version of it downloads);
/// * `<...>/mlflow-registry/<version id>/models/<name>/`: a workspace registry version's copy
///   (`dbfs:/databricks/mlflow-registry/...`);
/// * `<...>/models/<model id>/versions/<version id>/`: a Unity Catalog model version.
pub fn set_of(rel: &str) -> Option<&str> {
    let segs: Vec<&str> = rel.split('/').collect();
    let end = |i: usize| {
        let len: usize = segs[..=i].iter().map(|s| s.len() + 1).sum();
        &rel[..len]
    };
    let hex32 = |s: &str| s.len() == 32 && s.bytes().all(|b| b.is_ascii_hexdigit());
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    // The file itself is the last segment: a set is a directory above it.
    for i in 0..segs.len().saturating_sub(1) {
        if segs[i] == "artifacts" && i >= 2 && hex32(segs[i - 1]) && digits(segs[i - 2]) {
            return Some(end(i));
        }
        let logged_model = |s: &str| s.strip_prefix("m-").is_some_and(hex32);
        if segs[i] == "artifacts"
            && i >= 3
            && logged_model(segs[i - 1])
            && segs[i - 2] == "models"
            && digits(segs[i - 3])
        {
            return Some(end(i));
        }
        if segs[i] == "mlflow-registry"
            && i + 3 < segs.len() - 1
            && !segs[i + 1].is_empty()
            && segs[i + 2] == "models"
            && !segs[i + 3].is_empty()
        {
            return Some(end(i + 3));
        }
        if segs[i] == "versions"
            && i >= 2
            && segs[i - 2] == "models"
            && i + 1 < segs.len() - 1
            && !segs[i + 1].is_empty()
            && !segs[i - 1].is_empty()
        {
            return Some(end(i + 1));
        }
    }
    None
}

/// The DR manifest of the set `set` (relative to its rule, ending in `/`).
pub fn manifest_url(rule: &Rule, set: &str) -> ObjectUrl {
    rule.dr_url(&format!("{}{MANIFEST_SUFFIX}", set.trim_end_matches('/')))
}

/// What one run did to one set.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct ArtifactReport {
    pub set: String,
    pub rule: String,
    pub files: u64,
    pub source_files: u64,
    pub complete: bool,
    pub manifest_written: bool,
}

/// Brings the manifest of a set's DR copy up to date (the files are copied by the replicator
/// and by `sync`; this lists and records them).
pub async fn publish_manifest(stores: &Stores, rule: &Rule, set: &str) -> Result<ArtifactReport> {
    let (src, dst) = (rule.src_url(set), rule.dr_url(set));
    let rel = |m: &ObjectMeta, root: &ObjectUrl| m.key[root.key.len()..].to_string();
    let at_source: BTreeMap<String, ObjectMeta> = stores
        .list(&src)
        .await?
        .into_iter()
        .map(|m| (rel(&m, &src), m))
        .filter(|(k, _)| rule.selects(&format!("{set}{k}")))
        .collect();
    let in_dr: BTreeMap<String, ObjectMeta> = stores
        .list(&dst)
        .await?
        .into_iter()
        .map(|m| (rel(&m, &dst), m))
        .collect();
    let mut m = Manifest {
        source: src.to_string(),
        source_files: at_source.len() as u64,
        ..Manifest::default()
    };
    for (k, s) in &at_source {
        match in_dr.get(k) {
            Some(d) if same_object(s, d) => m.files.push(ManifestFile {
                key: k.clone(),
                size: d.size,
                etag: d.etag.clone(),
            }),
            _ => m.missing.push(k.clone()),
        }
    }
    m.complete = !at_source.is_empty() && m.missing.is_empty();
    let url = manifest_url(rule, set);
    let current: Option<Manifest> = match stores.get(&url).await {
        Ok(g) => serde_json::from_slice(&g.body).ok(),
        Err(Error::NotFound { .. }) => None,
        Err(e) => return Err(e),
    };
    let mut report = ArtifactReport {
        set: set.to_string(),
        rule: rule.name.clone(),
        files: m.files.len() as u64,
        source_files: m.source_files,
        complete: m.complete,
        manifest_written: false,
    };
    if current.as_ref() != Some(&m) {
        stores
            .put(
                &url,
                Bytes::from(serde_json::to_vec_pretty(&m).unwrap_or_default()),
                &PutOptions {
                    mode: PutMode::Overwrite,
                    content_type: Some("application/json".into()),
                    metadata: BTreeMap::new(),
                },
            )
            .await?;
        report.manifest_written = true;
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sets_of_runs_and_model_versions() {
        assert_eq!(
            set_of("mlflow/3/0123456789abcdef0123456789abcdef/artifacts/model/MLmodel"),
            Some("mlflow/3/0123456789abcdef0123456789abcdef/artifacts/")
        );
        assert_eq!(
            set_of("3/0123456789abcdef0123456789abcdef/artifacts/x.txt"),
            Some("3/0123456789abcdef0123456789abcdef/artifacts/")
        );
        assert_eq!(
            set_of("metastore/models/5f1a/versions/9c2e/model/MLmodel"),
            Some("metastore/models/5f1a/versions/9c2e/")
        );
        assert_eq!(
            set_of("mlflow/1/models/m-b8ed4f5defa34eb7b77b9f8625ac7f6e/artifacts/artifacts/w.json"),
            Some("mlflow/1/models/m-b8ed4f5defa34eb7b77b9f8625ac7f6e/artifacts/")
        );
        assert_eq!(
            set_of("ws/databricks/mlflow-registry/0f3c9d/models/churn/MLmodel"),
            Some("ws/databricks/mlflow-registry/0f3c9d/models/churn/")
        );
        for not in [
            "mlflow/3/xyz/artifacts/model/MLmodel",
            "3/0123456789abcdef0123456789abcdef/artifacts",
            "models/5f1a/versions/9c2e",
            "mlflow/1/models/m-xyz/artifacts/MLmodel",
            "databricks/mlflow-registry/0f3c9d/models/churn",
            "tables/t/part-0.parquet",
        ] {
            assert_eq!(set_of(not), None, "{not}");
        }
    }
}
