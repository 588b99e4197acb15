//! Lakeview (AI/BI) dashboards, with their serialized definition (read one at a time: the list
//! gives summaries); trashed ones are not listed.

use async_trait::async_trait;
use serde_json::{Map, Value};

use crate::api::{Token, list_paged};
use crate::audit::Record;
use crate::error::Result;
use crate::kind::{Acl, Cx, Hit, Kind, KindSpec, Securable, as_id};
use crate::obj::{Obj, Walk, each};
use crate::terraform::{Tf, name};

#[derive(Debug)]
pub struct Spec;

const ACL: Acl = Acl {
    api: "dashboards",
    attr: "dashboard_id",
    resource: "databricks_dashboard",
    prefix: "dashboard",
    ref_attr: "id",
};

const PATH: &str = "/api/2.0/lakeview/dashboards";

async fn read(cx: &Cx<'_>, id: &str) -> Result<Option<Vec<Obj>>> {
    let mut body = cx.api.get(&format!("{PATH}/{id}"), &[]).await?;
    if body["lifecycle_state"] == "TRASHED" {
        return Ok(None);
    }
    if let Value::Object(o) = &mut body {
        o.remove("etag"); // changes with each read of a draft
    }
    Ok(Some(
        super::with_permissions(cx.api, Obj::new(Kind::Dashboards, id, body)).await?,
    ))
}

#[async_trait]
impl KindSpec for Spec {
    async fn walk(&self, cx: &Cx<'_>, walk: &mut Walk) {
        let listed = list_paged(
            cx.api,
            PATH,
            &[("page_size", "100")],
            "dashboards",
            Token::PageToken,
        )
        .await;
        if let Some(items) = walk.listed(Kind::Dashboards, listed) {
            let ids: Vec<(String, ())> = items
                .iter()
                .filter_map(|v| as_id(&v["dashboard_id"]))
                .map(|id| (id, ()))
                .collect();
            each(
                walk,
                Kind::Dashboards,
                ids,
                cx.concurrency,
                |id, ()| async move { Ok(read(cx, &id).await?.unwrap_or_default()) },
            )
            .await;
        }
    }
    fn parents(&self) -> &'static [Kind] {
        &[]
    }
    async fn read_one(&self, cx: &Cx<'_>, id: &str) -> Result<Option<Vec<Obj>>> {
        read(cx, id).await
    }
    fn dependents(&self, id: &str) -> (Vec<String>, Vec<String>) {
        (super::acl_key(Some(ACL), id), Vec::new())
    }
    fn terraform(&self, o: &Obj, tf: &mut Tf<'_>) {
        let mut m: Map<String, Value> = tf.fit("databricks_dashboard", &o.body);
        tf.refer_at(&mut m, "warehouse_id", Kind::SqlWarehouses, "id");
        m.remove("path"); // the provider derives it from parent_path and display_name
        m.remove("etag"); // the primary's revision: the DR dashboard has its own
        tf.resource("databricks_dashboard", name("dashboard", &o.id), m);
    }
    fn audit(&self, r: &Record<'_>) -> Option<Hit> {
        if r.is("dashboards", &["cloneDashboard"]) {
            return r.param(&["new_dashboard_id"]).map(Hit::Id);
        }
        r.is(
            "dashboards",
            &[
                "createDashboard",
                "updateDashboard",
                "publishDashboard",
                "unpublishDashboard",
                "trashDashboard",
                "restoreDashboard",
                "deleteDashboard",
            ],
        )
        .then(|| r.param(&["dashboard_id"]).map(Hit::Id))
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
                "dashboard_id",
                "the DR workspace gives the dashboard its own id",
            ),
            ("etag", "the primary's revision of the dashboard"),
            ("path", "derived from parent_path and display_name"),
            ("create_time", "set by the DR workspace"),
            ("update_time", "set by the DR workspace"),
            ("lifecycle_state", "set by the DR workspace"),
        ]
    }
}
