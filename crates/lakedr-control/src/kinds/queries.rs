//! SQL queries (the current API: `/api/2.0/sql/queries`), their warehouse a reference.

use async_trait::async_trait;
use serde_json::{Map, Value};

use crate::api::{Token, list_paged};
use crate::audit::Record;
use crate::error::Result;
use crate::kind::{Acl, Cx, Hit, Kind, KindSpec, Securable, as_id};
use crate::obj::{Obj, Walk, each};
use crate::terraform::{Tf, name};

#[derive(Debug)]
pub struct Spec;

const ACL: Acl = Acl {
    api: "queries",
    attr: "sql_query_id",
    resource: "databricks_query",
    prefix: "query",
    ref_attr: "id",
};

const PATH: &str = "/api/2.0/sql/queries";

#[async_trait]
impl KindSpec for Spec {
    async fn walk(&self, cx: &Cx<'_>, walk: &mut Walk) {
        let listed = list_paged(
            cx.api,
            PATH,
            &[("page_size", "100")],
            "results",
            Token::PageToken,
        )
        .await;
        if let Some(items) = walk.listed(Kind::Queries, listed) {
            let items: Vec<(String, Value)> = items
                .into_iter()
                .filter_map(|v| Some((as_id(&v["id"])?, v)))
                .collect();
            each(walk, Kind::Queries, items, cx.concurrency, |id, body| {
                super::with_permissions(cx.api, Obj::new(Kind::Queries, id, body))
            })
            .await;
        }
    }
    fn parents(&self) -> &'static [Kind] {
        &[]
    }
    async fn read_one(&self, cx: &Cx<'_>, id: &str) -> Result<Option<Vec<Obj>>> {
        let body = cx.api.get(&format!("{PATH}/{id}"), &[]).await?;
        if body["lifecycle_state"] == "TRASHED" {
            return Ok(None);
        }
        Ok(Some(
            super::with_permissions(cx.api, Obj::new(Kind::Queries, id, body)).await?,
        ))
    }
    fn dependents(&self, id: &str) -> (Vec<String>, Vec<String>) {
        (super::acl_key(Some(ACL), id), Vec::new())
    }
    fn terraform(&self, o: &Obj, tf: &mut Tf<'_>) {
        let mut m: Map<String, Value> = tf.fit("databricks_query", &o.body);
        tf.refer_at(&mut m, "warehouse_id", Kind::SqlWarehouses, "id");
        // A parameter whose values come from another query names that query.
        for p in m
            .get_mut("parameter")
            .and_then(Value::as_array_mut)
            .into_iter()
            .flatten()
            .filter_map(Value::as_object_mut)
        {
            for q in p
                .get_mut("query_backed_value")
                .and_then(Value::as_array_mut)
                .into_iter()
                .flatten()
                .filter_map(Value::as_object_mut)
            {
                tf.refer_at(q, "query_id", Kind::Queries, "id");
            }
        }
        tf.resource("databricks_query", name("query", &o.id), m);
    }
    fn audit(&self, r: &Record<'_>) -> Option<Hit> {
        if r.is(
            "databrickssql",
            &["createQuery", "updateQuery", "deleteQuery", "restoreQuery"],
        ) {
            return r.param(&["queryId", "id"]).map(Hit::Id);
        }
        (r.is("databrickssql", &["changePermissions"])
            && r.param(&["objectType"]).as_deref() == Some("query"))
        .then(|| r.param(&["objectId"]).map(Hit::Id))
        .flatten()
    }
    fn alias(&self, _o: &Obj) -> Option<String> {
        None
    }
    fn acl(&self) -> Option<Acl> {
        Some(ACL)
    }
    fn securable(&self) -> Option<Securable> {
        None
    }
    fn omitted(&self) -> &'static [(&'static str, &'static str)] {
        &[
            ("id", "the DR workspace gives the query its own id"),
            ("create_time", "set by the DR workspace"),
            ("update_time", "set by the DR workspace"),
            ("lifecycle_state", "set by the DR workspace"),
            ("last_modifier_user_name", "set by the DR workspace"),
        ]
    }
}
