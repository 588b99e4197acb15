//! Group memberships, read with their group ([`super::groups`]). Members of the built-in
//! `users` group are every user: not resources.

use async_trait::async_trait;
use serde_json::{Map, Value, json};

use crate::audit::Record;
use crate::error::{Error, Result};
use crate::kind::{Acl, Cx, Hit, Kind, KindSpec, Securable};
use crate::obj::{Obj, Walk};
use crate::terraform::{Tf, name};

#[derive(Debug)]
pub struct Spec;

/// The reference to a member (user, service principal, group) in DR.
fn member_ref(b: &Value) -> Option<String> {
    let id = b["member_id"].as_str()?;
    let r = b["ref"].as_str()?;
    Some(match r.split('/').next()? {
        "Users" => format!("${{local.{}}}", name("user", id)),
        "ServicePrincipals" => format!("${{local.{}}}", name("sp", id)),
        "Groups" => super::groups::group_ref(id),
        _ => return None,
    })
}

#[async_trait]
impl KindSpec for Spec {
    async fn walk(&self, _cx: &Cx<'_>, _walk: &mut Walk) {}
    fn parents(&self) -> &'static [Kind] {
        &[Kind::Groups]
    }
    async fn read_one(&self, _cx: &Cx<'_>, _id: &str) -> Result<Option<Vec<Obj>>> {
        Err(Error::Deferred {
            kind: "group_members".into(),
            reason: "memberships are read with their group".into(),
        })
    }
    fn dependents(&self, _id: &str) -> (Vec<String>, Vec<String>) {
        (Vec::new(), Vec::new())
    }
    fn terraform(&self, o: &Obj, tf: &mut Tf<'_>) {
        let b = &o.body;
        if b["group"] == "users" {
            return; // every user is a member of `users`
        }
        if b["group_type"] == "Group" {
            tf.note("a member of an account group: the account manages it");
            return;
        }
        let (Some(g), Some(member)) = (b["group_id"].as_str(), member_ref(b)) else {
            tf.note("a member of a kind of principal the export does not know");
            return;
        };
        let group = super::groups::group_ref(g);
        let mut m = Map::new();
        m.insert("group_id".into(), json!(group));
        m.insert("member_id".into(), json!(member));
        tf.resource("databricks_group_member", name("member", &o.id), m);
    }
    fn audit(&self, _r: &Record<'_>) -> Option<Hit> {
        None // membership changes re-read the group (see groups)
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
            ("group", "the group's name: the reference names the group"),
            (
                "member",
                "the member's name: the reference names the member",
            ),
            (
                "ref",
                "the member's SCIM type: the reference names its resource",
            ),
            ("group_type", "decides the group's resource"),
        ]
    }
}
