//! Workspace groups (SCIM) with their members (`group_members`, read with each group: a large
//! group comes without its members in the list and is read alone).
//!
//! In DR: a workspace-local group is a `databricks_group`; the built-in `admins` and `users`
//! are there already (data sources, by name); an account group is given to the workspace with a
//! `databricks_permission_assignment` (it keeps its account id).

use async_trait::async_trait;
use serde_json::{Map, Value, json};

use crate::api::list_scim;
use crate::audit::Record;
use crate::error::Result;
use crate::kind::{Acl, Cx, Hit, Kind, KindSpec, Securable, as_id};
use crate::obj::{Obj, Walk, each};
use crate::terraform::{Tf, name, shapes};

pub const PATH: &str = "/api/2.0/preview/scim/v2/Groups";

/// The groups every workspace has.
pub const BUILT_IN: &[&str] = &["admins", "users"];

/// `WorkspaceGroup` or `Group` (an account group).
pub fn group_type(g: &Value) -> &str {
    g["meta"]["resourceType"]
        .as_str()
        .unwrap_or("WorkspaceGroup")
}

/// How a group is referred to in DR: the local its document declares (a resource, the data
/// source of a built-in group, an account group's assignment).
pub fn group_ref(id: &str) -> String {
    format!("${{local.{}}}", name("group", id))
}

#[derive(Debug)]
pub struct Spec;

/// A group and its members, read alone when the list left the members out.
async fn group_with_members(cx: &Cx<'_>, id: String, mut g: Value) -> Result<Vec<Obj>> {
    if g.get("members").is_none() {
        g = cx.api.get(&format!("{PATH}/{id}"), &[]).await?;
    }
    let display = g["displayName"].as_str().unwrap_or_default().to_string();
    let ty = group_type(&g).to_string();
    let mut out = Vec::new();
    for m in g["members"].as_array().into_iter().flatten() {
        let Some(mid) = as_id(&m["value"]) else {
            continue;
        };
        out.push(Obj::new(
            Kind::GroupMembers,
            format!("{id}/{mid}"),
            json!({"group_id": id, "group": display, "group_type": ty, "member_id": mid,
                   "member": m["display"], "ref": m["$ref"]}),
        ));
    }
    if let Value::Object(o) = &mut g {
        o.remove("members");
    }
    out.push(Obj::new(Kind::Groups, id, g));
    Ok(out)
}

#[async_trait]
impl KindSpec for Spec {
    async fn walk(&self, cx: &Cx<'_>, walk: &mut Walk) {
        let Some(items) = walk.listed(Kind::Groups, list_scim(cx.api, PATH).await) else {
            return;
        };
        let items: Vec<(String, Value)> = items
            .into_iter()
            .filter_map(|g| Some((as_id(&g["id"])?, g)))
            .collect();
        each(walk, Kind::Groups, items, cx.concurrency, |id, g| {
            group_with_members(cx, id, g)
        })
        .await;
    }
    fn parents(&self) -> &'static [Kind] {
        &[]
    }
    async fn read_one(&self, cx: &Cx<'_>, id: &str) -> Result<Option<Vec<Obj>>> {
        let g = cx.api.get(&format!("{PATH}/{id}"), &[]).await?;
        Ok(Some(group_with_members(cx, id.to_string(), g).await?))
    }
    fn dependents(&self, id: &str) -> (Vec<String>, Vec<String>) {
        (Vec::new(), vec![format!("group_members/{id}/")])
    }
    fn terraform(&self, o: &Obj, tf: &mut Tf<'_>) {
        let b = &o.body;
        let display = b["displayName"].as_str().unwrap_or_default();
        let n = name("group", &o.id);
        if BUILT_IN.contains(&display) {
            tf.data(
                "databricks_group",
                n.clone(),
                json!({"display_name": display}),
            );
            tf.local(
                n.clone(),
                json!(format!("${{data.databricks_group.{n}.id}}")),
            );
            return;
        }
        if group_type(b) == "Group" {
            let a = name("account_group", &o.id);
            let mut m = Map::new();
            m.insert("principal_id".into(), json!(o.id));
            m.insert("permissions".into(), json!(["USER"]));
            tf.local(
                n,
                json!(format!(
                    "${{databricks_permission_assignment.{a}.principal_id}}"
                )),
            );
            tf.resource("databricks_permission_assignment", a, m);
            return;
        }
        tf.local(
            n,
            json!(format!("${{databricks_group.{}.id}}", name("group", &o.id))),
        );
        let mut m = Map::new();
        m.insert("display_name".into(), json!(display));
        if let Some(e) = b["externalId"].as_str() {
            m.insert("external_id".into(), json!(e));
        }
        shapes::entitlements(b, &mut m);
        tf.resource("databricks_group", name("group", &o.id), m);
    }
    fn audit(&self, r: &Record<'_>) -> Option<Hit> {
        if r.account_level()
            || !r.is(
                "accounts",
                &[
                    "createGroup",
                    "updateGroup",
                    "removeGroup",
                    "addPrincipalToGroup",
                    "removePrincipalFromGroup",
                ],
            )
        {
            return None;
        }
        r.param(&["targetGroupId"]).map(Hit::Id)
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
            (
                "id",
                "the DR workspace gives a workspace group its own id (an account group keeps its id: principal_id)",
            ),
            ("schemas", "SCIM message metadata"),
            (
                "meta",
                "SCIM message metadata (its resourceType decides the resource)",
            ),
            ("displayName", "a built-in group is a data source by name"),
            (
                "entitlements",
                "an account group's entitlements are the account's",
            ),
            (
                "externalId",
                "an account group's external id is the account's",
            ),
        ]
    }
}
