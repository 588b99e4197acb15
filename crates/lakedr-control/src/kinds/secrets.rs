//! The keys of a secret scope, by name (read with the scope). In DR each is a `databricks_secret`
//! whose value is a sensitive variable with no default: values are never exported, the operator
//! gives them at apply.

use async_trait::async_trait;
use serde_json::{Map, json};

use crate::audit::Record;
use crate::error::{Error, Result};
use crate::kind::{Acl, Cx, Hit, Kind, KindSpec, Securable};
use crate::obj::{Obj, Walk};
use crate::terraform::{Tf, name, vars};

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
            kind: "secrets".into(),
            reason: "read with their scope".into(),
        })
    }
    fn dependents(&self, _id: &str) -> (Vec<String>, Vec<String>) {
        (Vec::new(), Vec::new())
    }
    fn terraform(&self, o: &Obj, tf: &mut Tf<'_>) {
        for key in o.body["keys"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|k| k.as_str())
        {
            let mut m = Map::new();
            m.insert(
                "scope".into(),
                json!(format!(
                    "${{databricks_secret_scope.{}.name}}",
                    name("scope", &o.id)
                )),
            );
            m.insert("key".into(), json!(key));
            m.insert(
                "string_value".into(),
                json!(format!("${{var.{}}}", vars::secret_variable(&o.id, key))),
            );
            tf.resource(
                "databricks_secret",
                name("secret", &format!("{}/{key}", o.id)),
                m,
            );
        }
    }
    fn audit(&self, _r: &Record<'_>) -> Option<Hit> {
        None // key changes re-read the scope
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
