//! Unity Catalog storage credentials (an IAM role's ARN, never a secret: the API returns
//! none). In DR the role is the DR one (`var.dr_storage_credential_roles`).

use async_trait::async_trait;
use serde_json::{Map, Value, json};

use crate::audit::Record;
use crate::error::Result;
use crate::kind::{Acl, Cx, Hit, Kind, KindSpec, Securable};
use crate::obj::{Obj, Walk};
use crate::terraform::{Tf, name, vars};

#[derive(Debug)]
pub struct Spec;

const SEC: Securable = Securable {
    api: "storage_credential",
    attr: "storage_credential",
    resource: "databricks_storage_credential",
    prefix: "credential",
    ref_attr: "id",
};

#[async_trait]
impl KindSpec for Spec {
    async fn walk(&self, cx: &Cx<'_>, walk: &mut Walk) {
        super::walk_uc_named(
            cx,
            walk,
            Kind::StorageCredentials,
            "storage-credentials",
            "storage_credentials",
        )
        .await;
    }
    fn parents(&self) -> &'static [Kind] {
        &[]
    }
    async fn read_one(&self, cx: &Cx<'_>, id: &str) -> Result<Option<Vec<Obj>>> {
        super::read_uc(
            cx,
            Kind::StorageCredentials,
            "storage-credentials",
            id,
            |b| b,
        )
        .await
    }
    fn dependents(&self, id: &str) -> (Vec<String>, Vec<String>) {
        (super::grants_key(Some(SEC), id), Vec::new())
    }
    fn terraform(&self, o: &Obj, tf: &mut Tf<'_>) {
        let mut m: Map<String, Value> = tf.fit("databricks_storage_credential", &o.body);
        if o.body["aws_iam_role"].is_object() {
            if !tf.cfg.dr.storage_credential_roles.contains_key(&o.id) {
                tf.note(format!(
                    "storage credential {}: no DR role in [dr.storage_credential_roles]; give var.dr_storage_credential_roles",
                    o.id
                ));
            }
            m.insert(
                "aws_iam_role".into(),
                json!([{"role_arn": vars::storage_role(&o.id)}]),
            );
        }
        tf.resource(
            "databricks_storage_credential",
            name("credential", &o.id),
            m,
        );
    }
    fn audit(&self, r: &Record<'_>) -> Option<Hit> {
        if r.is("unityCatalog", &["createStorageCredential"]) {
            return r.param(&["name"]).map(Hit::Id);
        }
        if r.is(
            "unityCatalog",
            &["updateStorageCredential", "deleteStorageCredential"],
        ) {
            let old = r.param(&["name_arg", "name"])?;
            return Some(match r.param(&["new_name"]) {
                Some(new) => Hit::Renamed(old, new),
                None => Hit::Id(old),
            });
        }
        super::catalogs::grant_change(r, "storage_credential")
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
            ("id", "the DR metastore gives the credential its own id"),
            ("metastore_id", "the DR metastore's"),
            ("created_at", "set by the DR metastore"),
            ("created_by", "set by the DR metastore"),
            ("updated_at", "set by the DR metastore"),
            ("updated_by", "set by the DR metastore"),
            ("full_name", "the name"),
            ("isolation_mode", "set by the DR metastore"),
            ("aws_iam_role.external_id", "computed by the DR metastore"),
            (
                "aws_iam_role.unity_catalog_iam_arn",
                "computed by the DR metastore",
            ),
        ]
    }
}
