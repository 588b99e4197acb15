//! Secret scopes, with who may read them (`secret_acls`) and the names of their keys
//! (`secrets`). Never a value: no call here reads one, and a value written is not followed.

use async_trait::async_trait;
use serde_json::{Map, Value, json};

use crate::audit::Record;
use crate::error::Result;
use crate::kind::{Acl, Cx, Hit, Kind, KindSpec, Securable};
use crate::obj::{Obj, Walk, each, items_of, keyed};
use crate::terraform::{Tf, name};

#[derive(Debug)]
pub struct Spec;

/// A scope, its access list and its key names.
async fn read(cx: &Cx<'_>, scope: String, body: Value) -> Result<Vec<Obj>> {
    let acls = cx
        .api
        .get("/api/2.0/secrets/acls/list", &[("scope", &scope)])
        .await?;
    let keys = cx
        .api
        .get("/api/2.0/secrets/list", &[("scope", &scope)])
        .await?;
    let names: Vec<Value> = items_of(&keys, "secrets")
        .into_iter()
        .filter_map(|s| s["key"].as_str().map(|k| json!(k)))
        .collect();
    Ok(vec![
        Obj::new(Kind::SecretScopes, scope.clone(), body),
        Obj::new(Kind::SecretAcls, scope.clone(), acls),
        Obj::new(
            Kind::Secrets,
            scope.clone(),
            json!({"scope": scope, "keys": names}),
        ),
    ])
}

async fn scopes(cx: &Cx<'_>) -> Result<Vec<(String, Value)>> {
    let page = cx.api.get("/api/2.0/secrets/scopes/list", &[]).await?;
    Ok(items_of(&page, "scopes")
        .into_iter()
        .filter_map(|v| keyed(v, "name"))
        .collect())
}

#[async_trait]
impl KindSpec for Spec {
    async fn walk(&self, cx: &Cx<'_>, walk: &mut Walk) {
        if let Some(items) = walk.listed(Kind::SecretScopes, scopes(cx).await) {
            each(
                walk,
                Kind::SecretScopes,
                items,
                cx.concurrency,
                |scope, body| read(cx, scope, body),
            )
            .await;
        }
    }
    fn parents(&self) -> &'static [Kind] {
        &[]
    }
    async fn read_one(&self, cx: &Cx<'_>, id: &str) -> Result<Option<Vec<Obj>>> {
        match scopes(cx).await?.into_iter().find(|(n, _)| n == id) {
            Some((scope, body)) => Ok(Some(read(cx, scope, body).await?)),
            None => Ok(None),
        }
    }
    fn dependents(&self, id: &str) -> (Vec<String>, Vec<String>) {
        (
            vec![format!("secret_acls/{id}"), format!("secrets/{id}")],
            Vec::new(),
        )
    }
    fn terraform(&self, o: &Obj, tf: &mut Tf<'_>) {
        let mut m = Map::new();
        m.insert("name".into(), json!(o.id));
        if o.body["backend_type"] == "AZURE_KEYVAULT" {
            tf.note("an Azure Key Vault scope: restored as a Databricks-backed scope (its secrets must be put again)");
        }
        tf.resource("databricks_secret_scope", name("scope", &o.id), m);
    }
    fn audit(&self, r: &Record<'_>) -> Option<Hit> {
        // A value written (putSecret) is never followed; a key deleted changes the key list.
        r.is(
            "secrets",
            &[
                "createScope",
                "deleteScope",
                "putAcl",
                "deleteAcl",
                "deleteSecret",
            ],
        )
        .then(|| r.param(&["scope"]).map(Hit::Id))
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
            ("backend_type", "restored as a Databricks-backed scope"),
            ("is_databricks_managed", "set by the DR workspace"),
            ("keyvault_metadata", "an Azure Key Vault of the primary"),
        ]
    }
}
