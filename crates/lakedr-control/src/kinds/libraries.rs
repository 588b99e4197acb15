//! Libraries installed on interactive clusters (`/api/2.0/libraries/cluster-status`): one
//! object per cluster, its id the cluster's; each library a `databricks_library`.

use async_trait::async_trait;
use serde_json::{Map, Value, json};

use crate::audit::Record;
use crate::error::Result;
use crate::kind::{Acl, Cx, Hit, Kind, KindSpec, Securable, as_id};
use crate::obj::{Obj, Walk, items_of};
use crate::terraform::{Tf, name};

#[derive(Debug)]
pub struct Spec;

/// The libraries a cluster was given (not those of every cluster, which the workspace adds).
fn own(body: &Value) -> Vec<Value> {
    items_of(body, "library_statuses")
        .into_iter()
        .filter(|s| s["is_library_for_all_clusters"] != true)
        .map(|s| s["library"].clone())
        .filter(|l| l.is_object())
        .collect()
}

fn object(id: &str, body: &Value) -> Option<Obj> {
    let libs = own(body);
    (!libs.is_empty()).then(|| {
        Obj::new(
            Kind::Libraries,
            id,
            json!({"cluster_id": id, "libraries": libs}),
        )
    })
}

#[async_trait]
impl KindSpec for Spec {
    async fn walk(&self, cx: &Cx<'_>, walk: &mut Walk) {
        let listed = cx
            .api
            .get("/api/2.0/libraries/all-cluster-statuses", &[])
            .await;
        if let Some(page) = walk.listed(Kind::Libraries, listed) {
            for s in items_of(&page, "statuses") {
                if let Some(id) = as_id(&s["cluster_id"])
                    && let Some(o) = object(&id, &s)
                {
                    walk.push(o);
                }
            }
        }
    }
    fn parents(&self) -> &'static [Kind] {
        &[]
    }
    async fn read_one(&self, cx: &Cx<'_>, id: &str) -> Result<Option<Vec<Obj>>> {
        let s = cx
            .api
            .get("/api/2.0/libraries/cluster-status", &[("cluster_id", id)])
            .await?;
        Ok(object(id, &s).map(|o| vec![o]))
    }
    fn dependents(&self, _id: &str) -> (Vec<String>, Vec<String>) {
        (Vec::new(), Vec::new())
    }
    fn terraform(&self, o: &Obj, tf: &mut Tf<'_>) {
        if !tf.knows(Kind::Clusters, &o.id) {
            // Its cluster is gone (or a job's): a library on the primary's id would fail.
            tf.note(format!(
                "the libraries of cluster `{}`, which the export does not have: not restored",
                o.id
            ));
            return;
        }
        for (i, lib) in o.body["libraries"]
            .as_array()
            .into_iter()
            .flatten()
            .enumerate()
        {
            let mut m: Map<String, Value> = tf.fit("databricks_library", lib);
            let cluster = tf.refer(Kind::Clusters, &o.id, "id");
            m.insert("cluster_id".into(), cluster);
            crate::terraform::shapes::remap_s3(
                &mut m,
                &["jar", "whl", "egg", "requirements"],
                "a library",
                tf,
            );
            tf.resource(
                "databricks_library",
                name("library", &format!("{}/{i}", o.id)),
                m,
            );
        }
    }
    fn audit(&self, r: &Record<'_>) -> Option<Hit> {
        r.is(
            "clusterLibraries",
            &["installLibraries", "uninstallLibraries"],
        )
        .then(|| r.param(&["clusterId", "cluster_id"]).map(Hit::Id))
        .flatten()
    }
    fn alias(&self, _o: &Obj) -> Option<String> {
        None
    }
    fn acl(&self) -> Option<Acl> {
        None
    }
    fn securable(&self) -> Option<Securable> {
        None
    }
    fn omitted(&self) -> &'static [(&'static str, &'static str)] {
        &[("cluster_id", "a reference to the cluster")]
    }
}
