//! Workspace service principals (SCIM). The one running the export is never a resource.

use async_trait::async_trait;
use serde_json::{Map, json};

use crate::api::list_scim;
use crate::audit::Record;
use crate::error::Result;
use crate::kind::{Acl, Cx, Hit, Kind, KindSpec, Securable, as_id};
use crate::obj::{Obj, Walk};
use crate::terraform::{Tf, name, shapes};

pub const PATH: &str = "/api/2.0/preview/scim/v2/ServicePrincipals";

#[derive(Debug)]
pub struct Spec;

#[async_trait]
impl KindSpec for Spec {
    async fn walk(&self, cx: &Cx<'_>, walk: &mut Walk) {
        if let Some(items) = walk.listed(Kind::ServicePrincipals, list_scim(cx.api, PATH).await) {
            for v in items {
                if let Some(id) = as_id(&v["id"]) {
                    walk.push(Obj::new(Kind::ServicePrincipals, id, v));
                }
            }
        }
    }
    fn parents(&self) -> &'static [Kind] {
        &[]
    }
    async fn read_one(&self, cx: &Cx<'_>, id: &str) -> Result<Option<Vec<Obj>>> {
        let v = cx.api.get(&format!("{PATH}/{id}"), &[]).await?;
        Ok(Some(vec![Obj::new(Kind::ServicePrincipals, id, v)]))
    }
    fn dependents(&self, _id: &str) -> (Vec<String>, Vec<String>) {
        (Vec::new(), Vec::new())
    }
    fn terraform(&self, o: &Obj, tf: &mut Tf<'_>) {
        let b = &o.body;
        let n = name("sp", &o.id);
        if tf.cfg.me.as_deref() == Some(o.id.as_str()) {
            // The principal running the export: it exists in DR as whoever applies.
            tf.data(
                "databricks_service_principal",
                n.clone(),
                json!({"application_id": b["applicationId"]}),
            );
            tf.local(
                n.clone(),
                json!(format!("${{data.databricks_service_principal.{n}.id}}")),
            );
            return;
        }
        tf.local(
            n.clone(),
            json!(format!("${{databricks_service_principal.{n}.id}}")),
        );
        let mut m = Map::new();
        m.insert("application_id".into(), b["applicationId"].clone());
        if let Some(d) = b["displayName"].as_str() {
            m.insert("display_name".into(), json!(d));
        }
        if let Some(a) = b["active"].as_bool() {
            m.insert("active".into(), json!(a));
        }
        shapes::entitlements(b, &mut m);
        tf.resource("databricks_service_principal", n, m);
    }
    fn audit(&self, r: &Record<'_>) -> Option<Hit> {
        if r.account_level() || !r.is("accounts", &["add", "updateUser", "delete"]) {
            return None;
        }
        let sp = r
            .param(&["targetUserName"])
            .is_some_and(|n| !n.contains('@'));
        sp.then(|| r.param(&["targetUserId"]).map(Hit::Id))
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
        &[
            ("id", "the DR workspace gives the principal its own id"),
            ("groups", "memberships are group_members objects"),
            ("schemas", "SCIM message metadata"),
            (
                "entitlements",
                "carried as the provider's flags (allow_cluster_create...)",
            ),
            ("meta", "SCIM message metadata"),
        ]
    }
}
