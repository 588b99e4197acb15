//! Cluster policies. Built-in policies (`is_default`: Personal Compute and the other families'
//! defaults) exist in every workspace: data sources by name. A policy made from a family keeps
//! its family and overrides (the provider refuses `definition` beside them); ids in a definition
//! (instance pools) become references, instance profiles variables.

use async_trait::async_trait;
use serde_json::{Map, Value, json};

use crate::audit::Record;
use crate::error::Result;
use crate::kind::{Acl, Cx, Hit, Kind, KindSpec, Securable, as_id};
use crate::obj::{Obj, Walk, each, items_of};
use crate::terraform::{Tf, name, vars};

#[derive(Debug)]
pub struct Spec;

const ACL: Acl = Acl {
    api: "cluster-policies",
    attr: "cluster_policy_id",
    resource: "databricks_cluster_policy",
    prefix: "policy",
    ref_attr: "id",
};

/// A built-in policy.
pub fn built_in(p: &Value) -> bool {
    p["is_default"] == true
}

/// A policy definition (JSON text) with DR values: instance pools as references, instance
/// profiles from the variable, storage through the rules.
fn dr_definition(def: &str, tf: &mut Tf<'_>) -> String {
    let Ok(Value::Object(mut d)) = serde_json::from_str::<Value>(def) else {
        tf.note("the policy definition is not JSON: kept as it is");
        return def.to_string();
    };
    for (k, rule) in d.iter_mut() {
        let Some(v) = rule.get("value").and_then(Value::as_str).map(str::to_owned) else {
            continue;
        };
        let dr = match k.as_str() {
            "instance_pool_id" | "driver_instance_pool_id" => {
                match tf.refer(Kind::InstancePools, &v, "id") {
                    Value::String(r) => r,
                    _ => continue,
                }
            }
            "aws_attributes.instance_profile_arn" => vars::instance_profile(&v),
            "aws_attributes.zone_id" => "${var.dr_zone_id}".into(),
            k if k.ends_with(".s3.destination") || v.starts_with("s3://") => {
                tf.remap("a policy's storage", &v)
            }
            _ => continue,
        };
        rule["value"] = json!(dr);
    }
    serde_json::to_string(&Value::Object(d)).unwrap_or_else(|_| def.to_string())
}

#[async_trait]
impl KindSpec for Spec {
    async fn walk(&self, cx: &Cx<'_>, walk: &mut Walk) {
        let listed = cx.api.get("/api/2.0/policies/clusters/list", &[]).await;
        if let Some(page) = walk.listed(Kind::ClusterPolicies, listed) {
            let items: Vec<(String, Value)> = items_of(&page, "policies")
                .into_iter()
                .filter_map(|v| Some((as_id(&v["policy_id"])?, v)))
                .collect();
            each(
                walk,
                Kind::ClusterPolicies,
                items,
                cx.concurrency,
                |id, body| {
                    super::with_permissions(cx.api, Obj::new(Kind::ClusterPolicies, id, body))
                },
            )
            .await;
        }
    }
    fn parents(&self) -> &'static [Kind] {
        &[]
    }
    async fn read_one(&self, cx: &Cx<'_>, id: &str) -> Result<Option<Vec<Obj>>> {
        let body = cx
            .api
            .get("/api/2.0/policies/clusters/get", &[("policy_id", id)])
            .await?;
        Ok(Some(
            super::with_permissions(cx.api, Obj::new(Kind::ClusterPolicies, id, body)).await?,
        ))
    }
    fn dependents(&self, id: &str) -> (Vec<String>, Vec<String>) {
        (super::acl_key(Some(ACL), id), Vec::new())
    }
    fn terraform(&self, o: &Obj, tf: &mut Tf<'_>) {
        let b = &o.body;
        let n = name("policy", &o.id);
        if built_in(b) {
            tf.data(
                "databricks_cluster_policy",
                n.clone(),
                json!({"name": b["name"]}),
            );
            tf.local(
                n.clone(),
                json!(format!("${{data.databricks_cluster_policy.{n}.id}}")),
            );
            return;
        }
        tf.local(
            n.clone(),
            json!(format!("${{databricks_cluster_policy.{n}.id}}")),
        );
        let mut m: Map<String, Value> = tf.fit("databricks_cluster_policy", b);
        if b["policy_family_id"].is_string() {
            m.remove("definition");
        } else {
            m.remove("policy_family_definition_overrides");
            if let Some(def) = b["definition"].as_str() {
                m.insert("definition".into(), json!(dr_definition(def, tf)));
            }
        }
        if let Some(over) = m
            .get("policy_family_definition_overrides")
            .and_then(Value::as_str)
            .map(str::to_owned)
        {
            m.insert(
                "policy_family_definition_overrides".into(),
                json!(dr_definition(&over, tf)),
            );
        }
        tf.resource("databricks_cluster_policy", n, m);
    }
    fn audit(&self, r: &Record<'_>) -> Option<Hit> {
        if r.is("clusterPolicies", &["create"]) {
            return r.result("policy_id").map(Hit::Id);
        }
        if r.is("clusterPolicies", &["edit", "delete"]) {
            return r.param(&["policy_id"]).map(Hit::Id);
        }
        r.is("clusterPolicies", &["changeClusterPolicyAcl"])
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
            ("policy_id", "the DR workspace gives the policy its own id"),
            ("created_at_timestamp", "set by the DR workspace"),
            ("creator_user_name", "set by the DR workspace"),
            ("is_default", "a built-in policy is a data source"),
        ]
    }
}
