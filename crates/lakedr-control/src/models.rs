//! Where model artifacts are, at the source and in DR.
//!
//! Every model version records where its artifacts are and whether they are complete in DR
//! (`dr_artifacts`): the artifact set at the source is listed and compared, object by object,
//! with its DR copy found through the replication rules ([`ArtifactLocations`]), whose side is
//! read from the data plane's manifest of the set when there is one. A version whose artifacts
//! are not all there, with the source's size and entity tag, says so: an exported registry
//! entry never claims a model that cannot be loaded in DR.

use lakedr::Stores;
use lakedr::config::Rule;
use lakedr::store::{ObjectMeta, ObjectUrl};
use serde_json::{Value, json};

use crate::error::Error as ApiError;

/// How many missing or differing artifact keys a version lists (the count is always whole).
const LISTED: usize = 20;

/// Where model artifacts are found at the source and in DR: the data plane's replication rules
/// (source prefix to DR prefix) and the workspace's DBFS root bucket (`dbfs:/` paths).
#[derive(Clone, Debug, Default)]
pub struct ArtifactLocations {
    stores: Option<Stores>,
    rules: Vec<Rule>,
    dbfs_root: Option<ObjectUrl>,
    /// Whether entity tags can be compared: not when DR objects are written with a KMS key
    /// (their entity tags are not content hashes).
    compare_etags: bool,
}

impl ArtifactLocations {
    /// The data plane's rules map source artifacts to DR (`config`); `dbfs_root` is where
    /// `dbfs:/` lives (`s3://<root bucket>/<region>-prod/<workspace id>/`).
    pub fn new(stores: Stores, config: &lakedr::Config, dbfs_root: Option<ObjectUrl>) -> Self {
        Self {
            stores: Some(stores),
            rules: config.rules.clone(),
            dbfs_root,
            compare_etags: config.copy.etags_are_hashes(),
        }
    }

    /// The storage address of an artifact URI (`s3://`, `s3a://`, `dbfs:/`, a local path).
    fn resolve(&self, uri: &str) -> Result<ObjectUrl, String> {
        if let Some(rest) = uri
            .strip_prefix("s3a://")
            .or_else(|| uri.strip_prefix("s3n://"))
        {
            return ObjectUrl::parse(&format!("s3://{rest}")).map_err(|e| bad_uri(uri, e));
        }
        if let Some(path) = uri.strip_prefix("dbfs:") {
            let root = self.dbfs_root.as_ref().ok_or_else(|| {
                format!("`{uri}` is on DBFS and no DBFS root bucket is configured")
            })?;
            return Ok(root.join(path.trim_start_matches('/')));
        }
        if uri.starts_with("s3://") || uri.starts_with('/') || uri.starts_with("file:") {
            return ObjectUrl::parse(uri.strip_prefix("file://").unwrap_or(uri))
                .map_err(|e| bad_uri(uri, e));
        }
        Err(format!(
            "`{uri}` is not a storage location (resolve it to s3:// or dbfs:/ first)"
        ))
    }

    /// [`check`](Self::check) for a model version: a version still being registered (its
    /// artifacts may still be arriving at the source) is never complete.
    pub async fn check_version(&self, version: &Value, uri: &str) -> Result<Value, ApiError> {
        let mut out = self.check(uri).await?;
        match version["status"].as_str() {
            None | Some("READY") => {}
            Some(other) => {
                out["complete"] = json!(false);
                out["error"] = json!(format!("the version is {other}, not READY"));
            }
        }
        Ok(out)
    }

