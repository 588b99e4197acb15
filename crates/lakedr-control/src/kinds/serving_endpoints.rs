//! Model serving endpoints (by name), with their permissions (by the endpoint's id, which is
//! also how audit records name them). The served Unity Catalog models become references.

use async_trait::async_trait;
use serde_json::{Map, Value};

use crate::audit::Record;
use crate::error::Result;
use crate::kind::{Acl, Cx, Hit, Kind, KindSpec, Securable, as_id};
use crate::obj::{Obj, Walk, each, enc, items_of, keyed};
use crate::terraform::{Tf, name};

#[derive(Debug)]
pub struct Spec;

const ACL: Acl = Acl {
    api: "serving-endpoints",
    attr: "serving_endpoint_id",
    resource: "databricks_model_serving",
    prefix: "serving",
    ref_attr: "serving_endpoint_id",
};

/// The endpoint's configuration, without its run state and timestamps.
fn configuration(mut v: Value) -> Value {
    if let Value::Object(o) = &mut v {
        for k in [
            "state",
            "last_updated_timestamp",
            "permission_level",
            "pending_config",
        ] {
            o.remove(k);
        }
    }
    for e in v["config"]["served_entities"]
        .as_array_mut()
        .into_iter()
        .flatten()
    {
        if let Value::Object(o) = e {
            o.remove("state");
        }
    }
    v
}

async fn read(cx: &Cx<'_>, n: &str) -> Result<Vec<Obj>> {
    let v = configuration(
        cx.api
            .get(&format!("/api/2.0/serving-endpoints/{}", enc(n)), &[])
            .await?,
    );
    let id = as_id(&v["id"]).unwrap_or_default();
    let mut out = Vec::new();
    if !id.is_empty() {
        let mut acl = super::permissions(cx.api, ACL.api, &id).await?;
        acl.id = format!("{}/{n}", ACL.api);
        out.push(acl);
    }
    out.push(Obj::new(Kind::ServingEndpoints, n, v));
    Ok(out)
}

#[async_trait]
impl KindSpec for Spec {
    async fn walk(&self, cx: &Cx<'_>, walk: &mut Walk) {
        let listed = cx.api.get("/api/2.0/serving-endpoints", &[]).await;
        if let Some(page) = walk.listed(Kind::ServingEndpoints, listed) {
            let items: Vec<(String, Value)> = items_of(&page, "endpoints")
                .into_iter()
                .filter_map(|e| keyed(e, "name"))
                .collect();
            each(
                walk,
                Kind::ServingEndpoints,
                items,
                cx.concurrency,
                |n, _| async move { read(cx, &n).await },
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
        (vec![format!("permissions/{}/{id}", ACL.api)], Vec::new())
    }
    fn terraform(&self, o: &Obj, tf: &mut Tf<'_>) {
        let mut m: Map<String, Value> = tf.fit("databricks_model_serving", &o.body);
        for c in m
            .get_mut("config")
            .and_then(Value::as_array_mut)
            .into_iter()
            .flatten()
        {
            for e in c
                .get_mut("served_entities")
                .and_then(Value::as_array_mut)
                .into_iter()
                .flatten()
            {
                if let Some(full) = e
                    .get("entity_name")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
                    && full.split('.').count() == 3
                {
                    e["entity_name"] = tf.refer(Kind::UcModels, &full, "id");
                }
            }
        }
        tf.resource("databricks_model_serving", name("serving", &o.id), m);
    }
    fn audit(&self, r: &Record<'_>) -> Option<Hit> {
        if r.is(
            "serverlessRealTimeInference",
            &["changeInferenceEndpointAcl"],
        ) {
            // The endpoint's id, not its name: the export's index knows which endpoint it is.
            return r.param(&["resourceId"]).map(Hit::Alias);
        }
        r.is(
            "serverlessRealTimeInference",
            &[
                "createServingEndpoint",
                "updateServingEndpoint",
                "deleteServingEndpoint",
                "putAiGateway",
            ],
        )
        .then(|| r.param(&["name"]).map(Hit::Id))
        .flatten()
    }
    fn alias(&self, o: &Obj) -> Option<String> {
        as_id(&o.body["id"])
    }
    fn acl(&self) -> Option<Acl> {
        Some(ACL)
    }
    fn securable(&self) -> Option<Securable> {
        None
    }
    fn omitted(&self) -> &'static [(&'static str, &'static str)] {
        &[
            ("id", "the DR workspace gives the endpoint its own id"),
            ("creator", "set by the DR workspace"),
            ("creation_timestamp", "set by the DR workspace"),
            ("config.config_version", "set by the DR workspace"),
            ("config.served_entities.creator", "set by the DR workspace"),
            (
                "config.served_entities.creation_timestamp",
                "set by the DR workspace",
            ),
        ]
    }
}
