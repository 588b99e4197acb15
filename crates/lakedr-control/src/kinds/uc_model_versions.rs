//! Versions of Unity Catalog models (read with their model), their artifacts checked in DR.
//! No Terraform: a version is restored with its artifacts.

use async_trait::async_trait;
use serde_json::Value;

use crate::audit::Record;
use crate::error::Result;
use crate::kind::{Acl, Cx, Hit, Kind, KindSpec, Securable};
use crate::obj::{Obj, Walk, enc};
use crate::terraform::Tf;

#[derive(Debug)]
pub struct Spec;

/// A version with its artifacts' DR verdict.
pub async fn with_artifacts(cx: &Cx<'_>, full: &str, version: &str, mut v: Value) -> Result<Obj> {
    let loc = v["storage_location"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    v["dr_artifacts"] = cx.arts.check_version(&v, &loc).await?;
    Ok(Obj::new(
        Kind::UcModelVersions,
        format!("{full}/{version}"),
        v,
    ))
}

#[async_trait]
impl KindSpec for Spec {
    async fn walk(&self, _cx: &Cx<'_>, _walk: &mut Walk) {}
    fn parents(&self) -> &'static [Kind] {
        &[Kind::UcModels]
    }
    async fn read_one(&self, cx: &Cx<'_>, id: &str) -> Result<Option<Vec<Obj>>> {
        let Some((full, version)) = id.rsplit_once('/') else {
            return Ok(None);
        };
        let v = cx
            .api
            .get(
                &format!(
                    "/api/2.1/unity-catalog/models/{}/versions/{version}",
                    enc(full)
                ),
                &[],
            )
            .await?;
        Ok(Some(vec![with_artifacts(cx, full, version, v).await?]))
    }
    fn dependents(&self, _id: &str) -> (Vec<String>, Vec<String>) {
        (Vec::new(), Vec::new())
    }
    fn terraform(&self, _o: &Obj, _tf: &mut Tf<'_>) {}
    fn audit(&self, r: &Record<'_>) -> Option<Hit> {
        r.is(
            "unityCatalog",
            &[
                "createModelVersion",
                "updateModelVersion",
                "deleteModelVersion",
                "finalizeModelVersion",
            ],
        )
        .then(|| {
            let full = r.param(&["full_name_arg", "full_name"])?;
            let v = r.param(&["version_arg", "version"])?;
            Some(Hit::Id(format!("{full}/{v}")))
        })
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