    /// Compares the artifact set under `uri` at the source with its DR copy. A location that
    /// cannot be checked (no rule covers it, nothing there) is a verdict, `complete: false`
    /// with the reason; storage that fails to answer is an error, so the version keeps its
    /// last verdict instead of flapping.
    pub async fn check(&self, uri: &str) -> Result<Value, ApiError> {
        let mut out = json!({ "source": uri, "complete": false });
        let Some(stores) = &self.stores else {
            out["error"] = json!("no replication rules are configured to find the DR copy");
            return Ok(out);
        };
        let src = match self.resolve(uri) {
            Ok(u) => u,
            Err(e) => {
                out["error"] = json!(e);
                return Ok(out);
            }
        };
        let src = if src.key.is_empty() || src.key.ends_with('/') {
            src
        } else {
            src.with_key(format!("{}/", src.key))
        };
        // The rule the replicator uses: the longest source prefix that covers the location.
        let Some((rule, rel)) = self
            .rules
            .iter()
            .filter_map(|r| r.relative(&src).map(|rel| (r, rel)))
            .max_by_key(|(r, _)| r.source.key.len())
        else {
            out["error"] = json!(format!("no replication rule covers {src}"));
            return Ok(out);
        };
        let dr = rule.dr_url(rel);
        out["dr"] = json!(dr.to_string());
        let listing =
            |u: ObjectUrl| async move { stores.list(&u).await.map_err(ApiError::Storage) };
        let source_objs = listing(src.clone()).await?;
        // The data plane keeps a manifest of each artifact set's DR copy, written after the
        // files it lists: DR's side is read from it (one read instead of a listing); a set
        // without one is listed. The source is always listed: a manifest written while the
        // set was still arriving does not know its later files.
        let mut dr_objs = None;
        if let Some(set) = lakedr::artifacts::set_of(&format!("{rel}x")) {
            let url = lakedr::artifacts::manifest_url(rule, set);
            match stores.get(&url).await {
                Ok(g) => {
                    let m: lakedr::artifacts::Manifest =
                        serde_json::from_slice(&g.body).map_err(|e| ApiError::Corrupt {
                            key: url.to_string(),
                            detail: format!("the artifact manifest does not parse: {e}"),
                        })?;
                    let set_dr = rule.dr_url(set);
                    dr_objs = Some(
                        m.files
                            .into_iter()
                            .map(|f| ObjectMeta {
                                key: format!("{}{}", set_dr.key, f.key),
                                size: f.size,
                                etag: f.etag,
                                ..ObjectMeta::default()
                            })
                            .collect::<Vec<_>>(),
                    );
                    out["by"] = json!("manifest");
                    out["manifest"] = json!(url.to_string());
                }
                Err(lakedr::Error::NotFound { .. }) => {}
                Err(e) => return Err(ApiError::Storage(e)),
            }
        }
        let dr_objs = match dr_objs {
            Some(d) => d,
            None => {
                out["by"] = json!("listing");
                listing(dr.clone()).await?
            }
        };
        let c = compare(
            &src,
            &source_objs,
            &dr,
            &dr_objs,
            self.compare_etags,
            |key| {
                let at = src.with_key(key);
                rule.relative(&at).is_some_and(|rel| rule.selects(rel))
            },
        );
        out["files"] = json!(c.files);
        out["bytes"] = json!(c.bytes);
        out["missing_count"] = json!(c.missing.len());
        out["missing"] = json!(c.missing.iter().take(LISTED).collect::<Vec<_>>());
        out["different_count"] = json!(c.different.len());
        out["different"] = json!(c.different.iter().take(LISTED).collect::<Vec<_>>());
        out["excluded_by_rule"] = json!(c.excluded);
        if c.files == 0 {
            out["error"] = json!(format!("no artifacts at {src}"));
        } else {
            out["complete"] = json!(c.missing.is_empty() && c.different.is_empty());
        }
        Ok(out)
    }
}

#[derive(Debug, Default, PartialEq)]
struct Comparison {
    files: u64,
    bytes: u64,
    missing: Vec<String>,
    different: Vec<String>,
    excluded: u64,
}

/// Source objects (under `src`) against DR objects (under `dr`), by relative key: each must be
/// in DR with the same size and, where both entity tags are content hashes (single-part
/// uploads and copies) and `etags` allows it, the same entity tag. `selected` says which relative keys the rule
/// replicates (by source key): one it excludes is counted, as it never reaches DR.
fn compare(
    src: &ObjectUrl,
    source: &[ObjectMeta],
    dr: &ObjectUrl,
    copies: &[ObjectMeta],
    etags: bool,
    selected: impl Fn(&str) -> bool,
) -> Comparison {
    let in_dr: std::collections::HashMap<&str, &ObjectMeta> = copies
        .iter()
        .filter_map(|o| o.key.strip_prefix(dr.key.as_str()).map(|rel| (rel, o)))
        .collect();
    let mut c = Comparison::default();
    let base = src.key.len();
    for o in source {
        let rel = o.key.get(base..).unwrap_or_default();
        c.files += 1;
        c.bytes += o.size;
        if !selected(&o.key) {
            c.excluded += 1;
        }
        match in_dr.get(rel) {
            None => c.missing.push(rel.to_string()),
            Some(d) => {
                let etag_differs = etags
                    && matches!(
                        (content_hash(&o.etag), content_hash(&d.etag)),
                        (Some(a), Some(b)) if a != b
                    );
                if d.size != o.size || etag_differs {
                    c.different.push(rel.to_string());
                }
            }
        }
    }
    c
}

