//! The workspace model registry (the MLflow registry REST API, which Databricks serves as is):
//! registered models with their permissions and every version ([`super::model_versions`], each
//! with its artifacts checked in DR).

use async_trait::async_trait;
use futures::{StreamExt, TryStreamExt};
use serde_json::{Map, Value, json};

use crate::api::{Token, list_paged};
use crate::audit::Record;
use crate::error::Result;
use crate::kind::{Acl, Cx, Hit, Kind, KindSpec, Securable, as_id};
use crate::models::quoted;
use crate::obj::{Obj, Walk, each, keyed};
use crate::terraform::{Tf, name};

#[derive(Debug)]
pub struct Spec;

const ACL: Acl = Acl {
    api: "registered-models",
    attr: "registered_model_id",
    resource: "databricks_mlflow_model",
    prefix: "model",
    ref_attr: "registered_model_id",
};

/// A registered model with its permissions and every version.
async fn read(cx: &Cx<'_>, name: String, mut body: Value) -> Result<Vec<Obj>> {
    if let Value::Object(o) = &mut body {
        o.remove("latest_versions");
    }
    // The workspace id of the model, which its permissions are addressed by.
    let dbx = cx
        .api
        .get(
            "/api/2.0/mlflow/databricks/registered-models/get",
            &[("name", &name)],
        )
        .await?;
    let id = as_id(&dbx["registered_model_databricks"]["id"]).unwrap_or_default();
    body["id"] = json!(id);
    let mut out = Vec::new();
    if !id.is_empty() {
        let mut acl = super::permissions(cx.api, ACL.api, &id).await?;
        acl.id = format!("{}/{name}", ACL.api);
        out.push(acl);
    }
    let versions = list_paged(
        cx.api,
        "/api/2.0/mlflow/model-versions/search",
        &[
            ("filter", &format!("name={}", quoted(&name))),
            ("max_results", "1000"),
        ],
        "model_versions",
        Token::PageToken,
    )
    .await?;
    let read = versions.into_iter().filter_map(|v| {
        let version = as_id(&v["version"])?;
        let name = &name;
        Some(async move { super::model_versions::with_artifacts(cx, name, &version, v).await })
    });
    let got: Vec<Option<Obj>> = futures::stream::iter(read)
        .buffered(4)
        .try_collect()
        .await?;
    out.extend(got.into_iter().flatten());
    out.push(Obj::new(Kind::RegisteredModels, name, body));
    Ok(out)
}

#[async_trait]
impl KindSpec for Spec {
    async fn walk(&self, cx: &Cx<'_>, walk: &mut Walk) {
        let listed = list_paged(
            cx.api,
            "/api/2.0/mlflow/registered-models/search",
            &[("max_results", "1000")],
            "registered_models",
            Token::PageToken,
        )
        .await;
        if let Some(items) = walk.listed(Kind::RegisteredModels, listed) {
            let items: Vec<(String, Value)> =
                items.into_iter().filter_map(|m| keyed(m, "name")).collect();
            each(
                walk,
                Kind::RegisteredModels,
                items,
                cx.concurrency,
                |n, body| read(cx, n, body),
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
            .get("/api/2.0/mlflow/registered-models/get", &[("name", id)])
            .await?;
        Ok(Some(
            read(cx, id.to_string(), got["registered_model"].clone()).await?,
        ))
    }
    fn dependents(&self, id: &str) -> (Vec<String>, Vec<String>) {
        (
            vec![format!("permissions/{}/{id}", ACL.api)],
            vec![format!("model_versions/{id}/")],
        )
    }
    fn terraform(&self, o: &Obj, tf: &mut Tf<'_>) {
        let m: Map<String, Value> = tf.fit("databricks_mlflow_model", &o.body);
        tf.resource("databricks_mlflow_model", name("model", &o.id), m);
    }
    fn audit(&self, r: &Record<'_>) -> Option<Hit> {
        if r.is("modelRegistry", &["renameRegisteredModel"]) {
            return Some(Hit::Renamed(r.param(&["name"])?, r.param(&["new_name"])?));
        }
        if r.is("modelRegistry", &["transitionModelVersionStage"])
            && r.param(&["archive_existing_versions"]).as_deref() == Some("true")
        {
            // The versions it archives are not named: the model is read again whole.
            return r.param(&["name"]).map(Hit::Id);
        }
        r.is(
            "modelRegistry",
            &[
                "createRegisteredModel",
                "deleteRegisteredModel",
                "updateRegisteredModel",
                "setRegisteredModelTag",
                "deleteRegisteredModelTag",
                "setRegisteredModelAlias",
                "deleteRegisteredModelAlias",
                "changeRegisteredModelAcl",
            ],
        )
        .then(|| r.param(&["name"]).map(Hit::Id))
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
            ("id", "the DR workspace gives the model its own id"),
            ("creation_timestamp", "set by the DR workspace"),
            ("last_updated_timestamp", "set by the DR workspace"),
            ("user_id", "set by the DR workspace"),
            (
                "aliases",
                "aliases name versions, restored with their artifacts",
            ),
        ]
    }
}
