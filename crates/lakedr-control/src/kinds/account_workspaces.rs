//! The workspace itself, from the account API (with account credentials): its credentials,
//! storage and network configurations. In DR a twin workspace in the DR region
//! (`databricks_mws_workspaces` and its configurations, at the account-level provider
//! `databricks.account`), its role, root bucket and network from the DR variables.

use async_trait::async_trait;
use serde_json::{Map, Value, json};

use crate::audit::Record;
use crate::error::{Error, Result};
use crate::kind::{Account, Acl, Cx, Hit, Kind, KindSpec, Securable, as_id};
use crate::obj::{Obj, Walk};
use crate::terraform::{Tf, name};

#[derive(Debug)]
pub struct Spec;

/// The account-level provider's alias.
pub const PROVIDER: &str = "databricks.account";

fn account<'a>(cx: &'a Cx<'_>) -> Result<&'a Account<'a>> {
    cx.account.ok_or_else(|| Error::Deferred {
        kind: "account_workspaces".into(),
        reason: "no account credentials are configured".into(),
    })
}

async fn read(a: &Account<'_>) -> Result<Obj> {
    let ws = a
        .api
        .get(&a.path(&format!("/workspaces/{}", a.workspace_id)), &[])
        .await?;
    let mut body = json!({"workspace": ws});
    for (field, coll, key) in [
        ("credentials", "credentials", "credentials_id"),
        (
            "storage_configuration",
            "storage-configurations",
            "storage_configuration_id",
        ),
        ("network", "networks", "network_id"),
    ] {
        if let Some(id) = as_id(&body["workspace"][key]) {
            body[field] = a.api.get(&a.path(&format!("/{coll}/{id}")), &[]).await?;
        }
    }
    if let Value::Object(o) = &mut body["workspace"] {
        for k in ["workspace_status", "workspace_status_message"] {
            o.remove(k);
        }
    }
    if let Value::Object(o) = &mut body["network"] {
        for k in ["vpc_status", "warning_messages", "error_messages"] {
            o.remove(k);
        }
    }
    Ok(Obj::new(
        Kind::AccountWorkspaces,
        a.workspace_id.clone(),
        body,
    ))
}

#[async_trait]
impl KindSpec for Spec {
    async fn walk(&self, cx: &Cx<'_>, walk: &mut Walk) {
        let Some(a) = cx.account else { return };
        if let Some(o) = walk.listed(Kind::AccountWorkspaces, read(a).await) {
            walk.push(o);
        }
    }
    fn parents(&self) -> &'static [Kind] {
        &[]
    }
    async fn read_one(&self, cx: &Cx<'_>, _id: &str) -> Result<Option<Vec<Obj>>> {
        Ok(Some(vec![read(account(cx)?).await?]))
    }
    fn dependents(&self, _id: &str) -> (Vec<String>, Vec<String>) {
        (Vec::new(), Vec::new())
    }
    fn terraform(&self, o: &Obj, tf: &mut Tf<'_>) {
        let b = &o.body;
        let ws = &b["workspace"];
        let base = ws["workspace_name"].as_str().unwrap_or("workspace");
        let account = json!("${var.databricks_account_id}");
        let (cred, store, net) = (
            name("dr_credentials", &o.id),
            name("dr_storage", &o.id),
            name("dr_network", &o.id),
        );
        let mut c = Map::new();
        c.insert("provider".into(), json!(PROVIDER));
        c.insert("account_id".into(), account.clone());
        c.insert(
            "credentials_name".into(),
            json!(format!(
                "{}-dr",
                b["credentials"]["credentials_name"]
                    .as_str()
                    .unwrap_or(base)
            )),
        );
        c.insert("role_arn".into(), json!("${var.dr_credentials_role_arn}"));
        tf.resource("databricks_mws_credentials", cred.clone(), c);
        let mut s = Map::new();
        s.insert("provider".into(), json!(PROVIDER));
        s.insert("account_id".into(), account.clone());
        s.insert(
            "storage_configuration_name".into(),
            json!(format!(
                "{}-dr",
                b["storage_configuration"]["storage_configuration_name"]
                    .as_str()
                    .unwrap_or(base)
            )),
        );
        s.insert("bucket_name".into(), json!("${var.dr_root_bucket}"));
        tf.resource("databricks_mws_storage_configurations", store.clone(), s);
        let mut w = Map::new();
        w.insert("provider".into(), json!(PROVIDER));
        w.insert("account_id".into(), account.clone());
        w.insert("workspace_name".into(), json!(format!("{base}-dr")));
        w.insert("aws_region".into(), json!("${var.dr_region}"));
        w.insert(
            "credentials_id".into(),
            json!(format!(
                "${{databricks_mws_credentials.{cred}.credentials_id}}"
            )),
        );
        w.insert(
            "storage_configuration_id".into(),
            json!(format!(
                "${{databricks_mws_storage_configurations.{store}.storage_configuration_id}}"
            )),
        );
        if b["network"].is_object() {
            let mut n = Map::new();
            n.insert("provider".into(), json!(PROVIDER));
            n.insert("account_id".into(), account);
            n.insert(
                "network_name".into(),
                json!(format!(
                    "{}-dr",
                    b["network"]["network_name"].as_str().unwrap_or(base)
                )),
            );
            n.insert("vpc_id".into(), json!("${var.dr_vpc_id}"));
            n.insert("subnet_ids".into(), json!("${var.dr_subnet_ids}"));
            n.insert(
                "security_group_ids".into(),
                json!("${var.dr_security_group_ids}"),
            );
            tf.resource("databricks_mws_networks", net.clone(), n);
            w.insert(
                "network_id".into(),
                json!(format!("${{databricks_mws_networks.{net}.network_id}}")),
            );
        }
        for k in ["pricing_tier", "compute_mode"] {
            if let Some(v) = ws.get(k).filter(|v| v.is_string()) {
                w.insert(k.into(), v.clone());
            }
        }
        tf.resource("databricks_mws_workspaces", name("dr_workspace", &o.id), w);
    }
    fn audit(&self, r: &Record<'_>) -> Option<Hit> {
        (r.account_level()
            && r.is(
                "accounts",
                &["updateWorkspaceConfiguration", "updateWorkspace"],
            ))
        .then(|| r.param(&["workspaceId"]).map(Hit::Id))
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
            (
                "workspace",
                "the twin's name, region, configurations are the DR ones (variables); pricing tier and compute mode are carried",
            ),
            (
                "credentials",
                "the DR cross-account role: var.dr_credentials_role_arn",
            ),
            (
                "storage_configuration",
                "the DR root bucket: var.dr_root_bucket",
            ),
            (
                "network",
                "the DR network: var.dr_vpc_id, dr_subnet_ids, dr_security_group_ids",
            ),
        ]
    }
}
