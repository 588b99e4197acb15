//! Unity Catalog catalogs, with their grants. Built-in, internal, foreign and Delta Sharing
//! catalogs are not restored (the DR metastore has its own `system`; the others come from their
//! connections and shares); the schemas of the managed ones are walked by [`super::schemas`].

use async_trait::async_trait;
use serde_json::{Map, Value, json};

use crate::api::{Token, list_paged};
use crate::audit::Record;
use crate::error::Result;
use crate::kind::{Acl, Cx, Hit, Kind, KindSpec, Securable};
use crate::obj::{Obj, Walk, each, keyed};
use crate::terraform::{Tf, name};

#[derive(Debug)]
pub struct Spec;

const SEC: Securable = Securable {
    api: "catalog",
    attr: "catalog",
    resource: "databricks_catalog",
    prefix: "catalog",
    ref_attr: "name",
};

/// A catalog the DR metastore gets from this export (not a built-in, internal, foreign or
/// shared one).
pub fn restorable(c: &Value) -> bool {
    matches!(c["catalog_type"].as_str(), None | Some("MANAGED_CATALOG"))
        && c["name"]
            .as_str()
            .is_some_and(|n| n != "system" && !n.starts_with("__databricks_internal"))
}

/// A grants change of securable type `ty` (`updatePermissions`).
pub fn grant_change(r: &Record<'_>, ty: &str) -> Option<Hit> {
    if !r.is(
        "unityCatalog",
        &["updatePermissions", "updateSharePermissions"],
    ) {
        return None;
    }
    let t = r.param(&["securable_type"])?.to_ascii_lowercase();
    (t == ty)
        .then(|| {
            r.param(&["securable_full_name", "full_name_arg"])
                .map(Hit::Id)
        })
        .flatten()
}

#[async_trait]
impl KindSpec for Spec {
    async fn walk(&self, cx: &Cx<'_>, walk: &mut Walk) {
        if !walk.complete.contains(&Kind::Metastore) {
            return;
        }
        let listed = list_paged(
            cx.api,
            "/api/2.1/unity-catalog/catalogs",
            &[],
            "catalogs",
            Token::PageToken,
        )
        .await;
        let Some(items) = walk.listed(Kind::Catalogs, listed) else {
            return;
        };
        let items: Vec<(String, Value)> = items
            .into_iter()
            .filter(|v| v["catalog_type"] != "SYSTEM_CATALOG")
            .filter_map(|v| keyed(v, "name"))
            .collect();
        for (n, c) in &items {
            if restorable(c) {
                walk.hints.push((Kind::Schemas, n.clone()));
            }
        }
        each(walk, Kind::Catalogs, items, cx.concurrency, |n, body| {
            super::with_grants(cx.api, Obj::new(Kind::Catalogs, n, body))
        })
        .await;
    }
    fn parents(&self) -> &'static [Kind] {
        &[]
    }
    async fn read_one(&self, cx: &Cx<'_>, id: &str) -> Result<Option<Vec<Obj>>> {
        super::read_uc(cx, Kind::Catalogs, "catalogs", id, |b| b).await
    }
    fn dependents(&self, id: &str) -> (Vec<String>, Vec<String>) {
        (super::grants_key(Some(SEC), id), Vec::new())
    }
    fn terraform(&self, o: &Obj, tf: &mut Tf<'_>) {
        let b = &o.body;
        if !restorable(b) {
            tf.note(format!(
                "a {} catalog: not restored",
                b["catalog_type"]
                    .as_str()
                    .unwrap_or("built-in")
                    .to_ascii_lowercase()
            ));
            return;
        }
        let mut m: Map<String, Value> = tf.fit("databricks_catalog", b);
        // New managed data in DR goes to the DR metastore's storage; the primary's managed data
        // is replicated and declared over its DR copy.
        m.remove("storage_root");
        m.remove("connection_name");
        m.remove("provider_name");
        m.remove("share_name");
        m.insert("name".into(), json!(o.id));
        tf.resource("databricks_catalog", name("catalog", &o.id), m);
        if let Some(root) = b["storage_root"].as_str() {
            super::metastore::replica(tf, root, "the catalog's managed storage");
        }
    }
    fn audit(&self, r: &Record<'_>) -> Option<Hit> {
        if r.is("unityCatalog", &["createCatalog"]) {
            return r.param(&["name"]).map(Hit::Id);
        }
        if r.is("unityCatalog", &["updateCatalog", "deleteCatalog"]) {
            let old = r.param(&["name_arg", "name"])?;
            return Some(match r.param(&["new_name"]) {
                Some(new) => Hit::Renamed(old, new),
                None => Hit::Id(old),
            });
        }
        grant_change(r, "catalog")
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
                "new managed data in DR goes to the DR metastore; the replicated data is under the replica location",
            ),
            ("storage_location", "computed from the storage root"),
            ("catalog_type", "computed"),
            ("metastore_id", "the DR metastore's"),
            ("full_name", "the name"),
            ("securable_type", "computed"),
            ("created_at", "set by the DR metastore"),
            ("created_by", "set by the DR metastore"),
            ("updated_at", "set by the DR metastore"),
            ("updated_by", "set by the DR metastore"),
            ("browse_only", "computed"),
            ("effective_predictive_optimization_flag", "computed"),
            ("provisioning_info", "computed"),
            ("id", "the DR metastore gives the catalog its own id"),
        ]
    }
}
