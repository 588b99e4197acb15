//! Jobs (API 2.2): the list gives each job's settings, 100 jobs a page; a job whose tasks or
//! job clusters were cut at 100 (`has_more`) is read again, page by page.
//!
//! In DR the ids a job names become references (its tasks' clusters, pipelines, warehouses,
//! queries, alerts, dashboards and jobs), its clusters are fitted for DR, and its schedule,
//! trigger and continuous run start paused (`var.dr_unpause`).

use async_trait::async_trait;
use serde_json::{Map, Value};

use crate::api::{Token, WorkspaceApi, list_paged};
use crate::audit::Record;
use crate::error::Result;
use crate::kind::{Acl, Cx, Hit, Kind, KindSpec, Securable, as_id};
use crate::obj::{Obj, Walk, each};
use crate::terraform::{Tf, name, resolve_conflicts, shapes};

#[derive(Debug)]
pub struct Spec;

pub const ACL: Acl = Acl {
    api: "jobs",
    attr: "job_id",
    resource: "databricks_job",
    prefix: "job",
    ref_attr: "id",
};

/// One job with every page of its tasks, job clusters, parameters and environments.
pub async fn get_job(api: &dyn WorkspaceApi, id: &str) -> Result<Value> {
    let mut job = api.get("/api/2.2/jobs/get", &[("job_id", id)]).await?;
    let mut token = job["next_page_token"].as_str().map(str::to_owned);
    while let Some(t) = token.take().filter(|t| !t.is_empty()) {
        let page = api
            .get("/api/2.2/jobs/get", &[("job_id", id), ("page_token", &t)])
            .await?;
        for key in ["tasks", "job_clusters", "parameters", "environments"] {
            if let Some(more) = page["settings"][key].as_array() {
                match job["settings"][key].as_array_mut() {
                    Some(a) => a.extend(more.iter().cloned()),
                    None => job["settings"][key] = Value::Array(more.clone()),
                }
            }
        }
        token = page["next_page_token"].as_str().map(str::to_owned);
    }
    Ok(job_shape(job))
}

/// The fields a job has both in the list (`expand_tasks`) and in a get, so a job exported by a
/// full run and by a change event has the same bytes.
fn job_shape(job: Value) -> Value {
    let mut out = Map::new();
    for k in ["job_id", "created_time", "creator_user_name", "settings"] {
        if let Some(v) = job.get(k) {
            out.insert(k.to_string(), v.clone());
        }
    }
    Value::Object(out)
}

/// The blocks `block` of a fitted body, as objects.
fn blocks<'m>(
    t: &'m mut Map<String, Value>,
    block: &str,
) -> impl Iterator<Item = &'m mut Map<String, Value>> {
    t.get_mut(block)
        .and_then(Value::as_array_mut)
        .into_iter()
        .flatten()
        .filter_map(Value::as_object_mut)
}

/// The ids a task names, as references.
fn task_refs(t: &mut Map<String, Value>, tf: &mut Tf<'_>) {
    tf.refer_at(t, "existing_cluster_id", Kind::Clusters, "id");
    for b in blocks(t, "pipeline_task") {
        tf.refer_at(b, "pipeline_id", Kind::Pipelines, "id");
    }
    for b in blocks(t, "run_job_task") {
        tf.refer_at(b, "job_id", Kind::Jobs, "id");
    }
    for b in blocks(t, "dashboard_task") {
        tf.refer_at(b, "dashboard_id", Kind::Dashboards, "id");
        tf.refer_at(b, "warehouse_id", Kind::SqlWarehouses, "id");
    }
    for b in blocks(t, "sql_task") {
        tf.refer_at(b, "warehouse_id", Kind::SqlWarehouses, "id");
        for q in blocks(b, "query") {
            tf.refer_at(q, "query_id", Kind::Queries, "id");
        }
        for q in blocks(b, "alert") {
            tf.refer_at(q, "alert_id", Kind::Alerts, "id");
        }
        if b.contains_key("dashboard") {
            tf.note("a task names a legacy SQL dashboard, which is not exported: its id is the primary's");
        }
    }
    for task in ["notebook_task", "dbt_task"] {
        for b in blocks(t, task) {
            tf.refer_at(b, "warehouse_id", Kind::SqlWarehouses, "id");
        }
    }
    // Files on S3 the task runs or installs: their DR copies.
    for lib in blocks(t, "library") {
        shapes::remap_s3(
            lib,
            &["jar", "whl", "egg", "requirements"],
            "a task library",
            tf,
        );
    }
    for b in blocks(t, "spark_python_task") {
        shapes::remap_s3(b, &["python_file"], "a task's Python file", tf);
    }
    for b in blocks(t, "spark_jar_task") {
        shapes::remap_s3(b, &["jar_uri"], "a task's jar", tf);
    }
    for c in blocks(t, "new_cluster") {
        shapes::cluster_spec(c, tf);
    }
    for ft in blocks(t, "for_each_task") {
        for inner in blocks(ft, "task") {
            task_refs(inner, tf);
        }
    }
}

