//! IP access lists of the workspace.

use async_trait::async_trait;
use serde_json::{Map, Value};

use crate::audit::Record;
use crate::error::Result;
use crate::kind::{Acl, Cx, Hit, Kind, KindSpec, Securable, as_id};
use crate::obj::{Obj, Walk, items_of};
use crate::terraform::{Tf, name};

#[derive(Debug)]
pub struct Spec;

const PATH: &str = "/api/2.0/ip-access-lists";

/// Counts and audit fields move without a configuration change.
fn configuration(mut v: Value) -> Value {
    if let Value::Object(o) = &mut v {
        o.remove("address_count");
    }
    v
}

#[async_trait]
impl KindSpec for Spec {
    async fn walk(&self, cx: &Cx<'_>, walk: &mut Walk) {
        let listed = cx.api.get(PATH, &[]).await;
        if let Some(page) = walk.listed(Kind::IpAccessLists, listed) {
            for v in items_of(&page, "ip_access_lists") {
                if let Some(id) = as_id(&v["list_id"]) {
                    walk.push(Obj::new(Kind::IpAccessLists, id, configuration(v)));
                }
            }
        }
    }
    fn parents(&self) -> &'static [Kind] {
        &[]
    }
    async fn read_one(&self, cx: &Cx<'_>, id: &str) -> Result<Option<Vec<Obj>>> {
        let v = cx.api.get(&format!("{PATH}/{id}"), &[]).await?;
        Ok(Some(vec![Obj::new(
            Kind::IpAccessLists,
            id,
            configuration(v["ip_access_list"].clone()),
        )]))
    }
    fn dependents(&self, _id: &str) -> (Vec<String>, Vec<String>) {
        (Vec::new(), Vec::new())
    }
    fn terraform(&self, o: &Obj, tf: &mut Tf<'_>) {
        let m: Map<String, Value> = tf.fit("databricks_ip_access_list", &o.body);
        tf.resource("databricks_ip_access_list", name("ip_list", &o.id), m);
    }
    fn audit(&self, r: &Record<'_>) -> Option<Hit> {
        (!r.account_level()
            && r.is(
                "accounts",
                &[
                    "createIpAccessList",
                    "updateIpAccessList",
                    "deleteIpAccessList",
                ],
            ))
        .then(|| r.param(&["ipAccessListId"]).map(Hit::Id))
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
            ("list_id", "the DR workspace gives the list its own id"),
            ("created_at", "set by the DR workspace"),
            ("created_by", "set by the DR workspace"),
            ("updated_at", "set by the DR workspace"),
            ("updated_by", "set by the DR workspace"),
        ]
    }
}
