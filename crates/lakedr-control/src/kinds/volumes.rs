//! Unity Catalog volumes, with their grants: an external volume at the DR copy of its location;
//! a managed one whose storage is replicated as an external volume over its DR copy.

use async_trait::async_trait;
use serde_json::{Map, Value, json};

use crate::api::{Token, list_paged};
use crate::audit::Record;
use crate::error::Result;
use crate::kind::{Acl, Cx, Hit, Kind, KindSpec, Securable};
use crate::obj::{Obj, Walk, each, keyed};
use crate::terraform::{Tf, name, shapes};

#[derive(Debug)]
pub struct Spec;

const SEC: Securable = Securable {
    api: "volume",
    attr: "volume",
    resource: "databricks_volume",
    prefix: "volume",
    ref_attr: "id",
};

#[async_trait]
impl KindSpec for Spec {
    async fn walk(&self, cx: &Cx<'_>, walk: &mut Walk) {
        if !walk.complete.contains(&Kind::Schemas) {
            return;
        }
        let mut volumes = Vec::new();
        let mut ok = true;
        for (c, s) in super::tables::schemas(walk) {
            let q = [("catalog_name", c.as_str()), ("schema_name", s.as_str())];
            match list_paged(
                cx.api,
                "/api/2.1/unity-catalog/volumes",
                &q,
                "volumes",
                Token::PageToken,
            )
            .await
            {
                Ok(items) => {
                    volumes.extend(items.into_iter().filter_map(|v| keyed(v, "full_name")))
                }
                Err(e) => {
                    ok = false;
                    walk.fail(Kind::Volumes, &format!("{c}.{s}"), &e);
                }
            }
        }
        if ok {
            walk.complete.push(Kind::Volumes);
        }
        each(
            walk,
            Kind::Volumes,
            volumes,
            cx.concurrency,
            |full, body| super::with_grants(cx.api, Obj::new(Kind::Volumes, full, body)),
        )
        .await;
    }
    fn parents(&self) -> &'static [Kind] {
        &[]
    }
    async fn read_one(&self, cx: &Cx<'_>, id: &str) -> Result<Option<Vec<Obj>>> {
        super::read_uc(cx, Kind::Volumes, "volumes", id, |b| b).await
    }
    fn dependents(&self, id: &str) -> (Vec<String>, Vec<String>) {
        (super::grants_key(Some(SEC), id), Vec::new())
    }
    fn terraform(&self, o: &Obj, tf: &mut Tf<'_>) {
        let b = &o.body;
        let mut m: Map<String, Value> = tf.fit("databricks_volume", b);
        if let Some(t) = b.get("volume_type") {
            m.insert("volume_type".into(), t.clone());
        }
        shapes::parent_refs(b, &mut m);
        let loc = b["storage_location"].as_str().map(str::to_owned);
        match (b["volume_type"].as_str(), loc) {
            (Some("EXTERNAL"), Some(loc)) => {
                let dr = tf.remap("the volume's location", &loc);
                m.insert("storage_location".into(), json!(dr));
            }
            (Some("MANAGED"), Some(loc)) => match tf.cfg.remap(&loc) {
                Some(dr) => {
                    m.insert("volume_type".into(), json!("EXTERNAL"));
                    m.insert("storage_location".into(), json!(dr));
                    if let Some(root) = super::metastore::replica_of(tf, &loc) {
                        m.insert("depends_on".into(), json!([root]));
                    }
                    tf.note("a managed volume, declared in DR as an external volume over its replicated files");
                }
                None => {
                    m.remove("storage_location");
                    tf.note("a managed volume whose storage no rule replicates: restored empty");
                }
            },
            _ => {
                m.remove("storage_location");
            }
        }
        tf.resource("databricks_volume", name("volume", &o.id), m);
    }
    fn audit(&self, r: &Record<'_>) -> Option<Hit> {
        if r.is("unityCatalog", &["createVolume"]) {
            return r
                .three(&["catalog_name"], &["schema_name"], &["name"])
                .map(Hit::Id);
        }
        if r.is("unityCatalog", &["updateVolume", "deleteVolume"]) {
            let old = r.param(&["full_name_arg", "name_arg", "full_name"])?;
            return Some(match r.param(&["new_name"]) {
                Some(new) => Hit::Renamed(old.clone(), Record::sibling(&old, &new)),
                None => Hit::Id(old),
            });
        }
        super::catalogs::grant_change(r, "volume")
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
                "volume_type",
                "carried, but a managed volume is declared EXTERNAL over its DR copy",
            ),
            ("volume_id", "the DR metastore gives the volume its own id"),
            ("metastore_id", "the DR metastore's"),
            ("created_at", "set by the DR metastore"),
            ("created_by", "set by the DR metastore"),
            ("updated_at", "set by the DR metastore"),
            ("updated_by", "set by the DR metastore"),
        ]
    }
}
