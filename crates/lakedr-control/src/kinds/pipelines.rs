//! Delta Live Tables (Lakeflow declarative) pipelines: the specification, its clusters fitted
//! for DR like any cluster, its storage through the rules.

use async_trait::async_trait;
use serde_json::{Map, Value, json};

use crate::api::{Token, list_paged};
use crate::audit::Record;
use crate::error::Result;
use crate::kind::{Acl, Cx, Hit, Kind, KindSpec, Securable, as_id};
use crate::obj::{Obj, Walk, each};
use crate::terraform::{Tf, name, resolve_conflicts, shapes};

#[derive(Debug)]
pub struct Spec;

const ACL: Acl = Acl {
    api: "pipelines",
    attr: "pipeline_id",
    resource: "databricks_pipeline",
    prefix: "pipeline",
    ref_attr: "id",
};

/// The pipeline's definition: its spec, and who it runs as.
fn configuration(v: Value) -> Value {
    json!({"pipeline_id": v["pipeline_id"], "name": v["name"], "spec": v["spec"],
           "creator_user_name": v["creator_user_name"], "run_as_user_name": v["run_as_user_name"]})
}

async fn read(cx: &Cx<'_>, id: &str) -> Result<Vec<Obj>> {
    let v = cx.api.get(&format!("/api/2.0/pipelines/{id}"), &[]).await?;
    super::with_permissions(cx.api, Obj::new(Kind::Pipelines, id, configuration(v))).await
}

#[async_trait]
impl KindSpec for Spec {
    async fn walk(&self, cx: &Cx<'_>, walk: &mut Walk) {
        let listed = list_paged(
            cx.api,
            "/api/2.0/pipelines",
            &[("max_results", "100")],
            "statuses",
            Token::PageToken,
        )
        .await;
        if let Some(items) = walk.listed(Kind::Pipelines, listed) {
            let ids: Vec<(String, ())> = items
                .iter()
                .filter_map(|v| as_id(&v["pipeline_id"]))
                .map(|id| (id, ()))
                .collect();
            each(
                walk,
                Kind::Pipelines,
                ids,
                cx.concurrency,
                |id, ()| async move { read(cx, &id).await },
            )
            .await;
        }
    }
    fn parents(&self) -> &'static [Kind] {
        &[]
    }
    async fn read_one(&self, cx: &Cx<'_>, id: &str) -> Result<Option<Vec<Obj>>> {
        Ok(Some(read(cx, id).await?))
    }
    fn dependents(&self, id: &str) -> (Vec<String>, Vec<String>) {
        (super::acl_key(Some(ACL), id), Vec::new())
    }
    fn terraform(&self, o: &Obj, tf: &mut Tf<'_>) {
        let spec = &o.body["spec"];
        let mut m: Map<String, Value> = tf.fit("databricks_pipeline", spec);
        for c in m
            .get_mut("cluster")
            .and_then(Value::as_array_mut)
            .into_iter()
            .flatten()
            .filter_map(Value::as_object_mut)
        {
            let mut spec = std::mem::take(c);
            shapes::cluster_spec(&mut spec, tf);
            *c = spec;
        }
        shapes::remap_values(&mut m, "configuration", tf);
        if spec["catalog"].is_string() {
            m.remove("storage"); // a Unity Catalog pipeline keeps its data in the catalog
        } else if let Some(s) = m.get("storage").and_then(Value::as_str).map(str::to_owned) {
            if s.starts_with("s3") {
                let dr = tf.remap("a pipeline's storage", &s);
                m.insert("storage".into(), json!(dr));
            } else {
                tf.note(format!(
                    "pipeline storage `{s}` is on DBFS: the DR pipeline starts with new state"
                ));
            }
        }
        for lib in m
            .get_mut("library")
            .and_then(Value::as_array_mut)
            .into_iter()
            .flatten()
            .filter_map(Value::as_object_mut)
        {
            shapes::remap_s3(lib, &["jar", "whl"], "a pipeline library", tf);
        }
        // A continuous pipeline starts running when created: paused in DR like a job's
        // schedule, until `dr_unpause`.
        if spec["continuous"] == true {
            m.insert("continuous".into(), json!("${var.dr_unpause}"));
        }
        resolve_conflicts("databricks_pipeline", &mut m, &["catalog", "schema"], tf);
        tf.resource("databricks_pipeline", name("pipeline", &o.id), m);
    }
    fn audit(&self, r: &Record<'_>) -> Option<Hit> {
        if r.is("deltaPipelines", &["create"]) {
            return r
                .param(&["id", "pipeline_id"])
                .or_else(|| r.result("pipeline_id"))
                .map(Hit::Id);
        }
        if r.is("deltaPipelines", &["edit", "delete"]) {
            return r.param(&["pipeline_id", "id"]).map(Hit::Id);
        }
        r.is("deltaPipelines", &["changePipelineAcls"])
            .then(|| r.param(&["resourceId"]).map(Hit::Id))
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
            (
                "pipeline_id",
                "the DR workspace gives the pipeline its own id",
            ),
            ("creator_user_name", "set by the DR workspace"),
            ("run_as_user_name", "the pipeline runs as its creator in DR"),
            ("spec.id", "the DR workspace gives the pipeline its own id"),
        ]
    }
}