#[async_trait]
impl KindSpec for Spec {
    async fn walk(&self, cx: &Cx<'_>, walk: &mut Walk) {
        let listed = list_paged(
            cx.api,
            "/api/2.2/jobs/list",
            &[("limit", "100"), ("expand_tasks", "true")],
            "jobs",
            Token::PageToken,
        )
        .await;
        if let Some(items) = walk.listed(Kind::Jobs, listed) {
            let jobs: Vec<(String, Value)> = items
                .into_iter()
                .filter_map(|j| Some((as_id(&j["job_id"])?, j)))
                .collect();
            each(
                walk,
                Kind::Jobs,
                jobs,
                cx.concurrency,
                |id, listed| async move {
                    let job = if listed["has_more"] == true {
                        get_job(cx.api, &id).await?
                    } else {
                        job_shape(listed)
                    };
                    super::with_permissions(cx.api, Obj::new(Kind::Jobs, id, job)).await
                },
            )
            .await;
        }
    }
    fn parents(&self) -> &'static [Kind] {
        &[]
    }
    async fn read_one(&self, cx: &Cx<'_>, id: &str) -> Result<Option<Vec<Obj>>> {
        let job = get_job(cx.api, id).await?;
        Ok(Some(
            super::with_permissions(cx.api, Obj::new(Kind::Jobs, id, job)).await?,
        ))
    }
    fn dependents(&self, id: &str) -> (Vec<String>, Vec<String>) {
        (super::acl_key(Some(ACL), id), Vec::new())
    }
    fn terraform(&self, o: &Obj, tf: &mut Tf<'_>) {
        let settings = &o.body["settings"];
        let mut m: Map<String, Value> = tf.fit("databricks_job", settings);
        for t in m
            .get_mut("task")
            .and_then(Value::as_array_mut)
            .into_iter()
            .flatten()
            .filter_map(Value::as_object_mut)
        {
            task_refs(t, tf);
        }
        for jc in m
            .get_mut("job_cluster")
            .and_then(Value::as_array_mut)
            .into_iter()
            .flatten()
            .filter_map(Value::as_object_mut)
        {
            if let Some(Value::Array(nc)) = jc.get_mut("new_cluster") {
                for c in nc.iter_mut().filter_map(Value::as_object_mut) {
                    shapes::cluster_spec(c, tf);
                }
            }
        }
        // A file arrival trigger watches a storage location: its DR copy.
        for tr in blocks(&mut m, "trigger") {
            for fa in blocks(tr, "file_arrival") {
                shapes::remap_s3(fa, &["url"], "a file arrival trigger", tf);
            }
        }
        for block in ["schedule", "continuous", "trigger"] {
            if let Some(Value::Array(items)) = m.get_mut(block) {
                for b in items.iter_mut().filter_map(Value::as_object_mut) {
                    b.insert("pause_status".into(), shapes::pause_status());
                }
            }
        }
        resolve_conflicts(
            "databricks_job",
            &mut m,
            &["continuous", "trigger", "schedule", "task"],
            tf,
        );
        tf.resource("databricks_job", name("job", &o.id), m);
    }
    fn audit(&self, r: &Record<'_>) -> Option<Hit> {
        if r.is("jobs", &["create"]) {
            return r.result("job_id").map(Hit::Id);
        }
        if r.is("jobs", &["update", "reset", "delete"]) {
            return r.param(&["job_id", "jobId"]).map(Hit::Id);
        }
        r.is("jobs", &["changeJobAcl", "resetJobAcl"])
            .then(|| r.param(&["resourceId", "job_id"]).map(Hit::Id))
            .flatten()
    }
    fn alias(&self, _o: &Obj) -> Option<String> {
        None
    }
    fn acl(&self) -> Option<Acl> {
        Some(ACL)
    }
    fn securable(&self) -> Option<Securable> {
        None
    }
    fn omitted(&self) -> &'static [(&'static str, &'static str)] {
        &[
            ("job_id", "the DR workspace gives the job its own id"),
            ("created_time", "set by the DR workspace"),
            ("creator_user_name", "set by the DR workspace"),
        ]
    }
}
