//! One module per kind (see [`crate::kind`]), and what several kinds share: reading
//! permissions and grants, and their Terraform.

use crate::api::WorkspaceApi;
use crate::error::Result;
use crate::kind::{Acl, Kind, Securable};
use crate::obj::{Obj, enc};

pub mod account_groups;
pub mod account_service_principals;
pub mod account_users;
pub mod account_workspaces;
pub mod alerts;
pub mod catalogs;
pub mod cluster_policies;
pub mod clusters;
pub mod dashboards;
pub mod directories;
pub mod experiments;
pub mod external_locations;
pub mod feature_tables;
pub mod global_init_scripts;
pub mod grants;
pub mod group_members;
pub mod groups;
pub mod instance_pools;
pub mod instance_profiles;
pub mod ip_access_lists;
pub mod jobs;
pub mod libraries;
pub mod metastore;
pub mod model_versions;
pub mod notebooks;
pub mod permissions;
pub mod pipelines;
pub mod queries;
pub mod registered_models;
pub mod repos;
pub mod schemas;
pub mod secret_acls;
pub mod secret_scopes;
pub mod secrets;
pub mod service_principals;
pub mod serving_endpoints;
pub mod sql_warehouses;
pub mod storage_credentials;
pub mod tables;
pub mod uc_model_versions;
pub mod uc_models;
pub mod users;
pub mod volumes;
pub mod workspace_conf;
pub mod workspace_files;

/// Object permissions: `permissions/<api>/<id>`.
pub async fn permissions(api: &dyn WorkspaceApi, acl: &str, id: &str) -> Result<Obj> {
    let body = api
        .get(&format!("/api/2.0/permissions/{acl}/{id}"), &[])
        .await?;
    Ok(Obj::new(Kind::Permissions, format!("{acl}/{id}"), body))
}

/// An object and its permissions (the kind's [`Acl`]).
pub async fn with_permissions(api: &dyn WorkspaceApi, o: Obj) -> Result<Vec<Obj>> {
    let Some(acl) = o.kind.spec().acl() else {
        return Ok(vec![o]);
    };
    let p = permissions(api, acl.api, &o.id).await?;
    Ok(vec![o, p])
}

/// Unity Catalog grants: `grants/<securable>/<full name>`.
pub async fn grants(api: &dyn WorkspaceApi, securable: &str, full_name: &str) -> Result<Obj> {
    let body = api
        .get(
            &format!(
                "/api/2.1/unity-catalog/permissions/{securable}/{}",
                enc(full_name)
            ),
            &[],
        )
        .await?;
    Ok(Obj::new(
        Kind::Grants,
        format!("{securable}/{full_name}"),
        body,
    ))
}

/// An object and its grants (the kind's [`Securable`]).
pub async fn with_grants(api: &dyn WorkspaceApi, o: Obj) -> Result<Vec<Obj>> {
    let Some(s) = o.kind.spec().securable() else {
        return Ok(vec![o]);
    };
    let g = grants(api, s.api, &o.id).await?;
    Ok(vec![o, g])
}

/// The manifest key of an object's permissions.
pub fn acl_key(acl: Option<Acl>, id: &str) -> Vec<String> {
    acl.map(|a| format!("permissions/{}/{id}", a.api))
        .into_iter()
        .collect()
}

/// The manifest key of an object's grants.
pub fn grants_key(s: Option<Securable>, id: &str) -> Vec<String> {
    s.map(|s| format!("grants/{}/{id}", s.api))
        .into_iter()
        .collect()
}
