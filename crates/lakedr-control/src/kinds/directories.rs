//! Workspace directories, and the walk of the workspace tree that finds notebooks and files
//! too (breadth first from `/`). Git folders and dashboards in the tree are kinds of their own.
//! A workspace object's numeric id is its alias: ACL changes in the audit logs name it.

use async_trait::async_trait;
use futures::{StreamExt, TryStreamExt};
use serde_json::{Map, Value, json};

use crate::api::WorkspaceApi;
use crate::audit::Record;
use crate::error::Result;
use crate::kind::{Acl, Cx, Hit, Kind, KindSpec, Securable, as_id};
use crate::obj::{Obj, Walk, each, items_of};
use crate::terraform::{Tf, name};

#[derive(Debug)]
pub struct Spec;

const ACL: Acl = Acl {
    api: "directories",
    attr: "directory_path",
    resource: "databricks_directory",
    prefix: "directory",
    ref_attr: "path",
};

/// Directories every workspace has (and users' homes, made with the users).
pub fn built_in(path: &str) -> bool {
    matches!(path, "/" | "/Users" | "/Shared" | "/Repos")
        || path
            .strip_prefix("/Users/")
            .or_else(|| path.strip_prefix("/Repos/"))
            .is_some_and(|rest| !rest.is_empty() && !rest.contains('/'))
}

/// Every object of the tree as the list API describes it.
pub async fn list_tree(api: &dyn WorkspaceApi, n: usize) -> Result<Vec<Value>> {
    let mut out = Vec::new();
    let mut dirs = vec!["/".to_string()];
    while !dirs.is_empty() {
        let pages: Vec<Value> = futures::stream::iter(
            dirs.drain(..)
                .map(|d| async move { api.get("/api/2.0/workspace/list", &[("path", &d)]).await }),
        )
        .buffer_unordered(n.max(1))
        .try_collect()
        .await?;
        for page in pages {
            for o in items_of(&page, "objects") {
                if o["object_type"] == "DIRECTORY"
                    && let Some(p) = o["path"].as_str()
                {
                    dirs.push(p.to_string());
                }
                out.push(o);
            }
        }
    }
    Ok(out)
}

/// The kind of a listed workspace object, when it is exported as a workspace object.
pub fn kind_of(o: &Value) -> Option<Kind> {
    match o["object_type"].as_str()? {
        "DIRECTORY" => Some(Kind::Directories),
        "NOTEBOOK" => Some(Kind::Notebooks),
        "FILE" => Some(Kind::WorkspaceFiles),
        _ => None, // REPO (Git folders), DASHBOARD, LIBRARY: kinds of their own or not exported
    }
}

/// One workspace object with its content (notebooks as source, files as they are) and its
/// permissions (by object id, with the path beside them: a new workspace gives new ids).
pub async fn read_object(api: &dyn WorkspaceApi, mut v: Value) -> Result<Vec<Obj>> {
    let Some(kind) = kind_of(&v) else {
        return Ok(Vec::new());
    };
    let path = v["path"].as_str().unwrap_or_default().to_string();
    let format = match kind {
        Kind::Notebooks => Some("SOURCE"),
        Kind::WorkspaceFiles => Some("AUTO"),
        _ => None,
    };
    if let Some(format) = format {
        let src = api
            .get(
                "/api/2.0/workspace/export",
                &[("path", &path), ("format", format)],
            )
            .await?;
        v["content"] = src["content"].clone();
    }
    if let Value::Object(o) = &mut v {
        o.remove("modified_at");
    }
    let oid = as_id(&v["object_id"]);
    let mut out = vec![Obj::new(kind, path.clone(), v)];
    if let (Some(oid), Some(acl)) = (oid, kind.spec().acl()) {
        let mut p = super::permissions(api, acl.api, &oid).await?;
        p.body["path"] = json!(path);
        out.push(p);
    }
    Ok(out)
}

/// A workspace object read alone by path.
pub async fn read_path(api: &dyn WorkspaceApi, want: Kind, path: &str) -> Result<Option<Vec<Obj>>> {
    let v = api
        .get("/api/2.0/workspace/get-status", &[("path", path)])
        .await?;
    if kind_of(&v) != Some(want) {
        return Ok(None); // something else is at that path now
    }
    Ok(Some(read_object(api, v).await?))
}

#[async_trait]
impl KindSpec for Spec {
    async fn walk(&self, cx: &Cx<'_>, walk: &mut Walk) {
        let Some(items) = walk.listed(Kind::Directories, list_tree(cx.api, cx.concurrency).await)
        else {
            return;
        };
        let mut objects = Vec::new();
        for o in items {
            match o["object_type"].as_str() {
                Some("REPO") => {
                    if let Some(id) = as_id(&o["object_id"]) {
                        walk.hints.push((Kind::Repos, id));
                    }
                }
                _ if kind_of(&o).is_some() => {
                    if let Some(p) = o["path"].as_str() {
                        objects.push((p.to_string(), o));
                    }
                }
                _ => {}
            }
        }
        each(walk, Kind::Directories, objects, cx.concurrency, |_, o| {
            read_object(cx.api, o)
        })
        .await;
    }
    fn parents(&self) -> &'static [Kind] {
        &[]
    }
    async fn read_one(&self, cx: &Cx<'_>, id: &str) -> Result<Option<Vec<Obj>>> {
        read_path(cx.api, Kind::Directories, id).await
    }
    fn dependents(&self, _id: &str) -> (Vec<String>, Vec<String>) {
        (Vec::new(), Vec::new())
    }
    fn terraform(&self, o: &Obj, tf: &mut Tf<'_>) {
        if built_in(&o.id) {
            return;
        }
        let mut m = Map::new();
        m.insert("path".into(), json!(o.id));
        tf.resource("databricks_directory", name("directory", &o.id), m);
    }
    fn audit(&self, r: &Record<'_>) -> Option<Hit> {
        if r.is("notebook", &["moveFolder"]) || r.is("workspace", &["moveFolder"]) {
            return Some(Hit::Renamed(r.param(&["oldPath"])?, r.param(&["newPath"])?));
        }
        if r.is(
            "notebook",
            &["deleteFolder", "createFolder", "restoreFolder"],
        ) || r.is("workspace", &["mkdirs", "deleteFolder"])
        {
            return r.param(&["path"]).map(Hit::Id);
        }
        // An ACL change names the object by its numeric id, whatever its type.
        r.is("workspace", &["changeWorkspaceAcl"])
            .then(|| r.param(&["resourceId"]).map(Hit::Alias))
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
                "the DR workspace gives the directory its own id",
            ),
            ("object_type", "the resource type"),
            (
                "resource_id",
                "the DR workspace gives the directory its own id",
            ),
        ]
    }
}
