//! Unity Catalog registered models, with their grants and every version
//! ([`super::uc_model_versions`]). The storage of a managed model is the DR metastore's to
//! choose; aliases name versions, which are restored with their artifacts.

use async_trait::async_trait;
use futures::{StreamExt, TryStreamExt};
use serde_json::{Map, Value};

use crate::api::{Token, list_paged};
use crate::audit::Record;
use crate::error::Result;
use crate::kind::{Acl, Cx, Hit, Kind, KindSpec, Securable, as_id};
use crate::obj::{Obj, Walk, each, enc, keyed};
use crate::terraform::{Tf, name, shapes};

#[derive(Debug)]
pub struct Spec;

const SEC: Securable = Securable {
    api: "function",
    attr: "model",
    resource: "databricks_registered_model",
    prefix: "uc_model",
    ref_attr: "id",
};

async fn read(cx: &Cx<'_>, full: String, body: Value) -> Result<Vec<Obj>> {
    let mut out = vec![super::grants(cx.api, SEC.api, &full).await?];
    let versions = list_paged(
        cx.api,
        &format!("/api/2.1/unity-catalog/models/{}/versions", enc(&full)),
        &[("max_results", "1000")],
        "model_versions",
        Token::PageToken,
    )
    .await?;
    let full_name = &full;
    let read =
        versions.into_iter().filter_map(|v| {
            let version = as_id(&v["version"])?;
            Some(async move {
                super::uc_model_versions::with_artifacts(cx, full_name, &version, v).await
            })
        });
    let got: Vec<Obj> = futures::stream::iter(read)
        .buffered(4)
        .try_collect()
        .await?;
    out.extend(got);
    out.push(Obj::new(Kind::UcModels, full, body));
    Ok(out)
}

#[async_trait]
impl KindSpec for Spec {
    async fn walk(&self, cx: &Cx<'_>, walk: &mut Walk) {
        if !walk.complete.contains(&Kind::Metastore) {
            return;
        }
        let listed = list_paged(
            cx.api,
            "/api/2.1/unity-catalog/models",
            &[("max_results", "1000")],
            "registered_models",
            Token::PageToken,
        )
        .await;
        if let Some(items) = walk.listed(Kind::UcModels, listed) {
            let items: Vec<(String, Value)> = items
                .into_iter()
                .filter_map(|m| keyed(m, "full_name"))
                .collect();
            each(walk, Kind::UcModels, items, cx.concurrency, |full, body| {
                read(cx, full, body)
            })
            .await;
        }
    }
    fn parents(&self) -> &'static [Kind] {
        &[]
    }
    async fn read_one(&self, cx: &Cx<'_>, id: &str) -> Result<Option<Vec<Obj>>> {
        let body = cx
            .api
            .get(&format!("/api/2.1/unity-catalog/models/{}", enc(id)), &[])
            .await?;
        Ok(Some(read(cx, id.to_string(), body).await?))
    }
    fn dependents(&self, id: &str) -> (Vec<String>, Vec<String>) {
        (
            super::grants_key(Some(SEC), id),
            vec![format!("uc_model_versions/{id}/")],
        )
    }
    fn terraform(&self, o: &Obj, tf: &mut Tf<'_>) {
        let b = &o.body;
        let mut m: Map<String, Value> = tf.fit("databricks_registered_model", b);
        m.remove("aliases");
        m.remove("storage_location");
        shapes::parent_refs(b, &mut m);
        tf.resource("databricks_registered_model", name("uc_model", &o.id), m);
    }
    fn audit(&self, r: &Record<'_>) -> Option<Hit> {
        if r.is("unityCatalog", &["createRegisteredModel"]) {
            return r
                .three(&["catalog_name"], &["schema_name"], &["name"])
                .map(Hit::Id);
        }
        if r.is(
            "unityCatalog",
            &[
                "updateRegisteredModel",
                "deleteRegisteredModel",
                "setRegisteredModelAlias",
                "deleteRegisteredModelAlias",
            ],
        ) {
            let old = r.param(&["full_name_arg", "full_name"])?;
            return Some(match r.param(&["new_name"]) {
                Some(new) => Hit::Renamed(old.clone(), Record::sibling(&old, &new)),
                None => Hit::Id(old),
            });
        }
        super::catalogs::grant_change(r, "function")
    }
    fn alias(&self, _o: &Obj) -> Option<String> {
        None
    }
    fn acl(&self) -> Option<Acl> {
        None
    }
    fn securable(&self) -> Option<Securable> {
        Some(SEC)
    }
    fn omitted(&self) -> &'static [(&'static str, &'static str)] {
        &[
            ("full_name", "the catalog, schema and name"),
            (
                "storage_location",
                "the DR metastore places a managed model",
            ),
            (
                "aliases",
                "aliases name versions, restored with their artifacts",
            ),
            ("metastore_id", "the DR metastore's"),
            ("created_at", "set by the DR metastore"),
            ("created_by", "set by the DR metastore"),
            ("updated_at", "set by the DR metastore"),
            ("updated_by", "set by the DR metastore"),
        ]
    }
}
