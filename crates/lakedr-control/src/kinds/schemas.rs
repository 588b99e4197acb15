//! Unity Catalog schemas of the restorable catalogs (`information_schema` is every catalog's),
//! with their grants; their tables and volumes are walked by [`super::tables`] and
//! [`super::volumes`].

use async_trait::async_trait;
use serde_json::{Map, Value};

use crate::api::{Token, list_paged};
use crate::audit::Record;
use crate::error::Result;
use crate::kind::{Acl, Cx, Hit, Kind, KindSpec, Securable};
use crate::obj::{Obj, Walk, each, keyed};
use crate::terraform::{Tf, name, shapes};

#[derive(Debug)]
pub struct Spec;

const SEC: Securable = Securable {
    api: "schema",
    attr: "schema",
    resource: "databricks_schema",
    prefix: "schema",
    ref_attr: "id",
};

#[async_trait]
impl KindSpec for Spec {
    async fn walk(&self, cx: &Cx<'_>, walk: &mut Walk) {
        if !walk.complete.contains(&Kind::Catalogs) {
            return;
        }
        let catalogs: Vec<String> = walk
            .hints
            .iter()
            .filter(|(k, _)| *k == Kind::Schemas)
            .map(|(_, c)| c.clone())
            .collect();
        let mut schemas = Vec::new();
        let mut ok = true;
        for c in catalogs {
            match list_paged(
                cx.api,
                "/api/2.1/unity-catalog/schemas",
                &[("catalog_name", &c)],
                "schemas",
                Token::PageToken,
            )
            .await
            {
                Ok(items) => schemas.extend(
                    items
                        .into_iter()
                        .filter(|s| s["name"] != "information_schema")
                        .filter_map(|s| keyed(s, "full_name")),
                ),
                Err(e) => {
                    ok = false;
                    walk.fail(Kind::Schemas, &c, &e);
                }
            }
        }
        if ok {
            walk.complete.push(Kind::Schemas);
        }
        for (full, _) in &schemas {
            walk.hints.push((Kind::Tables, full.clone()));
        }
        each(
            walk,
            Kind::Schemas,
            schemas,
            cx.concurrency,
            |full, body| super::with_grants(cx.api, Obj::new(Kind::Schemas, full, body)),
        )
        .await;
    }
    fn parents(&self) -> &'static [Kind] {
        &[]
    }
    async fn read_one(&self, cx: &Cx<'_>, id: &str) -> Result<Option<Vec<Obj>>> {
        super::read_uc(cx, Kind::Schemas, "schemas", id, |b| b).await
    }
    fn dependents(&self, id: &str) -> (Vec<String>, Vec<String>) {
        (super::grants_key(Some(SEC), id), Vec::new())
    }
    fn terraform(&self, o: &Obj, tf: &mut Tf<'_>) {
        let b = &o.body;
        if !matches!(b["catalog_type"].as_str(), None | Some("MANAGED_CATALOG")) {
            return;
        }
        let mut m: Map<String, Value> = tf.fit("databricks_schema", b);
        m.remove("storage_root");
        shapes::parent_refs(b, &mut m);
        tf.resource("databricks_schema", name("schema", &o.id), m);
        // Managed tables and volumes under the schema's own root are declared over its copy.
        if let Some(root) = b["storage_root"].as_str() {
            super::metastore::replica(tf, root, "the schema's managed storage");
        }
    }
    fn audit(&self, r: &Record<'_>) -> Option<Hit> {
        if r.is("unityCatalog", &["createSchema"]) {
            return Some(Hit::Id(format!(
                "{}.{}",
                r.param(&["catalog_name"])?,
                r.param(&["name"])?
            )));
        }
        if r.is("unityCatalog", &["updateSchema", "deleteSchema"]) {
            let old = r.param(&["full_name_arg", "full_name"])?;
            return Some(match r.param(&["new_name"]) {
                Some(new) => Hit::Renamed(old.clone(), Record::sibling(&old, &new)),
                None => Hit::Id(old),
            });
        }
        super::catalogs::grant_change(r, "schema")
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
            (
                "storage_root",
                "new managed data in DR goes to the DR metastore",
            ),
            ("storage_location", "computed"),
            ("catalog_type", "computed"),
            ("metastore_id", "the DR metastore's"),
            ("full_name", "the catalog and the name"),
            ("created_at", "set by the DR metastore"),
            ("created_by", "set by the DR metastore"),
            ("updated_at", "set by the DR metastore"),
            ("updated_by", "set by the DR metastore"),
            ("effective_predictive_optimization_flag", "computed"),
            ("schema_id", "the DR metastore gives the schema its own id"),
        ]
    }
}
