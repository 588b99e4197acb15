//! Notebooks, with their source (found by the workspace walk, [`super::directories`]).

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
    api: "notebooks",
    attr: "notebook_path",
    resource: "databricks_notebook",
    prefix: "notebook",
    ref_attr: "path",
};

#[async_trait]
impl KindSpec for Spec {
    async fn walk(&self, _cx: &Cx<'_>, _walk: &mut Walk) {}
    fn parents(&self) -> &'static [Kind] {
        &[Kind::Directories]
    }
    async fn read_one(&self, cx: &Cx<'_>, id: &str) -> Result<Option<Vec<Obj>>> {
        super::directories::read_path(cx.api, Kind::Notebooks, id).await
    }
    fn dependents(&self, _id: &str) -> (Vec<String>, Vec<String>) {
        (Vec::new(), Vec::new())
    }
    fn terraform(&self, o: &Obj, tf: &mut Tf<'_>) {
        let b = &o.body;
        let mut m = Map::new();
        m.insert("path".into(), json!(o.id));
        if let Some(l) = b["language"].as_str() {
            m.insert("language".into(), json!(l));
        }
        if let Some(c) = b["content"].as_str() {
            m.insert("content_base64".into(), json!(c));
        }
        tf.resource("databricks_notebook", name("notebook", &o.id), m);
    }
    fn audit(&self, r: &Record<'_>) -> Option<Hit> {
        if r.is("notebook", &["renameNotebook"]) {
            let parent = r.param(&["parentPath"])?;
            let parent = parent.trim_end_matches('/');
            return Some(Hit::Renamed(
                format!("{parent}/{}", r.param(&["oldName"])?),
                format!("{parent}/{}", r.param(&["newName"])?),
            ));
        }
        if r.is("notebook", &["moveNotebook"]) {
            return Some(Hit::Renamed(r.param(&["oldPath"])?, r.param(&["newPath"])?));
        }
        if r.is("notebook", &["cloneNotebook"]) {
            return r.param(&["destinationPath"]).map(Hit::Id);
        }
        r.is(
            "notebook",
            &[
                "createNotebook",
                "deleteNotebook",
                "importNotebook",
                "restoreNotebook",
                "updateNotebook",
            ],
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
            (
                "object_id",
                "the DR workspace gives the notebook its own id",
            ),
            ("object_type", "the resource type"),
            (
                "resource_id",
                "the DR workspace gives the notebook its own id",
            ),
            ("created_at", "set by the DR workspace"),
        ]
    }
}
