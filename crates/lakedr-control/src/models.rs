//! Machine learning objects: the workspace model registry (the MLflow registry REST API, which
//! Databricks serves as is), experiments, Unity Catalog registered models, and feature tables.
//!
//! Every model version records where its artifacts are and whether they are complete in DR
//! (`dr_artifacts`): the artifact set at the source is listed and compared, object by object,
//! with its DR copy found through the replication rules ([`ArtifactLocations`]). A version whose
//! artifacts are not all there, with the source's size and entity tag, says so: an exported
//! registry entry never claims a model that cannot be loaded in DR.

use futures::{StreamExt, TryStreamExt};
use lakedr::Stores;
use lakedr::config::Rule;
use lakedr::store::{ObjectMeta, ObjectUrl};
use serde_json::{Value, json};

use crate::client::{ApiError, DatabricksClient};
use crate::kinds::{Obj, Walk, as_id, each, enc, grants, keyed, list_paged, permissions};

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
            compare_etags: config.copy.kms_key_id.is_none(),
        }
    }

    /// The storage address of an artifact URI (`s3://`, `s3a://`, `dbfs:/`, a local path).
    fn resolve(&self, uri: &str) -> Result<ObjectUrl, String> {
        if let Some(rest) = uri
            .strip_prefix("s3a://")
            .or_else(|| uri.strip_prefix("s3n://"))
        {
            return ObjectUrl::parse(&format!("s3://{rest}")).map_err(|e| e.to_string());
        }
        if let Some(path) = uri.strip_prefix("dbfs:") {
            let root = self.dbfs_root.as_ref().ok_or_else(|| {
                format!("`{uri}` is on DBFS and no DBFS root bucket is configured")
            })?;
            return Ok(root.join(path.trim_start_matches('/')));
        }
        if uri.starts_with("s3://") || uri.starts_with('/') || uri.starts_with("file:") {
            return ObjectUrl::parse(uri.strip_prefix("file://").unwrap_or(uri))
                .map_err(|e| e.to_string());
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
        let listing = |u: ObjectUrl| async move {
            stores
                .list(&u)
                .await
                .map_err(|e| ApiError::Storage(format!("listing artifacts at {u}: {e}")))
        };
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
                        serde_json::from_slice(&g.body).map_err(|e| {
                            ApiError::Storage(format!(
                                "the artifact manifest {url} does not parse: {e}"
                            ))
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
                Err(e) => {
                    return Err(ApiError::Storage(format!(
                        "reading the artifact manifest {url}: {e}"
                    )));
                }
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
fn quoted(s: &str) -> String {
    format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
}

/// Versions read a few at a time (each is an API call and two listings), in order.
async fn versions_of<F>(reads: impl Iterator<Item = F>) -> Result<Vec<Obj>, ApiError>
where
    F: std::future::Future<Output = Result<Option<Obj>, ApiError>>,
{
    let got: Vec<Option<Obj>> = futures::stream::iter(reads)
        .buffered(4)
        .try_collect()
        .await?;
    Ok(got.into_iter().flatten().collect())
}

/// A registered model of the workspace registry (its versions are objects of their own).
fn model_body(mut m: Value) -> Value {
    if let Value::Object(o) = &mut m {
        o.remove("latest_versions");
    }
    m
}

/// A registered model with its permissions and every version (artifacts checked in DR).
async fn registered_model(
    c: &DatabricksClient,
    arts: &ArtifactLocations,
    name: String,
    body: Value,
) -> Result<Vec<Obj>, ApiError> {
    let mut body = model_body(body);
    // The workspace id of the model, which its permissions are addressed by.
    let dbx = c
        .get(
            "/api/2.0/mlflow/databricks/registered-models/get",
            &[("name", &name)],
        )
        .await?;
    let id = as_id(&dbx["registered_model_databricks"]["id"]).unwrap_or_default();
    body["id"] = json!(id);
    let mut out = Vec::new();
    if !id.is_empty() {
        let mut acl = permissions(c, "registered-models", &id).await?;
        acl.id = format!("registered-models/{name}");
        out.push(acl);
    }
    let versions = list_paged(
        c,
        "/api/2.0/mlflow/model-versions/search",
        &[
            ("filter", &format!("name={}", quoted(&name))),
            ("max_results", "1000"),
        ],
        "model_versions",
    )
    .await?;
    let read = versions.into_iter().filter_map(|v| {
        let version = as_id(&v["version"])?;
        let name = &name;
        Some(async move {
            let uri = c
                .get(
                    "/api/2.0/mlflow/model-versions/get-download-uri",
                    &[("name", name), ("version", &version)],
                )
                .await;
            let uri = match uri {
                Ok(u) => u,
                // Deleted since the search: gone with it, not the model.
                Err(e) if e.is_not_found() => return Ok(None),
                Err(e) => return Err(e),
            };
            let artifact_uri = uri["artifact_uri"]
                .as_str()
                .or(v["source"].as_str())
                .unwrap_or_default()
                .to_string();
            let mut v = v;
            v["artifact_uri"] = json!(artifact_uri);
            v["dr_artifacts"] = arts.check_version(&v, &artifact_uri).await?;
            Ok(Some(Obj {
                kind: "model_versions",
                id: format!("{name}/{version}"),
                body: v,
            }))
        })
    });
    out.extend(versions_of(read).await?);
    out.push(Obj {
        kind: "registered_models",
        id: name,
        body,
    });
    Ok(out)
}

/// A Unity Catalog registered model with its grants and every version.
async fn uc_model(
    c: &DatabricksClient,
    arts: &ArtifactLocations,
    full: String,
    body: Value,
) -> Result<Vec<Obj>, ApiError> {
    let mut out = vec![grants(c, "function", &full).await?];
    let versions = list_paged(
        c,
        &format!("/api/2.1/unity-catalog/models/{}/versions", enc(&full)),
        &[("max_results", "1000")],
        "model_versions",
    )
    .await?;
    let full_name = &full;
    let read = versions.into_iter().filter_map(|mut v| {
        let version = as_id(&v["version"])?;
        Some(async move {
            let loc = v["storage_location"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            v["dr_artifacts"] = arts.check_version(&v, &loc).await?;
            Ok(Some(Obj {
                kind: "uc_model_versions",
                id: format!("{full_name}/{version}"),
                body: v,
            }))
        })
    });
    out.extend(versions_of(read).await?);
    out.push(Obj {
        kind: "uc_models",
        id: full,
        body,
    });
    Ok(out)
}

/// An experiment with its permissions (a notebook's experiment has its notebook's). Its
/// `last_update_time` moves with activity, not configuration: it is not kept.
async fn experiment(
    c: &DatabricksClient,
    id: String,
    mut body: Value,
) -> Result<Vec<Obj>, ApiError> {
    if let Value::Object(o) = &mut body {
        o.remove("last_update_time");
    }
    let notebook = body["tags"].as_array().into_iter().flatten().any(|t| {
        t["key"] == "mlflow.experimentType"
            && (t["value"] == "NOTEBOOK" || t["value"] == "REPO_NOTEBOOK")
    });
    let acl = if notebook {
        None
    } else {
        Some(permissions(c, "experiments", &id).await?)
    };
    let exp = Obj {
        kind: "experiments",
        id,
        body,
    };
    Ok(std::iter::once(exp).chain(acl).collect())
}

/// A feature table's whole definition (keys, features, producers).
async fn feature_table(c: &DatabricksClient, name: &str) -> Result<Obj, ApiError> {
    let got = c
        .get(
            "/api/2.0/feature-store/feature-tables/get",
            &[("name", name)],
        )
        .await?;
    Ok(Obj {
        kind: "feature_tables",
        id: name.to_string(),
        body: got["feature_table"].clone(),
    })
}

/// Walks the machine learning objects into `walk`.
pub(crate) async fn walk_models(
    c: &DatabricksClient,
    arts: &ArtifactLocations,
    n: usize,
    walk: &mut Walk,
) {
    if let Some(items) = walk.listed(
        "registered_models",
        list_paged(
            c,
            "/api/2.0/mlflow/registered-models/search",
            &[("max_results", "1000")],
            "registered_models",
        )
        .await,
    ) {
        let items: Vec<(String, Value)> =
            items.into_iter().filter_map(|m| keyed(m, "name")).collect();
        each(walk, "registered_models", items, n, |name, body| {
            registered_model(c, arts, name, body)
        })
        .await;
        walk.complete.push("model_versions");
    }

    if let Some(items) = walk.listed(
        "experiments",
        list_paged(
            c,
            "/api/2.0/mlflow/experiments/search",
            &[("max_results", "1000")],
            "experiments",
        )
        .await,
    ) {
        let items: Vec<(String, Value)> = items
            .into_iter()
            .filter_map(|e| as_id(&e["experiment_id"]).map(|id| (id, e)))
            .collect();
        each(walk, "experiments", items, n, |id, body| {
            experiment(c, id, body)
        })
        .await;
    }

    if let Some(items) = walk.listed(
        "uc_models",
        list_paged(
            c,
            "/api/2.1/unity-catalog/models",
            &[("max_results", "1000")],
            "registered_models",
        )
        .await,
    ) {
        let items: Vec<(String, Value)> = items
            .into_iter()
            .filter_map(|m| keyed(m, "full_name"))
            .collect();
        each(walk, "uc_models", items, n, |full, body| {
            uc_model(c, arts, full, body)
        })
        .await;
        walk.complete.push("uc_model_versions");
    }

    if let Some(items) = walk.listed(
        "feature_tables",
        list_paged(
            c,
            "/api/2.0/feature-store/feature-tables/search",
            &[("max_results", "200")],
            "feature_tables",
        )
        .await,
    ) {
        let items: Vec<(String, Value)> =
            items.into_iter().filter_map(|t| keyed(t, "name")).collect();
        each(walk, "feature_tables", items, n, |name, _| async move {
            Ok(vec![feature_table(c, &name).await?])
        })
        .await;
    }
}

/// The kinds [`read_one`] reads here.
pub const KINDS: &[&str] = &[
    "registered_models",
    "uc_models",
    "experiments",
    "feature_tables",
];

/// Reads one object of [`KINDS`] after a change event, with its permissions or grants and
/// every version; `Err` with a not-found error when it no longer exists.
pub(crate) async fn read_one(
    c: &DatabricksClient,
    arts: &ArtifactLocations,
    kind: &str,
    id: &str,
) -> Result<Vec<Obj>, ApiError> {
    match kind {
        "registered_models" => {
            let got = c
                .get("/api/2.0/mlflow/registered-models/get", &[("name", id)])
                .await?;
            registered_model(c, arts, id.to_string(), got["registered_model"].clone()).await
        }
        "uc_models" => {
            let body = c
                .get(&format!("/api/2.1/unity-catalog/models/{}", enc(id)), &[])
                .await?;
            uc_model(c, arts, id.to_string(), body).await
        }
        "experiments" => {
            let got = c
                .get("/api/2.0/mlflow/experiments/get", &[("experiment_id", id)])
                .await?;
            // A deleted experiment stays readable (in the trash) until it is purged.
            if got["experiment"]["lifecycle_stage"] == "deleted" {
                return Err(ApiError::Status {
                    endpoint: format!("/api/2.0/mlflow/experiments/get?experiment_id={id}"),
                    status: 404,
                    code: "RESOURCE_DOES_NOT_EXIST".into(),
                    message: "the experiment is deleted".into(),
                });
            }
            experiment(c, id.to_string(), got["experiment"].clone()).await
        }
        _ => Ok(vec![feature_table(c, id).await?]),
    }
}

/// What hangs on a model-registry object: exact manifest keys, and key prefixes (its versions).
pub fn dependents(kind: &str, id: &str) -> (Vec<String>, Vec<String>) {
    match kind {
        "registered_models" => (
            vec![format!("permissions/registered-models/{id}")],
            vec![format!("model_versions/{id}/")],
        ),
        "uc_models" => (
            vec![format!("grants/function/{id}")],
            vec![format!("uc_model_versions/{id}/")],
        ),
        "experiments" => (vec![format!("permissions/experiments/{id}")], Vec::new()),
        _ => (Vec::new(), Vec::new()),
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
        let none = ArtifactLocations::default();
        assert!(none.resolve("dbfs:/x").unwrap_err().contains("DBFS root"));
    }

    #[test]
    fn filter_literals_are_quoted() {
        assert_eq!(quoted("churn"), "'churn'");
        assert_eq!(quoted("o'neil"), "'o\\'neil'");
    }
}
