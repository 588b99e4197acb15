//! The account users (account SCIM, with account credentials). Snapshots only: identities are
//! account-wide, so the DR region has them already; the snapshot is what rebuilds them if the
//! account itself had to be.

use async_trait::async_trait;

use crate::audit::Record;
use crate::error::Result;
use crate::kind::{Acl, Cx, Hit, Kind, KindSpec, Securable};
use crate::obj::{Obj, Walk};
use crate::terraform::Tf;

#[derive(Debug)]
pub struct Spec;

#[async_trait]
impl KindSpec for Spec {
    async fn walk(&self, cx: &Cx<'_>, walk: &mut Walk) {
        super::walk_account_scim(cx, walk, Kind::AccountUsers, "Users").await;
    }
    fn parents(&self) -> &'static [Kind] {
        &[]
    }
    async fn read_one(&self, cx: &Cx<'_>, id: &str) -> Result<Option<Vec<Obj>>> {
        super::read_account_scim(cx, Kind::AccountUsers, "Users", id).await
    }
    fn dependents(&self, _id: &str) -> (Vec<String>, Vec<String>) {
        (Vec::new(), Vec::new())
    }
    fn terraform(&self, _o: &Obj, _tf: &mut Tf<'_>) {}
    fn audit(&self, r: &Record<'_>) -> Option<Hit> {
        (r.account_level()
            && r.is(
                "accounts",
                &[
                    "add",
                    "updateUser",
                    "delete",
                    "activateUser",
                    "deactivateUser",
                ],
            )
            && r.param(&["targetUserName"]).is_none_or(|n| n.contains('@')))
        .then(|| r.param(&["targetUserId"]).map(Hit::Id))
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
