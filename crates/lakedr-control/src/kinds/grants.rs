//! Unity Catalog grants, read with their securables: `grants/<securable type>/<full name>`. In
//! DR a `databricks_grants` on the securable's resource; a grant to the workspace-local `admins`
//! group is left out (Unity Catalog grants name account principals).

use async_trait::async_trait;
use serde_json::{Map, json};

use crate::audit::Record;
use crate::error::{Error, Result};
use crate::kind::{Acl, Cx, Hit, Kind, KindSpec, Securable, kind_of_securable};
use crate::obj::{Obj, Walk};
use crate::terraform::{Tf, name, shapes};

#[derive(Debug)]
pub struct Spec;

#[async_trait]
impl KindSpec for Spec {
    async fn walk(&self, _cx: &Cx<'_>, _walk: &mut Walk) {}
    fn parents(&self) -> &'static [Kind] {
        &[] // complete when every securable kind is (see Walk::close)
    }
    async fn read_one(&self, _cx: &Cx<'_>, _id: &str) -> Result<Option<Vec<Obj>>> {
        Err(Error::Deferred {
            kind: "grants".into(),
            reason: "read with their securable".into(),
        })
    }
    fn dependents(&self, _id: &str) -> (Vec<String>, Vec<String>) {
        (Vec::new(), Vec::new())
    }
    fn terraform(&self, o: &Obj, tf: &mut Tf<'_>) {
        let Some((securable, full)) = o.id.split_once('/') else {
            return;
        };
        let Some(kind) = kind_of_securable(securable) else {
            tf.note(format!("grants on an unknown securable type `{securable}`"));
            return;
        };
        let Some(sec) = kind.spec().securable() else {
            return;
        };
        if kind == Kind::Catalogs && ["system", "__databricks_internal"].contains(&full) {
            return;
        }
        let grants = shapes::grant_list(&o.body, tf);
        if grants.is_empty() {
            return;
        }
        let mut m = Map::new();
        m.insert(
            sec.attr.into(),
            json!(format!(
                "${{{}.{}.{}}}",
                sec.resource,
                name(sec.prefix, full),
                sec.ref_attr
            )),
        );
        m.insert("grant".into(), grants.into());
        tf.resource(
            "databricks_grants",
            name(&format!("grants_{securable}"), full),
            m,
        );
    }
    fn audit(&self, _r: &Record<'_>) -> Option<Hit> {
        None // a grants change re-reads its securable (each kind follows its own)
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
        &[]
    }
}
