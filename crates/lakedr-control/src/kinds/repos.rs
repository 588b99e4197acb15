//! Git folders: those under `/Repos` (listed, 20 a page by `next_page_token`, which the request
//! names the same way) and those elsewhere in the tree (found by the workspace walk).

use async_trait::async_trait;
use serde_json::{Map, Value, json};

use crate::api::{Token, list_paged};
use crate::audit::Record;
use crate::error::Result;
use crate::kind::{Acl, Cx, Hit, Kind, KindSpec, Securable, as_id};
use crate::obj::{Obj, Walk, each};
use crate::terraform::{Tf, name, resolve_conflicts};

#[derive(Debug)]
pub struct Spec;

const ACL: Acl = Acl {
    api: "repos",
    attr: "repo_id",
    resource: "databricks_repo",
    prefix: "repo",
    ref_attr: "id",
};

/// Where the repo's checkout is, not configuration.
fn configuration(mut v: Value) -> Value {
    if let Value::Object(o) = &mut v {
        o.remove("head_commit_id");
    }
    v
}

#[async_trait]
impl KindSpec for Spec {
    async fn walk(&self, cx: &Cx<'_>, walk: &mut Walk) {
        let listed = list_paged(cx.api, "/api/2.0/repos", &[], "repos", Token::NextPageToken).await;
        let Some(items) = walk.listed(Kind::Repos, listed) else {
            return;
        };
        let mut items: Vec<(String, Option<Value>)> = items
            .into_iter()
            .filter_map(|v| Some((as_id(&v["id"])?, Some(v))))
            .collect();
        // Git folders outside /Repos, as the workspace walk found them.
        let found: Vec<String> = walk
            .hints
            .iter()
            .filter(|(k, id)| *k == Kind::Repos && !items.iter().any(|(i, _)| i == id))
            .map(|(_, id)| id.clone())
            .collect();
        items.extend(found.into_iter().map(|id| (id, None)));
        each(
            walk,
            Kind::Repos,
            items,
            cx.concurrency,
            |id, body| async move {
                let body = match body {
                    Some(b) => b,
                    None => cx.api.get(&format!("/api/2.0/repos/{id}"), &[]).await?,
                };
                super::with_permissions(cx.api, Obj::new(Kind::Repos, id, configuration(body)))
                    .await
            },
        )
        .await;
    }
    fn parents(&self) -> &'static [Kind] {
        &[]
    }
    async fn read_one(&self, cx: &Cx<'_>, id: &str) -> Result<Option<Vec<Obj>>> {
        let body = cx.api.get(&format!("/api/2.0/repos/{id}"), &[]).await?;
        Ok(Some(
            super::with_permissions(cx.api, Obj::new(Kind::Repos, id, configuration(body))).await?,
        ))
    }
    fn dependents(&self, id: &str) -> (Vec<String>, Vec<String>) {
        (super::acl_key(Some(ACL), id), Vec::new())
    }
    fn terraform(&self, o: &Obj, tf: &mut Tf<'_>) {
        let b = &o.body;
        let mut m: Map<String, Value> = tf.fit("databricks_repo", b);
        if let Some(p) = b["provider"].as_str() {
            m.insert("git_provider".into(), json!(p));
        }
        resolve_conflicts("databricks_repo", &mut m, &["branch"], tf);
        tf.resource("databricks_repo", name("repo", &o.id), m);
    }
    fn audit(&self, r: &Record<'_>) -> Option<Hit> {
        if r.is("repos", &["createRepo"]) {
            return r.result("id").map(Hit::Id);
        }
        r.is("repos", &["updateRepo", "deleteRepo", "changeRepoAcl"])
            .then(|| r.param(&["id", "repoId", "resourceId"]).map(Hit::Id))
            .flatten()
    }
    fn alias(&self, o: &Obj) -> Option<String> {
        Some(o.id.clone()) // a Git folder's workspace object id is its repo id
    }
    fn acl(&self) -> Option<Acl> {
        Some(ACL)
    }
    fn securable(&self) -> Option<Securable> {
        None
    }
    fn omitted(&self) -> &'static [(&'static str, &'static str)] {
        &[
            ("id", "the DR workspace gives the Git folder its own id"),
            ("provider", "git_provider"),
        ]
    }
}
