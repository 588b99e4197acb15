//! What is exported, and how each API is walked: its own pagination, the per-object reads
//! and the permissions or grants of each object.
//!
//! Every object becomes an [`Obj`]: a kind, an id unique within the kind, and the JSON body
//! as the API returned it, minus fields that describe run state rather than configuration
//! (a cluster's state or its driver's address), so that a restart does not count as a change.
//! Permissions and grants are kinds of their own (`permissions`, `grants`) whose id holds the
//! object's type and id.

use futures::{StreamExt, TryStreamExt};
use serde_json::{Map, Value, json};

use crate::client::{ApiError, DatabricksClient};
use crate::models::{self, ArtifactLocations};

/// One exported object.
#[derive(Clone, Debug, PartialEq)]
pub struct Obj {
    pub kind: &'static str,
    pub id: String,
    pub body: Value,
}

/// An object ready to store: its canonical bytes, their SHA-256 and its Terraform JSON. The
/// walk keeps objects in this form, a fraction of the memory of parsed JSON values.
#[derive(Clone, Debug, PartialEq)]
pub struct Prepared {
    pub kind: &'static str,
    pub id: String,
    pub bytes: Vec<u8>,
    pub sha256: String,
    pub terraform: Option<Vec<u8>>,
}

impl Prepared {
    pub fn new(o: &Obj) -> Self {
        use sha2::Digest;
        let bytes = canonical(&o.body);
        let sha256 = sha2::Sha256::digest(&bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        Self {
            kind: o.kind,
            id: o.id.clone(),
            terraform: crate::terraform::document(o).map(|d| canonical(&d)),
            bytes,
            sha256,
        }
    }

    /// `kind/id`, its key in a manifest.
    pub fn key(&self) -> String {
        format!("{}/{}", self.kind, self.id)
    }
}

/// A failure to read one object, or a whole kind.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize, PartialEq)]
pub struct ExportError {
    pub kind: String,
    /// The object, or empty when the listing of the kind itself failed.
    pub id: String,
    pub error: String,
}

/// The result of walking the workspace: objects, and what could not be read. `complete`
/// lists the kinds whose listing succeeded: only those can reveal deletions.
#[derive(Debug, Default)]
pub struct Walk {
    pub objects: Vec<Prepared>,
    pub errors: Vec<ExportError>,
    pub complete: Vec<&'static str>,
}

impl Walk {
    /// A kind's listing: its items, the kind marked complete; or the failure recorded.
    pub(crate) fn listed<T>(&mut self, kind: &'static str, r: Result<T, ApiError>) -> Option<T> {
        match r {
            Ok(v) => {
                self.complete.push(kind);
                Some(v)
            }
            Err(e) => {
                self.fail(kind, "", &e);
                None
            }
        }
    }

    /// Keeps an object (in its stored form).
    pub(crate) fn push(&mut self, o: Obj) {
        self.objects.push(Prepared::new(&o));
    }

