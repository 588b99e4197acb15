//! Workspace object permissions (`/api/2.0/permissions/<type>/<id>`), read with their objects:
//! `permissions/<type>/<id>`. In DR a `databricks_permissions` on the object's resource (a
//! workspace object by its path: a new workspace gives it a new id), the non-inherited levels
//! of each principal, never the `admins` group's (the provider refuses to manage them).

use async_trait::async_trait;
use serde_json::{Map, json};

use crate::audit::Record;
use crate::error::{Error, Result};
use crate::kind::{Acl, Cx, Hit, Kind, KindSpec, Securable};
use crate::obj::{Obj, Walk};
use crate::terraform::{Tf, name, shapes};

#[derive(Debug)]
pub struct Spec;

/// The kind and its [`Acl`] whose permissions `id` (`<type>/<object id>`) are, and the object id.
pub fn split(id: &str) -> Option<(Kind, Acl, &str)> {
    Kind::ALL
        .iter()
        .filter_map(|k| {
            let acl = k.spec().acl()?;
            let rest = id.strip_prefix(acl.api)?.strip_prefix('/')?;
            Some((*k, acl, rest))
        })
        .max_by_key(|(_, a, _)| a.api.len())
}

#[async_trait]
impl KindSpec for Spec {
    async fn walk(&self, _cx: &Cx<'_>, _walk: &mut Walk) {}
    fn parents(&self) -> &'static [Kind] {
        &[] // complete when every kind with permissions is (see Walk::close)
    }
    async fn read_one(&self, _cx: &Cx<'_>, _id: &str) -> Result<Option<Vec<Obj>>> {
        Err(Error::Deferred {
            kind: "permissions".into(),
            reason: "read with their object".into(),
        })
    }
    fn dependents(&self, _id: &str) -> (Vec<String>, Vec<String>) {
        (Vec::new(), Vec::new())
    }
    fn terraform(&self, o: &Obj, tf: &mut Tf<'_>) {
        let Some((kind, acl, id)) = split(&o.id) else {
            tf.note(format!("permissions of an unknown object type `{}`", o.id));
            return;
        };
        let target = match kind {
            Kind::Notebooks | Kind::Directories | Kind::WorkspaceFiles => {
                let Some(path) = o.body["path"].as_str() else {
                    tf.note("workspace object permissions without the object's path");
                    return;
                };
                if kind == Kind::Directories && super::directories::built_in(path) {
                    json!(path)
                } else {
                    json!(format!(
                        "${{{}.{}.{}}}",
                        acl.resource,
                        name(acl.prefix, path),
                        acl.ref_attr
                    ))
                }
            }
            Kind::ClusterPolicies => json!(shapes::policy_ref(id)),
            _ => json!(format!(
                "${{{}.{}.{}}}",
                acl.resource,
                name(acl.prefix, id),
                acl.ref_attr
            )),
        };
        let list = shapes::access_control(&o.body);
        if list.is_empty() {
            return; // only inherited levels, or only the admins'
        }
        let mut m = Map::new();
        m.insert(acl.attr.into(), target);
        m.insert("access_control".into(), list.into());
        tf.resource(
            "databricks_permissions",
            name(&format!("perms_{}", acl.api.replace(['/', '-'], "_")), id),
            m,
        );
    }
    fn audit(&self, _r: &Record<'_>) -> Option<Hit> {
        None // an ACL change re-reads its object (each kind follows its own)
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
            ("object_id", "the object is referenced by its resource"),
            ("object_type", "the object is referenced by its resource"),
            ("path", "the object is referenced by its resource"),
            (
                "access_control_list.display_name",
                "the principal's name, shown by the workspace",
            ),
            (
                "access_control_list.all_permissions.inherited",
                "only direct levels are restored: inherited ones come with the parent's",
            ),
            (
                "access_control_list.all_permissions.inherited_from_object",
                "inherited levels come with the parent's",
            ),
        ]
    }
}
