//! MLflow experiments with their permissions (a notebook's experiment has its notebook's, and
//! comes with it). `last_update_time` moves with activity, not configuration: not kept.

use async_trait::async_trait;
use serde_json::{Map, Value, json};

use crate::api::{Token, list_paged};
use crate::audit::Record;
use crate::error::Result;
use crate::kind::{Acl, Cx, Hit, Kind, KindSpec, Securable, as_id};
use crate::obj::{Obj, Walk, each};
use crate::terraform::{Tf, name};

#[derive(Debug)]
pub struct Spec;

const ACL: Acl = Acl {
    api: "experiments",
    attr: "experiment_id",
    resource: "databricks_mlflow_experiment",
    prefix: "experiment",
    ref_attr: "id",
};

fn tag<'v>(b: &'v Value, k: &str) -> Option<&'v str> {
    b["tags"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|t| t["key"] == k)
        .and_then(|t| t["value"].as_str())
}

fn of_notebook(b: &Value) -> bool {
    matches!(
        tag(b, "mlflow.experimentType"),
        Some("NOTEBOOK" | "REPO_NOTEBOOK")
    )
}

async fn read(cx: &Cx<'_>, id: String, mut body: Value) -> Result<Vec<Obj>> {
    if let Value::Object(o) = &mut body {
        o.remove("last_update_time");
    }
    let acl = if of_notebook(&body) {
        None
    } else {
        Some(super::permissions(cx.api, ACL.api, &id).await?)
    };
    Ok(std::iter::once(Obj::new(Kind::Experiments, id, body))
        .chain(acl)
        .collect())
}

#[async_trait]
impl KindSpec for Spec {
    async fn walk(&self, cx: &Cx<'_>, walk: &mut Walk) {
        let listed = list_paged(
            cx.api,
            "/api/2.0/mlflow/experiments/search",
            &[("max_results", "1000")],
            "experiments",
            Token::PageToken,
        )
        .await;
        if let Some(items) = walk.listed(Kind::Experiments, listed) {
            let items: Vec<(String, Value)> = items
                .into_iter()
                .filter_map(|e| Some((as_id(&e["experiment_id"])?, e)))
                .collect();
            each(
                walk,
                Kind::Experiments,
                items,
                cx.concurrency,
                |id, body| read(cx, id, body),
            )
            .await;
        }
    }
    fn parents(&self) -> &'static [Kind] {
        &[]
    }
    async fn read_one(&self, cx: &Cx<'_>, id: &str) -> Result<Option<Vec<Obj>>> {
        let got = cx
            .api
            .get("/api/2.0/mlflow/experiments/get", &[("experiment_id", id)])
            .await?;
        // A deleted experiment stays readable (in the trash) until it is purged.
        if got["experiment"]["lifecycle_stage"] == "deleted" {
            return Ok(None);
        }
        Ok(Some(
            read(cx, id.to_string(), got["experiment"].clone()).await?,
        ))
    }
    fn dependents(&self, id: &str) -> (Vec<String>, Vec<String>) {
        (super::acl_key(Some(ACL), id), Vec::new())
    }
    fn terraform(&self, o: &Obj, tf: &mut Tf<'_>) {
        let b = &o.body;
        if of_notebook(b) {
            return; // comes with its notebook
        }
        let mut m = Map::new();
        m.insert("name".into(), b["name"].clone());
        // The workspace's default location names the experiment's old id: the DR workspace
        // chooses its own. Any other location is storage: through the rules.
        if let Some(l) = b["artifact_location"]
            .as_str()
            .filter(|l| !l.starts_with("dbfs:/databricks/mlflow-tracking/"))
        {
            let dr = if l.starts_with("s3") {
                tf.remap("the experiment's artifacts", l)
            } else {
                l.to_string()
            };
            m.insert("artifact_location".into(), json!(dr));
        }
        if let Some(d) = tag(b, "mlflow.note.content") {
            m.insert("description".into(), json!(d));
        }
        tf.resource("databricks_mlflow_experiment", name("experiment", &o.id), m);
    }
    fn audit(&self, r: &Record<'_>) -> Option<Hit> {
        r.is(
            "mlflowExperiment",
            &[
                "createMlflowExperiment",
                "deleteMlflowExperiment",
                "restoreMlflowExperiment",
                "renameMlflowExperiment",
                "setExperimentTag",
                "changeExperimentAcl",
            ],
        )
        .then(|| {
            r.param(&["experimentId", "experiment_id"])
                .or_else(|| r.result("experiment_id"))
                .map(Hit::Id)
        })
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
                "experiment_id",
                "the DR workspace gives the experiment its own id",
            ),
            ("lifecycle_stage", "set by the DR workspace"),
            ("creation_time", "set by the DR workspace"),
            (
                "tags",
                "the description tag is carried; the others are MLflow's",
            ),
        ]
    }
}
