//! Workspace users (SCIM). The principal running the export exists in DR as whoever applies the
//! Terraform: it is never a resource.

use async_trait::async_trait;
use serde_json::{Map, json};

use crate::api::list_scim;
use crate::audit::Record;
use crate::error::Result;
use crate::kind::{Acl, Cx, Hit, Kind, KindSpec, Securable, as_id};
use crate::obj::{Obj, Walk};
use crate::terraform::{Tf, name, shapes};

pub const PATH: &str = "/api/2.0/preview/scim/v2/Users";

#[derive(Debug)]
pub struct Spec;

#[async_trait]
impl KindSpec for Spec {
    async fn walk(&self, cx: &Cx<'_>, walk: &mut Walk) {
        if let Some(items) = walk.listed(Kind::Users, list_scim(cx.api, PATH).await) {
            for v in items {
                if let Some(id) = as_id(&v["id"]) {
                    walk.push(Obj::new(Kind::Users, id, v));
                }
            }
        }
    }
    fn parents(&self) -> &'static [Kind] {
        &[]
    }
    async fn read_one(&self, cx: &Cx<'_>, id: &str) -> Result<Option<Vec<Obj>>> {
        let v = cx.api.get(&format!("{PATH}/{id}"), &[]).await?;
        Ok(Some(vec![Obj::new(Kind::Users, id, v)]))
    }
    fn dependents(&self, _id: &str) -> (Vec<String>, Vec<String>) {
        (Vec::new(), Vec::new())
    }
    fn terraform(&self, o: &Obj, tf: &mut Tf<'_>) {
        let b = &o.body;
        let n = name("user", &o.id);
        if tf.cfg.me.as_deref() == Some(o.id.as_str()) {
            // The principal running the export: it exists in DR as whoever applies.
            tf.data(
                "databricks_user",
                n.clone(),
                json!({"user_name": b["userName"]}),
            );
            tf.local(
                n.clone(),
                json!(format!("${{data.databricks_user.{n}.id}}")),
            );
            return;
        }
        tf.local(n.clone(), json!(format!("${{databricks_user.{n}.id}}")));
        let mut m = Map::new();
        m.insert("user_name".into(), b["userName"].clone());
        if let Some(d) = b["displayName"].as_str() {
            m.insert("display_name".into(), json!(d));
        }
        if let Some(a) = b["active"].as_bool() {
            m.insert("active".into(), json!(a));
        }
        if let Some(e) = b["externalId"].as_str() {
            m.insert("external_id".into(), json!(e));
        }
        shapes::entitlements(b, &mut m);
        tf.resource("databricks_user", n, m);
    }
    fn audit(&self, r: &Record<'_>) -> Option<Hit> {
        if r.account_level()
            || !r.is(
                "accounts",
                &[
                    "add",
                    "updateUser",
                    "delete",
                    "activateUser",
                    "deactivateUser",
                ],
            )
        {
            return None;
        }
        // A service principal's user name is its application id, not an email.
        let user = r.param(&["targetUserName"]).is_none_or(|n| n.contains('@'));
        user.then(|| r.param(&["targetUserId"]).map(Hit::Id))
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
            ("id", "the DR workspace gives the user its own id"),
            ("emails", "SCIM derives them from the user name"),
            ("groups", "memberships are group_members objects"),
            ("schemas", "SCIM message metadata"),
            (
                "entitlements",
                "carried as the provider's flags (allow_cluster_create...)",
            ),
            ("meta", "SCIM message metadata"),
            ("name", "SCIM derives it from the display name"),
        ]
    }
}
