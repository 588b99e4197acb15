//! Unity Catalog tables and views, with their grants.
//!
//! In DR: an external table at the DR copy of its location; a managed table whose storage the
//! data plane replicates is declared as an external table over its DR copy (the replica
//! location of its managed root, [`super::metastore::replica`]): never recreated empty; a managed
//! table whose storage no rule covers is not restored (its data is not in DR); a view with its
//! definition. Streaming tables, materialized views and foreign tables come from their
//! pipelines and connections.

use async_trait::async_trait;
use serde_json::{Map, Value, json};

use crate::api::{Token, list_paged};
use crate::audit::Record;
use crate::error::Result;
use crate::kind::{Acl, Cx, Hit, Kind, KindSpec, Securable};
use crate::obj::{Obj, Walk, each, keyed, strip_volatile};
use crate::terraform::{Tf, name, shapes};

#[derive(Debug)]
pub struct Spec;

const SEC: Securable = Securable {
    api: "table",
    attr: "table",
    resource: "databricks_sql_table",
    prefix: "table",
    ref_attr: "id",
};

/// The schemas whose tables and volumes are walked (found by the schemas' walk).
pub fn schemas(walk: &Walk) -> Vec<(String, String)> {
    walk.hints
        .iter()
        .filter(|(k, _)| *k == Kind::Tables)
        .filter_map(|(_, full)| {
            let (c, s) = full.split_once('.')?;
            Some((c.to_string(), s.to_string()))
        })
        .collect()
}

/// Columns as the resource's blocks.
fn columns(b: &Value) -> Vec<Value> {
    b["columns"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| {
            let mut col = Map::new();
            col.insert("name".into(), json!(c["name"].as_str()?));
            col.insert(
                "type".into(),
                json!(c["type_text"].as_str().or(c["type_name"].as_str())?),
            );
            for k in ["comment", "nullable"] {
                if !c[k].is_null() {
                    col.insert(k.into(), c[k].clone());
                }
            }
            Some(Value::Object(col))
        })
        .collect()
}

#[async_trait]
impl KindSpec for Spec {
    async fn walk(&self, cx: &Cx<'_>, walk: &mut Walk) {
        if !walk.complete.contains(&Kind::Schemas) {
            return;
        }
        let mut tables = Vec::new();
        let mut ok = true;
        for (c, s) in schemas(walk) {
            let q = [
                ("catalog_name", c.as_str()),
                ("schema_name", s.as_str()),
                ("max_results", "50"),
            ];
            match list_paged(
                cx.api,
                "/api/2.1/unity-catalog/tables",
                &q,
                "tables",
                Token::PageToken,
            )
            .await
            {
                Ok(items) => tables.extend(items.into_iter().filter_map(|t| keyed(t, "full_name"))),
                Err(e) => {
                    ok = false;
                    walk.fail(Kind::Tables, &format!("{c}.{s}"), &e);
                }
            }
        }
        if ok {
            walk.complete.push(Kind::Tables);
        }
        each(walk, Kind::Tables, tables, cx.concurrency, |full, body| {
            super::with_grants(cx.api, Obj::new(Kind::Tables, full, strip_volatile(body)))
        })
        .await;
    }
    fn parents(&self) -> &'static [Kind] {
        &[]
    }
    async fn read_one(&self, cx: &Cx<'_>, id: &str) -> Result<Option<Vec<Obj>>> {
        super::read_uc(cx, Kind::Tables, "tables", id, strip_volatile).await
    }
    fn dependents(&self, id: &str) -> (Vec<String>, Vec<String>) {
        (super::grants_key(Some(SEC), id), Vec::new())
    }
    fn terraform(&self, o: &Obj, tf: &mut Tf<'_>) {
        let b = &o.body;
        let ty = b["table_type"].as_str().unwrap_or_default();
        if !matches!(ty, "MANAGED" | "EXTERNAL" | "VIEW") {
            tf.note(format!(
                "a {ty} table comes from its pipeline or connection: not restored"
            ));
            return;
        }
        let mut m: Map<String, Value> = tf.fit("databricks_sql_table", b);
        m.insert("table_type".into(), json!(ty));
        m.remove("column");
        // A view's columns come from its query (typed columns would make the provider write
        // `CREATE VIEW v (c bigint ...)`, which SQL refuses).
        let cols = if ty == "VIEW" { Vec::new() } else { columns(b) };
        if !cols.is_empty() {
            m.insert("column".into(), Value::Array(cols));
        }
        shapes::parent_refs(b, &mut m);
        let location = b["storage_location"].as_str().map(str::to_owned);
        match (ty, location) {
            ("VIEW", _) => {
                m.remove("storage_location");
            }
            ("EXTERNAL", Some(loc)) => {
                let dr = tf.remap("the table's location", &loc);
                m.insert("storage_location".into(), json!(dr));
            }
            ("MANAGED", Some(loc)) => {
                let Some(dr) = tf.cfg.remap(&loc) else {
                    tf.note(format!(
                        "a managed table whose storage `{loc}` no rule replicates: not restored \
                         (it would be empty)"
                    ));
                    return;
                };
                m.insert("table_type".into(), json!("EXTERNAL"));
                m.insert("storage_location".into(), json!(dr));
                match super::metastore::replica_of(tf, &loc) {
                    Some(root) => {
                        m.insert(
                            "depends_on".into(),
                            json!([root]),
                        );
                    }
                    None => tf.note("a managed location outside `__unitystorage`: its replica location is not known"),
                }
                tf.note(
                    "a managed table, declared in DR as an external table over its replicated data",
                );
            }
            (_, None) => {
                tf.note("a table without a storage location: not restored");
                return;
            }
            _ => {}
        }
        tf.resource("databricks_sql_table", name("table", &o.id), m);
    }
    fn audit(&self, r: &Record<'_>) -> Option<Hit> {
        if r.is("unityCatalog", &["createTable"]) {
            return r
                .three(&["catalog_name"], &["schema_name"], &["name"])
                .map(Hit::Id);
        }
        if r.is(
            "unityCatalog",
            &["updateTables", "updateTable", "deleteTable"],
        ) {
            let old = r.param(&["full_name_arg", "full_name"])?;
            return Some(match r.param(&["new_name"]) {
                Some(new) => Hit::Renamed(old.clone(), Record::sibling(&old, &new)),
                None => Hit::Id(old),
            });
        }
        super::catalogs::grant_change(r, "table")
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
            ("table_id", "the DR metastore gives the table its own id"),
            ("metastore_id", "the DR metastore's"),
            ("created_at", "set by the DR metastore"),
            ("created_by", "set by the DR metastore"),
            ("updated_at", "set by the DR metastore"),
            ("updated_by", "set by the DR metastore"),
            (
                "storage_credential_name",
                "the external location's credential reaches it",
            ),
            ("data_access_configuration_id", "computed"),
            ("effective_predictive_optimization_flag", "computed"),
            ("delta_runtime_properties_kvpairs", "computed"),
            ("securable_kind_manifest", "computed"),
            ("browse_only", "computed"),
            (
                "columns.type_name",
                "the type is carried as its text (type_text)",
            ),
            ("columns.position", "the order of the columns"),
            (
                "table_type",
                "carried, but a managed table is declared EXTERNAL over its DR copy",
            ),
        ]
    }
}
