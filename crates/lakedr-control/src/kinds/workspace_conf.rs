//! Workspace settings (`/api/2.0/workspace-conf`): one object, `workspace`.

use async_trait::async_trait;
use serde_json::{Map, Value, json};

use crate::audit::Record;
use crate::error::Result;
use crate::kind::{Acl, Cx, Hit, Kind, KindSpec, Securable};
use crate::obj::{Obj, Walk};
use crate::terraform::{Tf, name};

/// The settings exported; asking for a key the workspace does not know fails the whole call, so
/// only long-standing keys are asked for.
pub const KEYS: &[&str] = &[
    "enableIpAccessLists",
    "enableTokensConfig",
    "maxTokenLifetimeDays",
    "enableResultsDownloading",
    "enableNotebookTableClipboard",
    "enableExportNotebook",
    "enableWebTerminal",
    "enableDbfsFileBrowser",
    "enableVerboseAuditLogs",
];

#[derive(Debug)]
pub struct Spec;

async fn read(cx: &Cx<'_>) -> Result<Obj> {
    let conf = cx
        .api
        .get("/api/2.0/workspace-conf", &[("keys", &KEYS.join(","))])
        .await?;
    Ok(Obj::new(Kind::WorkspaceConf, "workspace", conf))
}

#[async_trait]
impl KindSpec for Spec {
    async fn walk(&self, cx: &Cx<'_>, walk: &mut Walk) {
        if let Some(o) = walk.listed(Kind::WorkspaceConf, read(cx).await) {
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
        let config: Map<String, Value> = o
            .body
            .as_object()
            .into_iter()
            .flatten()
            .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), json!(s))))
            .collect();
        if config.is_empty() {
            return;
        }
        let mut m = Map::new();
        m.insert("custom_config".into(), Value::Object(config));
        tf.resource(
            "databricks_workspace_conf",
            name("workspace_conf", &o.id),
            m,
        );
    }
    fn audit(&self, r: &Record<'_>) -> Option<Hit> {
        r.is("workspace", &["workspaceConfEdit"])
            .then(|| Hit::Id("workspace".into()))
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
        &[]
    }
}
