//! Interactive clusters (job and pipeline clusters come and go with their runs), read whole.
//! In DR: node types, zone and instance profile from the variables, pools and policies as
//! references, the pool deciding the node types, autoscale the size.

use async_trait::async_trait;
use serde_json::{Map, Value};

use crate::api::{Token, list_paged};
use crate::audit::Record;
use crate::error::Result;
use crate::kind::{Acl, Cx, Hit, Kind, KindSpec, Securable, as_id};
use crate::obj::{Obj, Walk, each, strip_volatile};
use crate::terraform::{Tf, name, resolve_conflicts, shapes};

#[derive(Debug)]
pub struct Spec;

pub const ACL: Acl = Acl {
    api: "clusters",
    attr: "cluster_id",
    resource: "databricks_cluster",
    prefix: "cluster",
    ref_attr: "id",
};

/// Clusters that are not configuration of their own.
fn ephemeral(v: &Value) -> bool {
    matches!(
        v["cluster_source"].as_str(),
        Some("JOB" | "PIPELINE" | "PIPELINE_MAINTENANCE" | "MODELS" | "SQL")
    )
}

async fn read(cx: &Cx<'_>, id: &str) -> Result<Vec<Obj>> {
    let body = cx
        .api
        .get("/api/2.1/clusters/get", &[("cluster_id", id)])
        .await?;
    super::with_permissions(cx.api, Obj::new(Kind::Clusters, id, strip_volatile(body))).await
}

#[async_trait]
impl KindSpec for Spec {
    async fn walk(&self, cx: &Cx<'_>, walk: &mut Walk) {
        let listed = list_paged(
            cx.api,
            "/api/2.1/clusters/list",
            &[("page_size", "100")],
            "clusters",
            Token::PageToken,
        )
        .await;
        if let Some(items) = walk.listed(Kind::Clusters, listed) {
            let ids: Vec<(String, ())> = items
                .iter()
                .filter(|v| !ephemeral(v))
                .filter_map(|v| as_id(&v["cluster_id"]))
                .map(|id| (id, ()))
                .collect();
            each(
                walk,
                Kind::Clusters,
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
        let mut m: Map<String, Value> = tf.fit("databricks_cluster", &o.body);
        shapes::cluster_spec(&mut m, tf);
        resolve_conflicts(
            "databricks_cluster",
            &mut m,
            &[
                "aws_attributes",
                "instance_pool_id",
                "driver_instance_pool_id",
            ],
            tf,
        );
        if o.body["azure_attributes"].is_object() || o.body["gcp_attributes"].is_object() {
            tf.note("a cluster of another cloud's attributes: restored as given");
        }
        tf.resource("databricks_cluster", name("cluster", &o.id), m);
    }
    fn audit(&self, r: &Record<'_>) -> Option<Hit> {
        if r.is("clusters", &["create"]) {
            return r.result("cluster_id").map(Hit::Id);
        }
        if r.is("clusters", &["createResult"]) {
            return r.param(&["clusterId"]).map(Hit::Id);
        }
        // `delete` terminates (the cluster and its settings remain): run state, not followed.
        if r.is(
            "clusters",
            &[
                "edit",
                "permanentDelete",
                "pin",
                "unpin",
                "rename",
                "resize",
            ],
        ) {
            return r.param(&["cluster_id", "clusterId"]).map(Hit::Id);
        }
        r.is("clusters", &["changeClusterAcl"])
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
                "cluster_id",
                "the DR workspace gives the cluster its own id",
            ),
            ("cluster_source", "set by the DR workspace"),
            ("creator_user_name", "set by the DR workspace"),
            ("default_tags", "set by the DR workspace"),
            ("disk_spec", "derived from the node type"),
            ("init_scripts_safe_mode", "read-only"),
            ("pinned_by_user_name", "pinning is a UI state"),
            ("spec", "the API's echo of the request"),
            ("last_activity_time", "run state"),
        ]
    }
}
