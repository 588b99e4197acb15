//! SQL warehouses, paged by `page_token` (older workspaces answer under `endpoints`).

use async_trait::async_trait;
use serde_json::{Map, Value};

use crate::api::{Token, list_paged};
use crate::audit::Record;
use crate::error::Result;
use crate::kind::{Acl, Cx, Hit, Kind, KindSpec, Securable, as_id};
use crate::obj::{Obj, Walk, each, strip_volatile};
use crate::terraform::{Tf, name};

#[derive(Debug)]
pub struct Spec;

const ACL: Acl = Acl {
    api: "sql/warehouses",
    attr: "sql_endpoint_id",
    resource: "databricks_sql_endpoint",
    prefix: "warehouse",
    ref_attr: "id",
};

const PATH: &str = "/api/2.0/sql/warehouses";

async fn list(cx: &Cx<'_>) -> Result<Vec<Value>> {
    let mut items = list_paged(
        cx.api,
        PATH,
        &[("page_size", "100")],
        "warehouses",
        Token::PageToken,
    )
    .await?;
    if items.is_empty() {
        // An older workspace answers under the warehouses' former name, unpaged.
        items = list_paged(cx.api, PATH, &[], "endpoints", Token::PageToken).await?;
    }
    Ok(items)
}

#[async_trait]
impl KindSpec for Spec {
    async fn walk(&self, cx: &Cx<'_>, walk: &mut Walk) {
        if let Some(items) = walk.listed(Kind::SqlWarehouses, list(cx).await) {
            let items: Vec<(String, Value)> = items
                .into_iter()
                .filter_map(|v| Some((as_id(&v["id"])?, v)))
                .collect();
            each(
                walk,
                Kind::SqlWarehouses,
                items,
                cx.concurrency,
                |id, body| {
                    super::with_permissions(
                        cx.api,
                        Obj::new(Kind::SqlWarehouses, id, strip_volatile(body)),
                    )
                },
            )
            .await;
        }
    }
    fn parents(&self) -> &'static [Kind] {
        &[]
    }
    async fn read_one(&self, cx: &Cx<'_>, id: &str) -> Result<Option<Vec<Obj>>> {
        let body = cx.api.get(&format!("{PATH}/{id}"), &[]).await?;
        Ok(Some(
            super::with_permissions(
                cx.api,
                Obj::new(Kind::SqlWarehouses, id, strip_volatile(body)),
            )
            .await?,
        ))
    }
    fn dependents(&self, id: &str) -> (Vec<String>, Vec<String>) {
        (super::acl_key(Some(ACL), id), Vec::new())
    }
    fn terraform(&self, o: &Obj, tf: &mut Tf<'_>) {
        let mut m: Map<String, Value> = tf.fit("databricks_sql_endpoint", &o.body);
        // An instance profile is an ARN of the primary's account and region.
        if let Some(arn) = m
            .get("instance_profile_arn")
            .and_then(Value::as_str)
            .filter(|a| !a.is_empty())
            .map(str::to_owned)
        {
            m.insert(
                "instance_profile_arn".into(),
                serde_json::json!(crate::terraform::vars::instance_profile(&arn)),
            );
        }
        tf.resource("databricks_sql_endpoint", name("warehouse", &o.id), m);
    }
    fn audit(&self, r: &Record<'_>) -> Option<Hit> {
        if r.is("databrickssql", &["createWarehouse", "createEndpoint"]) {
            return r.result("id").map(Hit::Id);
        }
        if r.is(
            "databrickssql",
            &[
                "editWarehouse",
                "deleteWarehouse",
                "editEndpoint",
                "deleteEndpoint",
            ],
        ) {
            return r.param(&["id", "warehouseId", "endpointId"]).map(Hit::Id);
        }
        r.is(
            "databrickssql",
            &["changeWarehouseAcls", "changeEndpointAcls"],
        )
        .then(|| r.param(&["resourceId"]).map(Hit::Id))
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
            ("id", "the DR workspace gives the warehouse its own id"),
            ("creator_id", "set by the DR workspace"),
            ("creator_name", "set by the DR workspace"),
            ("jdbc_url", "the DR workspace's address"),
            ("odbc_params", "the DR workspace's address"),
            ("size", "the legacy name of cluster_size"),
        ]
    }
}
