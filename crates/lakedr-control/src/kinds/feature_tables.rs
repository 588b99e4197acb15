//! Feature tables of the workspace feature store: their whole definition (keys, features,
//! producers). No Terraform resource exists for them: a Unity Catalog feature table is a table
//! with a primary key (restored as such); the definition is in the snapshot.

use async_trait::async_trait;
use serde_json::Value;

use crate::api::{Token, list_paged};
use crate::audit::Record;
use crate::error::Result;
use crate::kind::{Acl, Cx, Hit, Kind, KindSpec, Securable};
use crate::obj::{Obj, Walk, each, keyed};
use crate::terraform::Tf;

#[derive(Debug)]
pub struct Spec;

async fn read(cx: &Cx<'_>, name: &str) -> Result<Obj> {
    let got = cx
        .api
        .get(
            "/api/2.0/feature-store/feature-tables/get",
            &[("name", name)],
        )
        .await?;
    Ok(Obj::new(
        Kind::FeatureTables,
        name,
        got["feature_table"].clone(),
    ))
}

#[async_trait]
impl KindSpec for Spec {
    async fn walk(&self, cx: &Cx<'_>, walk: &mut Walk) {
        let listed = list_paged(
            cx.api,
            "/api/2.0/feature-store/feature-tables/search",
            &[("max_results", "200")],
            "feature_tables",
            Token::PageToken,
        )
        .await;
        if let Some(items) = walk.listed(Kind::FeatureTables, listed) {
            let items: Vec<(String, Value)> =
                items.into_iter().filter_map(|t| keyed(t, "name")).collect();
            each(
                walk,
                Kind::FeatureTables,
                items,
                cx.concurrency,
                |n, _| async move { Ok(vec![read(cx, &n).await?]) },
            )
            .await;
        }
    }
    fn parents(&self) -> &'static [Kind] {
        &[]
    }
    async fn read_one(&self, cx: &Cx<'_>, id: &str) -> Result<Option<Vec<Obj>>> {
        Ok(Some(vec![read(cx, id).await?]))
    }
    fn dependents(&self, _id: &str) -> (Vec<String>, Vec<String>) {
        (Vec::new(), Vec::new())
    }
    fn terraform(&self, _o: &Obj, _tf: &mut Tf<'_>) {}
    fn audit(&self, r: &Record<'_>) -> Option<Hit> {
        r.is(
            "featureStore",
            &[
                "createFeatureTable",
                "deleteFeatureTable",
                "addProducer",
                "updateFeatureTable",
            ],
        )
        .then(|| r.param(&["name"]).map(Hit::Id))
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
        &[]
    }
}
