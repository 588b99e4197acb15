//! Who may read a secret scope (read with the scope).

use async_trait::async_trait;
use serde_json::json;

use crate::audit::Record;
use crate::error::{Error, Result};
use crate::kind::{Acl, Cx, Hit, Kind, KindSpec, Securable};
use crate::obj::{Obj, Walk};
use crate::terraform::{Tf, name};

#[derive(Debug)]
pub struct Spec;

#[async_trait]
impl KindSpec for Spec {
    async fn walk(&self, _cx: &Cx<'_>, _walk: &mut Walk) {}
    fn parents(&self) -> &'static [Kind] {
        &[Kind::SecretScopes]
    }
    async fn read_one(&self, _cx: &Cx<'_>, _id: &str) -> Result<Option<Vec<Obj>>> {
        Err(Error::Deferred {
            kind: "secret_acls".into(),
            reason: "read with their scope".into(),
        })
    }
    fn dependents(&self, _id: &str) -> (Vec<String>, Vec<String>) {
        (Vec::new(), Vec::new())
    }
    fn terraform(&self, o: &Obj, tf: &mut Tf<'_>) {
        for a in o.body["items"].as_array().into_iter().flatten() {
            let (Some(p), Some(perm)) = (a["principal"].as_str(), a["permission"].as_str()) else {
                continue;
            };
            let mut m = serde_json::Map::new();
            m.insert(
                "scope".into(),
                json!(format!(
                    "${{databricks_secret_scope.{}.name}}",
                    name("scope", &o.id)
                )),
            );
            m.insert("principal".into(), json!(p));
            m.insert("permission".into(), json!(perm));
            tf.resource(
                "databricks_secret_acl",
                name("secret_acl", &format!("{}/{p}", o.id)),
                m,
            );
        }
    }
    fn audit(&self, _r: &Record<'_>) -> Option<Hit> {
        None // ACL changes re-read the scope
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
