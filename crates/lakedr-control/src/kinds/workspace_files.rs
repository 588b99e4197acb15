//! Workspace files (anywhere in the tree: users' folders, shared folders), with their content.

use async_trait::async_trait;
use serde_json::{Map, json};

use crate::audit::Record;
use crate::error::Result;
use crate::kind::{Acl, Cx, Hit, Kind, KindSpec, Securable, as_id};
use crate::obj::{Obj, Walk};
use crate::terraform::{Tf, name};

#[derive(Debug)]
pub struct Spec;

const ACL: Acl = Acl {
    api: "files",
    attr: "workspace_file_path",
    resource: "databricks_workspace_file",
    prefix: "workspace_file",
    ref_attr: "path",
};

#[async_trait]
impl KindSpec for Spec {
    async fn walk(&self, _cx: &Cx<'_>, _walk: &mut Walk) {}
    fn parents(&self) -> &'static [Kind] {
        &[Kind::Directories]
    }
    async fn read_one(&self, cx: &Cx<'_>, id: &str) -> Result<Option<Vec<Obj>>> {
        super::directories::read_path(cx.api, Kind::WorkspaceFiles, id).await
    }
    fn dependents(&self, _id: &str) -> (Vec<String>, Vec<String>) {
        (Vec::new(), Vec::new())
    }
    fn terraform(&self, o: &Obj, tf: &mut Tf<'_>) {
        let mut m = Map::new();
        m.insert("path".into(), json!(o.id));
        if let Some(c) = o.body["content"].as_str() {
            m.insert("content_base64".into(), json!(c));
        }
        tf.resource(
            "databricks_workspace_file",
            name("workspace_file", &o.id),
            m,
        );
    }
    fn audit(&self, r: &Record<'_>) -> Option<Hit> {
        if r.is("workspace", &["moveWorkspaceNode", "renameWorkspaceNode"]) {
            // The record does not say what moved: the index knows the old path's kind.
            return Some(Hit::Paths(vec![
                r.param(&["path"])?,
                r.param(&["destinationPath", "newPath"])?,
            ]));
        }
        r.is(
            "workspace",
            &["fileCreate", "fileDelete", "fileEditorUpdate", "fileImport"],
        )
        .then(|| r.param(&["path"]).map(Hit::Id))
        .flatten()
    }
    fn alias(&self, o: &Obj) -> Option<String> {
        as_id(&o.body["object_id"])
    }
    fn acl(&self) -> Option<Acl> {
        Some(ACL)
    }
    fn securable(&self) -> Option<Securable> {
        None
    }
    fn omitted(&self) -> &'static [(&'static str, &'static str)] {
        &[
            ("object_id", "the DR workspace gives the file its own id"),
            ("object_type", "the resource type"),
            ("resource_id", "the DR workspace gives the file its own id"),
            ("size", "derived from the content"),
            ("created_at", "set by the DR workspace"),
        ]
    }
}
