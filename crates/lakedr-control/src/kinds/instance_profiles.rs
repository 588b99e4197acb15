//! Instance profiles registered in the workspace. In DR each is the DR region's profile (the
//! `dr_instance_profiles` variable maps the primary ARN to it).

use async_trait::async_trait;
use serde_json::{Map, json};

use crate::audit::Record;
use crate::error::Result;
use crate::kind::{Acl, Cx, Hit, Kind, KindSpec, Securable};
use crate::obj::{Obj, Walk, items_of};
use crate::terraform::{Tf, name, vars};

#[derive(Debug)]
pub struct Spec;

async fn list(cx: &Cx<'_>) -> Result<Vec<Obj>> {
    let page = cx.api.get("/api/2.0/instance-profiles/list", &[]).await?;
    Ok(items_of(&page, "instance_profiles")
        .into_iter()
        .filter_map(|p| {
            let arn = p["instance_profile_arn"].as_str()?.to_string();
            Some(Obj::new(Kind::InstanceProfiles, arn, p))
        })
        .collect())
}

#[async_trait]
impl KindSpec for Spec {
    async fn walk(&self, cx: &Cx<'_>, walk: &mut Walk) {
        if let Some(objs) = walk.listed(Kind::InstanceProfiles, list(cx).await) {
            objs.into_iter().for_each(|o| walk.push(o));
        }
    }
    fn parents(&self) -> &'static [Kind] {
        &[]
    }
    async fn read_one(&self, cx: &Cx<'_>, id: &str) -> Result<Option<Vec<Obj>>> {
        Ok(list(cx)
            .await?
            .into_iter()
            .find(|o| o.id == id)
            .map(|o| vec![o]))
    }
    fn dependents(&self, _id: &str) -> (Vec<String>, Vec<String>) {
        (Vec::new(), Vec::new())
    }
    fn terraform(&self, o: &Obj, tf: &mut Tf<'_>) {
        if !tf.cfg.dr.instance_profiles.contains_key(&o.id) {
            tf.note(format!(
                "instance profile {}: no DR profile in [dr.instance_profiles]; give var.dr_instance_profiles",
                o.id
            ));
        }
        let mut m = Map::new();
        m.insert(
            "instance_profile_arn".into(),
            json!(vars::instance_profile(&o.id)),
        );
        for k in ["is_meta_instance_profile", "skip_validation"] {
            if let Some(v) = o.body.get(k) {
                m.insert(k.into(), v.clone());
            }
        }
        tf.resource(
            "databricks_instance_profile",
            name("instance_profile", &o.id),
            m,
        );
    }
    fn audit(&self, r: &Record<'_>) -> Option<Hit> {
        r.is("iamRole", &["changeIamRoleAcl"])
            .then(|| r.param(&["resourceId"]).map(Hit::Id))
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
        &[(
            "instance_profile_arn",
            "the DR profile comes from var.dr_instance_profiles",
        )]
    }
}