/// An entity tag that is the MD5 of the content (not a multipart upload's `<hash>-<parts>`).
fn content_hash(etag: &Option<String>) -> Option<&str> {
    etag.as_deref().filter(|e| !e.contains('-'))
}

/// An MLflow `filter` string literal.
pub fn quoted(s: &str) -> String {
    format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
}

/// Why an artifact URI is not a storage address, said of the URI as the registry gave it.
fn bad_uri(uri: &str, e: lakedr::Error) -> String {
    match e {
        lakedr::Error::Config { message, .. } => format!("artifact URI `{uri}`: {message}"),
        other => format!("artifact URI `{uri}`: {other}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(key: &str, size: u64, etag: &str) -> ObjectMeta {
        ObjectMeta {
            key: key.into(),
            size,
            etag: Some(etag.into()),
            ..Default::default()
        }
    }

    #[test]
    fn compares_by_relative_key_size_and_content_hash() {
        let src = ObjectUrl::s3("primary", "mlflow/1/r/artifacts/model/");
        let dr = ObjectUrl::s3("dr", "primary/mlflow/1/r/artifacts/model/");
        let source = vec![
            meta("mlflow/1/r/artifacts/model/MLmodel", 10, "a"),
            meta("mlflow/1/r/artifacts/model/model.pkl", 100, "b"),
            meta("mlflow/1/r/artifacts/model/big.bin", 9000, "c-3"),
            meta("mlflow/1/r/artifacts/model/conda.yaml", 5, "d"),
        ];
        let copies = vec![
            meta("primary/mlflow/1/r/artifacts/model/MLmodel", 10, "a"),
            meta("primary/mlflow/1/r/artifacts/model/model.pkl", 100, "x"),
            // A multipart copy: its entity tag is no content hash, the size decides.
            meta("primary/mlflow/1/r/artifacts/model/big.bin", 9000, "e-2"),
        ];
        let c = compare(&src, &source, &dr, &copies, true, |_| true);
        let kms = compare(&src, &source, &dr, &copies, false, |_| true);
        assert_eq!(
            kms.different,
            Vec::<String>::new(),
            "with KMS only sizes count"
        );
        assert_eq!(c.files, 4);
        assert_eq!(c.bytes, 9115);
        assert_eq!(c.missing, vec!["conda.yaml"]);
        assert_eq!(c.different, vec!["model.pkl"]);
    }

    #[test]
    fn resolves_storage_uris() {
        let a = ArtifactLocations {
            dbfs_root: Some(ObjectUrl::s3("root", "oregon-prod/123/")),
            ..Default::default()
        };
        assert_eq!(
            a.resolve("dbfs:/databricks/mlflow-registry/9/models/m")
                .unwrap(),
            ObjectUrl::s3(
                "root",
                "oregon-prod/123/databricks/mlflow-registry/9/models/m"
            )
        );
        assert_eq!(
            a.resolve("s3a://b/k/model").unwrap(),
            ObjectUrl::s3("b", "k/model")
        );
        let e = a.resolve("runs:/abc/model").unwrap_err();
        assert!(e.contains("runs:/abc/model"), "{e}");
        // Said of the URI as given, not as a configuration field.
        let e = a.resolve("s3a:///x").unwrap_err();
        assert!(
            e.starts_with("artifact URI `s3a:///x`: ") && !e.contains("configuration"),
            "{e}"
        );
        let none = ArtifactLocations::default();
        assert!(none.resolve("dbfs:/x").unwrap_err().contains("DBFS root"));
    }

    #[test]
    fn filter_literals_are_quoted() {
        assert_eq!(quoted("churn"), "'churn'");
        assert_eq!(quoted("o'neil"), "'o\\'neil'");
    }
}
