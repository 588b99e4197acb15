//! Global init scripts, with their content (base64, as the API gives it).

use async_trait::async_trait;
use serde_json::{Map, Value};

use crate::audit::Record;
use crate::error::Result;
use crate::kind::{Acl, Cx, Hit, Kind, KindSpec, Securable, as_id};
use crate::obj::{Obj, Walk, each, items_of};
use crate::terraform::{Tf, name};

#[derive(Debug)]
pub struct Spec;

const PATH: &str = "/api/2.0/global-init-scripts";

async fn read(cx: &Cx<'_>, id: &str) -> Result<Vec<Obj>> {
    let body = cx.api.get(&format!("{PATH}/{id}"), &[]).await?;
    Ok(vec![Obj::new(Kind::GlobalInitScripts, id, body)])
}

#[async_trait]
impl KindSpec for Spec {
    async fn walk(&self, cx: &Cx<'_>, walk: &mut Walk) {
        let listed = cx.api.get(PATH, &[]).await;
        if let Some(page) = walk.listed(Kind::GlobalInitScripts, listed) {
            let ids: Vec<(String, ())> = items_of(&page, "scripts")
                .iter()
                .filter_map(|s| as_id(&s["script_id"]))
                .map(|id| (id, ()))
                .collect();
            each(
                walk,
                Kind::GlobalInitScripts,
                ids,
                cx.concurrency,
                |id, ()| async move { read(cx, &id).await },
            )
            .await;
        }
    }
    fn parents(&self) -> &'static [Kind] {
        &[]
    }
    async fn read_one(&self, cx: &Cx<'_>, id: &str) -> Result<Option<Vec<Obj>>> {
        Ok(Some(read(cx, id).await?))
    }
    fn dependents(&self, _id: &str) -> (Vec<String>, Vec<String>) {
        (Vec::new(), Vec::new())
    }
    fn terraform(&self, o: &Obj, tf: &mut Tf<'_>) {
        let mut m: Map<String, Value> = tf.fit("databricks_global_init_script", &o.body);
        if let Some(s) = o.body["script"].as_str() {
            m.insert("content_base64".into(), s.into());
        }
        tf.resource(
            "databricks_global_init_script",
            name("init_script", &o.id),
            m,
        );
    }
    fn audit(&self, r: &Record<'_>) -> Option<Hit> {
        if r.is("globalInitScripts", &["create"]) {
            return r.result("script_id").map(Hit::Id);
        }
        r.is("globalInitScripts", &["update", "delete"])
            .then(|| r.param(&["script_id"]).map(Hit::Id))
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
            ("script_id", "the DR workspace gives the script its own id"),
            ("created_at", "set by the DR workspace"),
            ("created_by", "set by the DR workspace"),
            ("updated_at", "set by the DR workspace"),
            ("updated_by", "set by the DR workspace"),
        ]
    }
}
