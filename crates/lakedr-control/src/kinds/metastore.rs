//! The workspace's Unity Catalog metastore. In DR: a metastore in the DR region (its root
//! `var.dr_metastore_storage_root`), assigned to the DR workspace; and, for the primary's
//! managed storage the data plane replicates, a storage credential and an external location
//! over its DR copy, so that the replicated managed tables are declared there (see
//! [`super::tables`]).

use async_trait::async_trait;
use serde_json::{Map, Value, json};

use crate::audit::Record;
use crate::error::Result;
use crate::kind::{Acl, Cx, Hit, Kind, KindSpec, Securable, as_id};
use crate::obj::{Obj, Walk};
use crate::terraform::{Tf, name, reference, vars};

#[derive(Debug)]
pub struct Spec;

/// The storage credential of the replicas of managed storage in DR.
pub const REPLICA_CREDENTIAL: &str = "lakedr-replicas";

/// The resource name (and Unity Catalog name) of the external location over `dr`, the DR copy
/// of a managed storage root.
pub fn replica_location(dr: &str) -> String {
    name("replica", dr.trim_end_matches('/'))
}

/// The replica location a managed table or volume at `location` is declared over, as a
/// `depends_on` entry.
pub fn replica_of(tf: &Tf<'_>, location: &str) -> Option<String> {
    let root = managed_root(location)?;
    let dr = tf.cfg.remap(root)?;
    Some(format!(
        "databricks_external_location.{}",
        replica_location(&dr)
    ))
}

/// The managed storage root a managed table's or volume's location is under
/// (`<root>/__unitystorage/...`).
pub fn managed_root(location: &str) -> Option<&str> {
    location.find("/__unitystorage/").map(|i| &location[..i])
}

/// Declares, in `tf`, the external location over the DR copy of managed storage `root` (when a
/// rule covers it).
pub fn replica(tf: &mut Tf<'_>, root: &str, what: &str) {
    let Some(dr) = tf.cfg.remap(root) else {
        tf.note(format!(
            "{what} `{root}` is under no replication rule: its managed tables are not restored"
        ));
        return;
    };
    let mut m = Map::new();
    m.insert("name".into(), json!(replica_location(&dr)));
    m.insert("url".into(), json!(dr));
    m.insert(
        "credential_name".into(),
        json!(reference(
            "databricks_storage_credential",
            "credential",
            REPLICA_CREDENTIAL,
            "name"
        )),
    );
    m.insert("read_only".into(), json!(false));
    m.insert(
        "comment".into(),
        json!("the DR copy of the primary's managed storage (lakedr)"),
    );
    tf.resource("databricks_external_location", replica_location(&dr), m);
}

async fn read(cx: &Cx<'_>) -> Result<Obj> {
    let m = cx
        .api
        .get("/api/2.1/unity-catalog/metastore_summary", &[])
        .await?;
    let id = as_id(&m["metastore_id"]).unwrap_or_else(|| "current".into());
    Ok(Obj::new(Kind::Metastore, id, m))
}

#[async_trait]
impl KindSpec for Spec {
    async fn walk(&self, cx: &Cx<'_>, walk: &mut Walk) {
        if let Some(o) = walk.listed(Kind::Metastore, read(cx).await) {
            walk.push(o);
        }
    }
    fn parents(&self) -> &'static [Kind] {
        &[]
    }
    async fn read_one(&self, cx: &Cx<'_>, _id: &str) -> Result<Option<Vec<Obj>>> {
        Ok(Some(vec![read(cx).await?]))
    }
    fn dependents(&self, _id: &str) -> (Vec<String>, Vec<String>) {
        (Vec::new(), Vec::new())
    }
    fn terraform(&self, o: &Obj, tf: &mut Tf<'_>) {
        let b = &o.body;
        let mut m: Map<String, Value> = tf.fit("databricks_metastore", b);
        m.remove("storage_root_credential_id");
        // The primary's data access configuration: the DR metastore gets its own.
        m.remove("default_data_access_config_id");
        m.insert("region".into(), json!("${var.dr_region}"));
        m.insert(
            "storage_root".into(),
            json!("${var.dr_metastore_storage_root}"),
        );
        // The provider takes the Delta Sharing scope only with the recipient token lifetime.
        if let (Some(scope), Some(life)) = (
            b.get("delta_sharing_scope").filter(|v| v.is_string()),
            b.get("delta_sharing_recipient_token_lifetime_in_seconds")
                .filter(|v| v.is_number()),
        ) {
            m.insert("delta_sharing_scope".into(), scope.clone());
            m.insert(
                "delta_sharing_recipient_token_lifetime_in_seconds".into(),
                life.clone(),
            );
        }
        if tf.cfg.dr.metastore_storage_root.is_none() {
            tf.note("the DR metastore's root: give var.dr_metastore_storage_root ([dr] metastore_storage_root)");
        }
        tf.resource("databricks_metastore", name("metastore", &o.id), m);
        let mut a = Map::new();
        a.insert(
            "metastore_id".into(),
            json!(reference("databricks_metastore", "metastore", &o.id, "id")),
        );
        a.insert("workspace_id".into(), json!("${var.dr_workspace_id}"));
        tf.resource(
            "databricks_metastore_assignment",
            name("metastore_assignment", &o.id),
            a,
        );
        // The replicas of the primary's managed storage.
        let mut c = Map::new();
        c.insert("name".into(), json!(REPLICA_CREDENTIAL));
        c.insert(
            "aws_iam_role".into(),
            json!([{"role_arn": vars::storage_role(REPLICA_CREDENTIAL)}]),
        );
        c.insert(
            "comment".into(),
            json!("reaches the DR copies of the primary's managed storage"),
        );
        tf.resource(
            "databricks_storage_credential",
            name("credential", REPLICA_CREDENTIAL),
            c,
        );
        if let Some(root) = b["storage_root"].as_str() {
            replica(tf, root, "the metastore root");
        }
    }
    fn audit(&self, r: &Record<'_>) -> Option<Hit> {
        r.is(
            "unityCatalog",
            &[
                "createMetastore",
                "updateMetastore",
                "deleteMetastore",
                "createMetastoreAssignment",
            ],
        )
        .then(|| r.param(&["id", "metastore_id"]).map(Hit::Id))
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
            ("metastore_id", "the DR metastore has its own id"),
            (
                "default_data_access_config_id",
                "the primary's data access configuration: the DR metastore has its own",
            ),
            ("global_metastore_id", "the DR metastore has its own id"),
            ("region", "var.dr_region"),
            (
                "storage_root",
                "var.dr_metastore_storage_root (the primary's is replicated, below the replica location)",
            ),
            (
                "storage_root_credential_name",
                "the DR metastore's root credential is the account's",
            ),
            (
                "storage_root_credential_id",
                "the DR metastore's root credential is the account's",
            ),
            ("cloud", "set by the account"),
            ("created_at", "set by the account"),
            ("created_by", "set by the account"),
            ("updated_at", "set by the account"),
            ("updated_by", "set by the account"),
            ("privilege_model_version", "set by the account"),
            (
                "delta_sharing_scope",
                "carried with the recipient token lifetime only (the provider takes both or neither)",
            ),
            (
                "delta_sharing_recipient_token_lifetime_in_seconds",
                "carried with the Delta Sharing scope only",
            ),
        ]
    }
}
