//! Versions of the workspace registry's models (read with their model): where their artifacts
//! are, and whether they are complete in DR (`dr_artifacts`). No Terraform: a version is
//! restored with its artifacts (registered from its DR location).

use async_trait::async_trait;
use serde_json::{Value, json};

use crate::audit::Record;
use crate::error::Result;
use crate::kind::{Acl, Cx, Hit, Kind, KindSpec, Securable};
use crate::obj::{Obj, Walk};
use crate::terraform::Tf;

#[derive(Debug)]
pub struct Spec;

/// A version with its artifact location and their DR verdict; `None` when it is gone.
pub async fn with_artifacts(
    cx: &Cx<'_>,
    name: &str,
    version: &str,
    mut v: Value,
) -> Result<Option<Obj>> {
    let uri = cx
        .api
        .get(
            "/api/2.0/mlflow/model-versions/get-download-uri",
            &[("name", name), ("version", version)],
        )
        .await;
    let uri = match uri {
        Ok(u) => u,
        Err(e) if e.is_not_found() => return Ok(None),
        Err(e) => return Err(e),
    };
    let artifact_uri = uri["artifact_uri"]
        .as_str()
        .or(v["source"].as_str())
        .unwrap_or_default()
        .to_string();
    v["artifact_uri"] = json!(artifact_uri);
    v["dr_artifacts"] = cx.arts.check_version(&v, &artifact_uri).await?;
    Ok(Some(Obj::new(
        Kind::ModelVersions,
        format!("{name}/{version}"),
        v,
    )))
}

#[async_trait]
impl KindSpec for Spec {
    async fn walk(&self, _cx: &Cx<'_>, _walk: &mut Walk) {}
    fn parents(&self) -> &'static [Kind] {
        &[Kind::RegisteredModels]
    }
    async fn read_one(&self, cx: &Cx<'_>, id: &str) -> Result<Option<Vec<Obj>>> {
        let Some((name, version)) = id.rsplit_once('/') else {
            return Ok(None);
        };
        let got = cx
            .api
            .get(
                "/api/2.0/mlflow/model-versions/get",
                &[("name", name), ("version", version)],
            )
            .await?;
        Ok(
            with_artifacts(cx, name, version, got["model_version"].clone())
                .await?
                .map(|o| vec![o]),
        )
    }
    fn dependents(&self, _id: &str) -> (Vec<String>, Vec<String>) {
        (Vec::new(), Vec::new())
    }
    fn terraform(&self, _o: &Obj, _tf: &mut Tf<'_>) {}
    fn audit(&self, r: &Record<'_>) -> Option<Hit> {
        if r.is("modelRegistry", &["createModelVersion"]) {
            let name = r.param(&["name"])?;
            let version = r.result("model_version").and_then(|v| {
                serde_json::from_str::<Value>(&v)
                    .ok()
                    .and_then(|v| crate::kind::as_id(&v["version"]))
            });
            let version = version.or_else(|| {
                let res: Value =
                    serde_json::from_str(r.raw["response"]["result"].as_str()?).ok()?;
                crate::kind::as_id(&res["model_version"]["version"])
            });
            return Some(match version {
                Some(v) => Hit::Id(format!("{name}/{v}")),
                None => Hit::Other(Kind::RegisteredModels, name),
            });
        }
        if r.is("modelRegistry", &["transitionModelVersionStage"])
            && r.param(&["archive_existing_versions"]).as_deref() == Some("true")
        {
            return Some(Hit::Id(format!(
                "{}/{}",
                r.param(&["name"])?,
                r.param(&["version"])?
            )));
        }
        r.is(
            "modelRegistry",
            &[
                "updateModelVersion",
                "deleteModelVersion",
                "transitionModelVersionStage",
                "setModelVersionTag",
                "deleteModelVersionTag",
            ],
        )
        .then(|| {
            Some(Hit::Id(format!(
                "{}/{}",
                r.param(&["name"])?,
                r.param(&["version"])?
            )))
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
