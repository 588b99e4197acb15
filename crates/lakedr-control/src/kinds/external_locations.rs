//! Unity Catalog external locations, at the DR copy of their URL (through the rules).

use async_trait::async_trait;
use serde_json::{Map, Value, json};

use crate::audit::Record;
use crate::error::Result;
use crate::kind::{Acl, Cx, Hit, Kind, KindSpec, Securable};
use crate::obj::{Obj, Walk};
use crate::terraform::{Tf, name, reference};

#[derive(Debug)]
pub struct Spec;

const SEC: Securable = Securable {
    api: "external_location",
    attr: "external_location",
    resource: "databricks_external_location",
    prefix: "location",
    ref_attr: "id",
};

#[async_trait]
impl KindSpec for Spec {
    async fn walk(&self, cx: &Cx<'_>, walk: &mut Walk) {
        super::walk_uc_named(
            cx,
            walk,
            Kind::ExternalLocations,
            "external-locations",
            "external_locations",
        )
        .await;
    }
    fn parents(&self) -> &'static [Kind] {
        &[]
    }
    async fn read_one(&self, cx: &Cx<'_>, id: &str) -> Result<Option<Vec<Obj>>> {
        super::read_uc(cx, Kind::ExternalLocations, "external-locations", id, |b| b).await
    }
    fn dependents(&self, id: &str) -> (Vec<String>, Vec<String>) {
        (super::grants_key(Some(SEC), id), Vec::new())
    }
    fn terraform(&self, o: &Obj, tf: &mut Tf<'_>) {
        let b = &o.body;
        let mut m: Map<String, Value> = tf.fit("databricks_external_location", b);
        if let Some(url) = b["url"].as_str() {
            let dr = tf.remap("the external location", url);
            m.insert("url".into(), json!(dr));
        }
        if let Some(cred) = b["credential_name"].as_str() {
            m.insert(
                "credential_name".into(),
                json!(reference(
                    "databricks_storage_credential",
                    "credential",
                    cred,
                    "name"
                )),
            );
        }
        tf.resource("databricks_external_location", name("location", &o.id), m);
    }
    fn audit(&self, r: &Record<'_>) -> Option<Hit> {
        if r.is("unityCatalog", &["createExternalLocation"]) {
            return r.param(&["name"]).map(Hit::Id);
        }
        if r.is(
            "unityCatalog",
            &["updateExternalLocation", "deleteExternalLocation"],
        ) {
            let old = r.param(&["name_arg", "name"])?;
            return Some(match r.param(&["new_name"]) {
                Some(new) => Hit::Renamed(old, new),
                None => Hit::Id(old),
            });
        }
        super::catalogs::grant_change(r, "external_location")
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
            ("metastore_id", "the DR metastore's"),
            ("credential_id", "the DR credential's id"),
            ("created_at", "set by the DR metastore"),
            ("created_by", "set by the DR metastore"),
            ("updated_at", "set by the DR metastore"),
            ("updated_by", "set by the DR metastore"),
            ("isolation_mode", "set by the DR metastore"),
            ("browse_only", "computed"),
        ]
    }
}
