//! Instance pools: zone and instance profile from the DR variables.

use async_trait::async_trait;
use serde_json::{Map, Value};

use crate::audit::Record;
use crate::error::Result;
use crate::kind::{Acl, Cx, Hit, Kind, KindSpec, Securable, as_id};
use crate::obj::{Obj, Walk, each, items_of, strip_volatile};
use crate::terraform::{Tf, name, shapes, vars};

#[derive(Debug)]
pub struct Spec;

const ACL: Acl = Acl {
    api: "instance-pools",
    attr: "instance_pool_id",
    resource: "databricks_instance_pool",
    prefix: "pool",
    ref_attr: "id",
};

#[async_trait]
impl KindSpec for Spec {
    async fn walk(&self, cx: &Cx<'_>, walk: &mut Walk) {
        let listed = cx.api.get("/api/2.0/instance-pools/list", &[]).await;
        if let Some(page) = walk.listed(Kind::InstancePools, listed) {
            let items: Vec<(String, Value)> = items_of(&page, "instance_pools")
                .into_iter()
                .filter_map(|v| Some((as_id(&v["instance_pool_id"])?, v)))
                .collect();
            each(
                walk,
                Kind::InstancePools,
                items,
                cx.concurrency,
                |id, body| {
                    super::with_permissions(
                        cx.api,
                        Obj::new(Kind::InstancePools, id, strip_volatile(body)),
                    )
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
            .get("/api/2.0/instance-pools/get", &[("instance_pool_id", id)])
            .await?;
        Ok(Some(
            super::with_permissions(
                cx.api,
                Obj::new(Kind::InstancePools, id, strip_volatile(body)),
            )
            .await?,
        ))
    }
    fn dependents(&self, id: &str) -> (Vec<String>, Vec<String>) {
        (super::acl_key(Some(ACL), id), Vec::new())
    }
    fn terraform(&self, o: &Obj, tf: &mut Tf<'_>) {
        let mut m: Map<String, Value> = tf.fit("databricks_instance_pool", &o.body);
        if let Some(t) = m
            .get("node_type_id")
            .and_then(Value::as_str)
            .map(str::to_owned)
        {
            m.insert("node_type_id".into(), vars::node_type(&t).into());
        }
        if let Some(Value::Array(aws)) = m.get_mut("aws_attributes") {
            for a in aws.iter_mut().filter_map(Value::as_object_mut) {
                shapes::aws_attributes(a, tf);
            }
        }
        // A fleet pool's launch template overrides name the primary's availability zones.
        for f in m
            .get_mut("instance_pool_fleet_attributes")
            .and_then(Value::as_array_mut)
            .into_iter()
            .flatten()
            .filter_map(Value::as_object_mut)
        {
            for o in f
                .get_mut("launch_template_override")
                .and_then(Value::as_array_mut)
                .into_iter()
                .flatten()
                .filter_map(Value::as_object_mut)
            {
                if o.contains_key("availability_zone") {
                    o.insert(
                        "availability_zone".into(),
                        serde_json::json!("${var.dr_zone_id}"),
                    );
                }
            }
        }
        tf.resource("databricks_instance_pool", name("pool", &o.id), m);
    }
    fn audit(&self, r: &Record<'_>) -> Option<Hit> {
        if r.is("instancePools", &["create"]) {
            return r.result("instance_pool_id").map(Hit::Id);
        }
        if r.is("instancePools", &["edit", "delete"]) {
            return r.param(&["instance_pool_id"]).map(Hit::Id);
        }
        r.is("instancePools", &["changeInstancePoolAcl"])
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
                "instance_pool_id",
                "the DR workspace gives the pool its own id",
            ),
            ("default_tags", "set by the DR workspace"),
            ("status", "run state"),
        ]
    }
}