    pub(crate) fn fail(&mut self, kind: &str, id: &str, e: &ApiError) {
        self.errors.push(ExportError {
            kind: kind.into(),
            id: id.into(),
            error: e.to_string(),
        });
    }
}

/// Run state, not configuration: dropped before comparing and storing.
const VOLATILE: &[&str] = &[
    "state",
    "state_message",
    "start_time",
    "terminated_time",
    "last_state_loss_time",
    "last_restarted_time",
    "last_activity_time",
    "termination_reason",
    "driver",
    "executors",
    "spark_context_id",
    "jdbc_port",
    "cluster_memory_mb",
    "cluster_cores",
    "cluster_log_status",
    "num_clusters",
    "num_active_sessions",
    "health",
    "stats",
    "status",
    "next_page_token",
    "has_more",
];

fn strip_volatile(mut v: Value) -> Value {
    if let Value::Object(m) = &mut v {
        for k in VOLATILE {
            m.remove(*k);
        }
    }
    v
}

/// `(v[field] as a string, v)`, for values that have it.
pub(crate) fn keyed(v: Value, field: &str) -> Option<(String, Value)> {
    let k = v[field].as_str()?.to_string();
    Some((k, v))
}

pub(crate) fn as_id(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Pages of a token-paginated list (jobs, clusters, Unity Catalog, repos): follows
/// `next_page_token` until there is none (or `has_more` is false).
pub async fn list_paged(
    c: &DatabricksClient,
    path: &str,
    query: &[(&str, &str)],
    items: &str,
) -> Result<Vec<Value>, ApiError> {
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut q: Vec<(&str, &str)> = query.to_vec();
        if let Some(t) = &token {
            q.push(("page_token", t));
        }
        let page = c.get(path, &q).await?;
        if let Some(a) = page[items].as_array() {
            out.extend(a.iter().cloned());
        }
        let next = page["next_page_token"].as_str().filter(|t| !t.is_empty());
        match next {
            Some(t) if page["has_more"].as_bool() != Some(false) => token = Some(t.to_string()),
            _ => return Ok(out),
        }
    }
}

/// A SCIM list, by `startIndex` and `count`, until `totalResults` are read.
pub async fn list_scim(c: &DatabricksClient, path: &str) -> Result<Vec<Value>, ApiError> {
    let mut out = Vec::new();
    loop {
        let start = (out.len() + 1).to_string();
        let page = c
            .get(path, &[("startIndex", &start), ("count", "100")])
            .await?;
        let got = page["Resources"].as_array().cloned().unwrap_or_default();
        let total = page["totalResults"].as_u64().unwrap_or(0) as usize;
        let empty = got.is_empty();
        out.extend(got);
        if empty || out.len() >= total {
            return Ok(out);
        }
    }
}

/// One job with every page of its tasks, job clusters, parameters and environments
/// (API 2.2 pages arrays of more than 100 elements).
pub async fn get_job(c: &DatabricksClient, id: &str) -> Result<Value, ApiError> {
    let mut job = c.get("/api/2.2/jobs/get", &[("job_id", id)]).await?;
    let mut token = job["next_page_token"].as_str().map(str::to_owned);
    while let Some(t) = token.take().filter(|t| !t.is_empty()) {
        let page = c
            .get("/api/2.2/jobs/get", &[("job_id", id), ("page_token", &t)])
            .await?;
        for key in ["tasks", "job_clusters", "parameters", "environments"] {
            if let Some(more) = page["settings"][key].as_array() {
                let into = job["settings"][key].as_array_mut();
                match into {
                    Some(a) => a.extend(more.iter().cloned()),
                    None => job["settings"][key] = Value::Array(more.clone()),
                }
            }
        }
        token = page["next_page_token"].as_str().map(str::to_owned);
    }
    Ok(job_shape(job))
}

/// The fields a job has both in the list (`expand_tasks`) and in a get, so a job exported by
/// a full run and by a change event has the same bytes.
fn job_shape(job: Value) -> Value {
    let mut out = Map::new();
    for k in ["job_id", "created_time", "creator_user_name", "settings"] {
        if let Some(v) = job.get(k) {
            out.insert(k.to_string(), v.clone());
        }
    }
    Value::Object(out)
}

/// Object permissions: `permissions/<object type>/<id>`.
pub(crate) async fn permissions(
    c: &DatabricksClient,
    api_kind: &str,
    id: &str,
) -> Result<Obj, ApiError> {
    let body = c
        .get(&format!("/api/2.0/permissions/{api_kind}/{id}"), &[])
        .await?;
    Ok(Obj {
        kind: "permissions",
        id: format!("{api_kind}/{id}"),
        body,
    })
}

/// Unity Catalog grants: `grants/<securable type>/<full name>`.
pub(crate) async fn grants(
    c: &DatabricksClient,
    securable: &str,
    full_name: &str,
) -> Result<Obj, ApiError> {
    let name = percent_encoding::utf8_percent_encode(full_name, percent_encoding::NON_ALPHANUMERIC)
        .to_string();
    let body = c
        .get(
            &format!("/api/2.1/unity-catalog/permissions/{securable}/{name}"),
            &[],
        )
        .await?;
    Ok(Obj {
        kind: "grants",
        id: format!("{securable}/{full_name}"),
        body,
    })
}

/// An object and its object permissions (`/api/2.0/permissions/<api_kind>/<id>`).
async fn with_permissions(
    c: &DatabricksClient,
    kind: &'static str,
    id: String,
    body: Value,
    api_kind: &str,
) -> Result<Vec<Obj>, ApiError> {
    let acl = permissions(c, api_kind, &id).await?;
    Ok(vec![Obj { kind, id, body }, acl])
}

/// An object and its Unity Catalog grants.
async fn with_grants(
    c: &DatabricksClient,
    kind: &'static str,
    id: String,
    body: Value,
    securable: &str,
) -> Result<Vec<Obj>, ApiError> {
    let g = grants(c, securable, &id).await?;
    Ok(vec![Obj { kind, id, body }, g])
}

/// Reads many objects with bounded concurrency; failures are recorded, not fatal.
pub(crate) async fn each<T, F, Fut>(
    walk: &mut Walk,
    kind: &'static str,
    items: Vec<(String, T)>,
    n: usize,
    f: F,
) where
    F: Fn(String, T) -> Fut,
    Fut: std::future::Future<Output = Result<Vec<Obj>, ApiError>>,
{
    let results: Vec<(String, Result<Vec<Obj>, ApiError>)> =
        futures::stream::iter(items.into_iter().map(|(id, t)| {
            let fut = f(id.clone(), t);
            async move { (id, fut.await) }
        }))
        .buffer_unordered(n.max(1))
        .collect()
        .await;
    for (id, r) in results {
        match r {
            Ok(objs) => objs.into_iter().for_each(|o| walk.push(o)),
            Err(e) if e.is_not_found() => {} // deleted since it was listed
            Err(e) => walk.fail(kind, &id, &e),
        }
    }
}

/// Walks the whole workspace; model versions have their artifacts checked in DR through `arts`.
pub async fn walk_all(c: &DatabricksClient, arts: &ArtifactLocations, concurrency: usize) -> Walk {
    let mut walk = Walk::default();
    let n = concurrency;

    // Workspace settings.
    if let Some(conf) = walk.listed(
        "workspace_conf",
        c.get(
            "/api/2.0/workspace-conf",
            &[("keys", &WORKSPACE_CONF_KEYS.join(","))],
        )
        .await,
    ) {
        walk.push(Obj {
            kind: "workspace_conf",
            id: "workspace".into(),
            body: conf,
        });
    }

    // Identities: users, groups and their members, service principals.
    for (kind, path) in [
        ("users", "/api/2.0/preview/scim/v2/Users"),
        ("groups", "/api/2.0/preview/scim/v2/Groups"),
        (
            "service_principals",
            "/api/2.0/preview/scim/v2/ServicePrincipals",
        ),
    ] {
        if let Some(items) = walk.listed(kind, list_scim(c, path).await) {
            for v in items {
                let Some(id) = as_id(&v["id"]) else { continue };
                if kind == "groups" {
                    for m in v["members"].as_array().into_iter().flatten() {
                        if let Some(mid) = as_id(&m["value"]) {
                            walk.push(Obj {
                                    kind: "group_members",
                                    id: format!("{id}/{mid}"),
                                    body: json!({"group_id": id, "group": v["displayName"],
                                                 "member_id": mid, "member": m["display"], "ref": m["$ref"]}),
                                });
                        }
                    }
                }
                walk.push(Obj { kind, id, body: v });
            }
            if kind == "groups" {
                walk.complete.push("group_members");
            }
        }
    }

    // Jobs: the list with their settings (100 jobs a page); only a job whose tasks or job
    // clusters were cut at 100 (`has_more`) is read again, page by page. Then permissions.
    if let Some(items) = walk.listed(
        "jobs",
        list_paged(
            c,
            "/api/2.2/jobs/list",
            &[("limit", "100"), ("expand_tasks", "true")],
            "jobs",
        )
        .await,
    ) {
        let jobs: Vec<(String, Value)> = items
            .into_iter()
            .filter_map(|j| as_id(&j["job_id"]).map(|id| (id, j)))
            .collect();
        each(&mut walk, "jobs", jobs, n, |id, listed| async move {
            let job = if listed["has_more"] == true {
                get_job(c, &id).await?
            } else {
                job_shape(listed)
            };
            with_permissions(c, "jobs", id, job, "jobs").await
        })
        .await;
    }

    // Interactive clusters (job clusters come and go with their runs), read whole.
    if let Some(items) = walk.listed(
        "clusters",
        list_paged(
            c,
            "/api/2.1/clusters/list",
            &[("page_size", "100")],
            "clusters",
        )
        .await,
    ) {
        let ids: Vec<(String, ())> = items
            .iter()
            .filter(|v| {
                !matches!(
                    v["cluster_source"].as_str(),
                    Some("JOB" | "PIPELINE" | "PIPELINE_MAINTENANCE" | "MODELS")
                )
            })
            .filter_map(|v| as_id(&v["cluster_id"]))
            .map(|id| (id, ()))
            .collect();
        each(&mut walk, "clusters", ids, n, |id, ()| async move {
            let body = c
                .get("/api/2.1/clusters/get", &[("cluster_id", &id)])
                .await?;
            with_permissions(c, "clusters", id, strip_volatile(body), "clusters").await
        })
        .await;
    }

    // Cluster policies, instance pools, SQL warehouses: one list each, then permissions.
    for (kind, path, items_key, id_key, acl_kind) in [
        (
            "cluster_policies",
            "/api/2.0/policies/clusters/list",
            "policies",
            "policy_id",
            "cluster-policies",
        ),
        (
            "instance_pools",
            "/api/2.0/instance-pools/list",
            "instance_pools",
            "instance_pool_id",
            "instance-pools",
        ),
        (
            "sql_warehouses",
            "/api/2.0/sql/warehouses",
            "warehouses",
            "id",
            "sql/warehouses",
        ),
    ] {
        if let Some(page) = walk.listed(kind, c.get(path, &[]).await) {
            // Older workspaces answer the warehouses list under its former name.
            let list = page[items_key]
                .as_array()
                .or(page["endpoints"].as_array())
                .cloned()
                .unwrap_or_default();
            let items: Vec<(String, Value)> = list
                .into_iter()
                .filter_map(|v| as_id(&v[id_key]).map(|id| (id, v)))
                .collect();
            each(&mut walk, kind, items, n, |id, body| {
                with_permissions(c, kind, id, strip_volatile(body), acl_kind)
            })
            .await;
        }
    }

    // Notebooks, directories and files, from the root down, with their sources.
    if let Some(items) = walk.listed("notebooks", walk_workspace(c, n).await) {
        let items: Vec<(String, Value)> =
            items.into_iter().filter_map(|v| keyed(v, "path")).collect();
        each(&mut walk, "notebooks", items, n, |path, mut v| async move {
            let oid = as_id(&v["object_id"]).unwrap_or_default();
            let (kind, acl_kind) = match v["object_type"].as_str() {
                Some("DIRECTORY") => ("directories", "directories"),
                Some("NOTEBOOK") => ("notebooks", "notebooks"),
                _ => ("workspace_files", "files"),
            };
            if kind != "directories" {
                let src = c
                    .get(
                        "/api/2.0/workspace/export",
                        &[("path", &path), ("format", "SOURCE")],
                    )
                    .await?;
                v["content"] = src["content"].clone();
            }
            let mut out = vec![Obj {
                kind,
                id: path,
                body: v,
            }];
            if !oid.is_empty() {
                // The path goes with the access list: a new workspace gives the object a
                // new id, and its permissions are restored by path.
                let mut acl = permissions(c, acl_kind, &oid).await?;
                acl.body["path"] = json!(out[0].id);
                out.push(acl);
            }
            Ok(out)
        })
        .await;
        walk.complete.extend(["directories", "workspace_files"]);
    }

    if let Some(items) = walk.listed("repos", list_paged(c, "/api/2.0/repos", &[], "repos").await) {
        let items: Vec<(String, Value)> = items
            .into_iter()
            .filter_map(|v| as_id(&v["id"]).map(|id| (id, v)))
            .collect();
        each(&mut walk, "repos", items, n, |id, body| {
            with_permissions(c, "repos", id, body, "repos")
        })
        .await;
    }

    walk_unity_catalog(c, n, &mut walk).await;
    models::walk_models(c, arts, n, &mut walk).await;

    // Secret scopes and who may read them. Never the secrets: no call here reads a value.
    if let Some(page) = walk.listed(
        "secret_scopes",
        c.get("/api/2.0/secrets/scopes/list", &[]).await,
    ) {
        let items: Vec<(String, Value)> = page["scopes"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .filter_map(|v| keyed(v, "name"))
            .collect();
        each(
            &mut walk,
            "secret_scopes",
            items,
            n,
            |scope, body| async move {
                let acls = c
                    .get("/api/2.0/secrets/acls/list", &[("scope", &scope)])
                    .await?;
                Ok(vec![
                    Obj {
                        kind: "secret_scopes",
                        id: scope.clone(),
                        body,
                    },
                    Obj {
                        kind: "secret_acls",
                        id: scope,
                        body: acls,
                    },
                ])
            },
        )
        .await;
        walk.complete.push("secret_acls");
    }
    // A kind whose listing failed is not complete (the `complete` list only names kinds
    // listed); an object that could not be read is kept from becoming a tombstone by
    // `export_full`, which sees its error.
    // Permissions and grants were read with their objects: complete when all of those were.
    if [
        "jobs",
        "clusters",
        "cluster_policies",
        "instance_pools",
        "sql_warehouses",
        "notebooks",
        "repos",
        "registered_models",
        "experiments",
    ]
    .iter()
    .all(|k| walk.complete.contains(k))
    {
        walk.complete.push("permissions");
    }
    if [
        "catalogs",
        "schemas",
        "tables",
        "volumes",
        "external_locations",
        "storage_credentials",
        "uc_models",
    ]
    .iter()
    .all(|k| walk.complete.contains(k))
    {
        walk.complete.push("grants");
    }
    walk
}

/// Every workspace object (breadth first from `/`), as the list API describes them.
async fn walk_workspace(c: &DatabricksClient, n: usize) -> Result<Vec<Value>, ApiError> {
    let mut out = Vec::new();
    let mut dirs = vec!["/".to_string()];
    while !dirs.is_empty() {
        let pages: Vec<Value> = futures::stream::iter(
            dirs.drain(..)
                .map(|d| async move { c.get("/api/2.0/workspace/list", &[("path", &d)]).await }),
        )
        .buffer_unordered(n.max(1))
        .try_collect()
        .await?;
        for page in pages {
            for o in page["objects"].as_array().into_iter().flatten() {
                if o["object_type"] == "DIRECTORY"
                    && let Some(p) = o["path"].as_str()
                {
                    dirs.push(p.to_string());
                }
                if o["object_type"] != "REPO" && o["object_type"] != "LIBRARY" {
                    out.push(o.clone());
                }
            }
        }
    }
    Ok(out)
}

async fn walk_unity_catalog(c: &DatabricksClient, n: usize, walk: &mut Walk) {
    match c.get("/api/2.1/unity-catalog/metastore_summary", &[]).await {
        Ok(m) => {
            let id = as_id(&m["metastore_id"]).unwrap_or_else(|| "current".into());
            walk.push(Obj {
                kind: "metastore",
                id,
                body: m,
            });
            walk.complete.push("metastore");
        }
        Err(e) => {
            walk.fail("metastore", "", &e);
            return; // no Unity Catalog on this workspace, or no right to read it
        }
    }
    let catalogs = match list_paged(c, "/api/2.1/unity-catalog/catalogs", &[], "catalogs").await {
        Ok(v) => v,
        Err(e) => return walk.fail("catalogs", "", &e),
    };
    let names: Vec<(String, Value)> = catalogs
        .into_iter()
        .filter(|v| v["catalog_type"] != "SYSTEM_CATALOG")
        .filter_map(|v| keyed(v, "name"))
        .collect();
    let mut schema_names = Vec::new();
    let mut schemas_ok = true;
    for (name, body) in names.clone() {
        match list_paged(
            c,
            "/api/2.1/unity-catalog/schemas",
            &[("catalog_name", &name)],
            "schemas",
        )
        .await
        {
            Ok(items) => schema_names.extend(
                items
                    .into_iter()
                    .filter(|s| s["name"] != "information_schema")
                    .filter_map(|s| keyed(s, "full_name")),
            ),
            Err(e) => {
                schemas_ok = false;
                walk.fail("schemas", &name, &e);
            }
        }
        walk.push(Obj {
            kind: "catalogs",
            id: name,
            body,
        });
    }
    walk.complete.push("catalogs");
    each(walk, "catalogs", names, n, |name, _| async move {
        Ok(vec![grants(c, "catalog", &name).await?])
    })
    .await;
    let mut tables = Vec::new();
    let mut tables_ok = true;
    let mut volumes = Vec::new();
    let mut volumes_ok = true;
    for (full, body) in &schema_names {
        let (cat, sch) = full.split_once('.').unwrap_or((full.as_str(), ""));
        match list_paged(
            c,
            "/api/2.1/unity-catalog/volumes",
            &[("catalog_name", cat), ("schema_name", sch)],
            "volumes",
        )
        .await
        {
            Ok(items) => volumes.extend(items.into_iter().filter_map(|v| keyed(v, "full_name"))),
            Err(e) => {
                volumes_ok = false;
                walk.fail("volumes", full, &e);
            }
        }
        match list_paged(
            c,
            "/api/2.1/unity-catalog/tables",
            &[
                ("catalog_name", cat),
                ("schema_name", sch),
                ("max_results", "50"),
            ],
            "tables",
        )
        .await
        {
            Ok(items) => tables.extend(items.into_iter().filter_map(|t| keyed(t, "full_name"))),
            Err(e) => {
                tables_ok = false;
                walk.fail("tables", full, &e);
            }
        }
        walk.push(Obj {
            kind: "schemas",
            id: full.clone(),
            body: body.clone(),
        });
    }
    if schemas_ok {
        walk.complete.push("schemas");
    }
    each(walk, "schemas", schema_names, n, |full, _| async move {
        Ok(vec![grants(c, "schema", &full).await?])
    })
    .await;
    each(walk, "tables", tables, n, |full, body| {
        with_grants(c, "tables", full, strip_volatile(body), "table")
    })
    .await;
    if tables_ok {
        walk.complete.push("tables");
    }
    each(walk, "volumes", volumes, n, |full, body| {
        with_grants(c, "volumes", full, body, "volume")
    })
    .await;
    if volumes_ok {
        walk.complete.push("volumes");
    }
    // Where external data lives, and the credentials Unity Catalog reaches it with (an IAM
    // role's ARN, never a secret: the API returns none).
    for (kind, path, items_key, securable) in [
        (
            "external_locations",
            "/api/2.1/unity-catalog/external-locations",
            "external_locations",
            "external_location",
        ),
        (
            "storage_credentials",
            "/api/2.1/unity-catalog/storage-credentials",
            "storage_credentials",
            "storage_credential",
        ),
    ] {
        if let Some(items) = walk.listed(kind, list_paged(c, path, &[], items_key).await) {
            let items: Vec<(String, Value)> =
                items.into_iter().filter_map(|v| keyed(v, "name")).collect();
            each(walk, kind, items, n, |name, body| {
                with_grants(c, kind, name, body, securable)
            })
            .await;
        }
    }
}

/// The workspace settings exported (`/api/2.0/workspace-conf`); asking for a key the
/// workspace does not know fails the whole call, so only long-standing keys are asked for.
pub const WORKSPACE_CONF_KEYS: &[&str] = &[
    "enableIpAccessLists",
    "enableTokensConfig",
    "maxTokenLifetimeDays",
    "enableResultsDownloading",
    "enableNotebookTableClipboard",
    "enableExportNotebook",
    "enableWebTerminal",
    "enableDbfsFileBrowser",
    "enableVerboseAuditLogs",
];

/// Unity Catalog kinds that can be read one at a time: (kind, API collection, securable type
/// of their grants).
const UC_KINDS: &[(&str, &str, &str)] = &[
    ("catalogs", "catalogs", "catalog"),
    ("schemas", "schemas", "schema"),
    ("tables", "tables", "table"),
    ("volumes", "volumes", "volume"),
    (
        "external_locations",
        "external-locations",
        "external_location",
    ),
    (
        "storage_credentials",
        "storage-credentials",
        "storage_credential",
    ),
];

/// Workspace kinds that can be read one at a time: (kind, object path, permissions type).
const PERMISSION_KINDS: &[(&str, &str, &str)] = &[
    ("jobs", "/api/2.2/jobs/get", "jobs"),
    ("clusters", "/api/2.1/clusters/get", "clusters"),
    (
        "sql_warehouses",
        "/api/2.0/sql/warehouses",
        "sql/warehouses",
    ),
];

/// The manifest keys of what [`read_one`] reads with an object: its permissions or grants.
/// Objects with parts of their own (a model's versions) also have [`dependent_prefixes`].
pub fn dependents(kind: &str, id: &str) -> Vec<String> {
    if models::KINDS.contains(&kind) {
        return models::dependents(kind, id).0;
    }
    if let Some((_, _, securable)) = UC_KINDS.iter().find(|(k, ..)| *k == kind) {
        return vec![format!("grants/{securable}/{id}")];
    }
    PERMISSION_KINDS
        .iter()
        .filter(|(k, ..)| *k == kind)
        .map(|(_, _, acl)| format!("permissions/{acl}/{id}"))
        .collect()
}

/// Key prefixes of the objects that belong to an object (a registered model's versions): a
/// re-read of the object replaces them all. See [`is_part`].
pub fn dependent_prefixes(kind: &str, id: &str) -> Vec<String> {
    models::dependents(kind, id).1
}

/// True when `key` is a part directly under `prefix` (a version of that model, not of a model
/// whose name continues with `/`).
pub fn is_part(key: &str, prefix: &str) -> bool {
    key.strip_prefix(prefix)
        .is_some_and(|rest| !rest.is_empty() && !rest.contains('/'))
}

/// Reads one object (and its permissions or grants, and its versions) after a change event.
/// `Ok(None)`: it no longer exists.
pub async fn read_one(
    c: &DatabricksClient,
    arts: &ArtifactLocations,
    kind: &str,
    id: &str,
) -> Result<Option<Vec<Obj>>, ApiError> {
    let r = async {
        if models::KINDS.contains(&kind) {
            return models::read_one(c, arts, kind, id).await;
        }
        if let Some(&(k, collection, securable)) = UC_KINDS.iter().find(|(k, ..)| *k == kind) {
            let body = c
                .get(&format!("/api/2.1/unity-catalog/{collection}/{}", enc(id)), &[])
                .await?;
            let body = if k == "tables" { strip_volatile(body) } else { body };
            return with_grants(c, k, id.into(), body, securable).await;
        }
        let Some(&(k, path, acl)) = PERMISSION_KINDS.iter().find(|(k, ..)| *k == kind) else {
            return Err(ApiError::Config(format!(
                "kind `{kind}` is exported by the full export only (one object of it cannot be read alone)"
            )));
        };
        let body = match k {
            "jobs" => get_job(c, id).await?,
            "clusters" => strip_volatile(c.get(path, &[("cluster_id", id)]).await?),
            _ => strip_volatile(c.get(&format!("{path}/{id}"), &[]).await?),
        };
        with_permissions(c, k, id.into(), body, acl).await
    }
    .await;
    match r {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e),
    }
}

pub(crate) fn enc(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// A canonical form of a JSON value: object keys sorted at every depth, compact.
pub fn canonical(v: &Value) -> Vec<u8> {
    fn sort(v: &Value) -> Value {
        match v {
            Value::Object(m) => {
                let mut keys: Vec<&String> = m.keys().collect();
                keys.sort();
                let mut out = Map::new();
                for k in keys {
                    out.insert(k.clone(), sort(&m[k]));
                }
                Value::Object(out)
            }
            Value::Array(a) => Value::Array(a.iter().map(sort).collect()),
            other => other.clone(),
        }
    }
    // serde_json's map keeps insertion order only with `preserve_order`; sorting first makes
    // the bytes canonical either way.
    serde_json::to_vec(&sort(v)).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deleted_object_takes_only_its_own_permissions() {
        assert_eq!(dependents("jobs", "15"), vec!["permissions/jobs/15"]);
        assert_eq!(
            dependents("schemas", "sales.orders"),
            vec!["grants/schema/sales.orders"]
        );
        assert!(dependents("notebooks", "/x").is_empty());
        let p = &dependent_prefixes("registered_models", "a")[0];
        assert!(is_part("model_versions/a/1", p));
        assert!(
            !is_part("model_versions/a/1/2", p),
            "version 2 of model `a/1`"
        );
    }

    #[test]
    fn canonical_json_sorts_keys_at_every_depth() {
        let v = json!({"b": 1, "a": {"d": [{"z": 1, "y": 2}], "c": null}});
        assert_eq!(
            canonical(&v),
            br#"{"a":{"c":null,"d":[{"y":2,"z":1}]},"b":1}"#
        );
    }
}
