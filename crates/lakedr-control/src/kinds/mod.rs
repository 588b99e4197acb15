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
/// One Unity Catalog object (`/api/2.1/unity-catalog/<resource>/<id>`) as `kind`, shaped by
/// `shape`, with its grants.
pub async fn read_uc(
    cx: &crate::kind::Cx<'_>,
    kind: Kind,
    resource: &str,
    id: &str,
    shape: fn(serde_json::Value) -> serde_json::Value,
) -> Result<Option<Vec<Obj>>> {
    let body = cx
        .api
        .get(
            &format!("/api/2.1/unity-catalog/{resource}/{}", enc(id)),
            &[],
        )
        .await?;
    Ok(Some(
        with_grants(cx.api, Obj::new(kind, id, shape(body))).await?,
    ))
}

/// The walk of a metastore-wide Unity Catalog listing keyed by name (`external-locations`,
/// `storage-credentials`, with the list under `field`), each object with its grants.
pub async fn walk_uc_named(
    cx: &crate::kind::Cx<'_>,
    walk: &mut crate::obj::Walk,
    kind: Kind,
    resource: &str,
    field: &str,
) {
    if !walk.complete.contains(&Kind::Metastore) {
        return;
    }
    let listed = crate::api::list_paged(
        cx.api,
        &format!("/api/2.1/unity-catalog/{resource}"),
        &[],
        field,
        crate::api::Token::PageToken,
    )
    .await;
    if let Some(items) = walk.listed(kind, listed) {
        let items: Vec<(String, serde_json::Value)> = items
            .into_iter()
            .filter_map(|v| crate::obj::keyed(v, "name"))
            .collect();
        crate::obj::each(walk, kind, items, cx.concurrency, |n, body| {
            with_grants(cx.api, Obj::new(kind, n, body))
        })
        .await;
    }
}

/// The walk of an account SCIM resource (`Users`, `Groups`, `ServicePrincipals`) as `kind`,
/// when account credentials are configured.
pub async fn walk_account_scim(
    cx: &crate::kind::Cx<'_>,
    walk: &mut crate::obj::Walk,
    kind: Kind,
    resource: &str,
) {
    let Some(a) = cx.account else { return };
    let listed = crate::api::list_scim(a.api, &a.path(&format!("/scim/v2/{resource}"))).await;
    if let Some(items) = walk.listed(kind, listed) {
        for v in items {
            if let Some(id) = crate::kind::as_id(&v["id"]) {
                walk.push(Obj::new(kind, id, v));
            }
        }
    }
}

/// One object of an account SCIM resource; deferred without account credentials.
pub async fn read_account_scim(
    cx: &crate::kind::Cx<'_>,
    kind: Kind,
    resource: &str,
    id: &str,
) -> Result<Option<Vec<Obj>>> {
    let a = cx.account.ok_or_else(|| crate::error::Error::Deferred {
        kind: kind.name().into(),
        reason: "no account credentials are configured".into(),
    })?;
    let v = a
        .api
        .get(&a.path(&format!("/scim/v2/{resource}/{id}")), &[])
        .await?;
    Ok(Some(vec![Obj::new(kind, id, v)]))
}

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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::api::memory::MemoryApi;
    use crate::kind::{Cx, Kind};
    use crate::models::ArtifactLocations;
    use crate::obj::Walk;

    fn cx(api: &MemoryApi) -> Cx<'_> {
        Cx {
            api,
            account: None,
            arts: Box::leak(Box::new(ArtifactLocations::default())),
            concurrency: 2,
        }
    }

    #[tokio::test]
    async fn jobs_page_and_a_cut_job_is_read_whole_with_its_permissions() {
        let tasks = |r: std::ops::Range<u32>| -> Vec<serde_json::Value> {
            r.map(|i| json!({"task_key": format!("t{i}")})).collect()
        };
        let api = MemoryApi::default()
            .with(
                "/api/2.2/jobs/list?expand_tasks=true&limit=100",
                json!({"jobs": [{"job_id": 1, "settings": {"name": "a"}}], "next_page_token": "p2", "has_more": true}),
            )
            .with(
                "/api/2.2/jobs/list?expand_tasks=true&limit=100&page_token=p2",
                json!({"jobs": [{"job_id": 2, "settings": {"name": "wide", "tasks": tasks(0..100)}, "has_more": true},
                                {"job_id": 3, "settings": {"name": "gone"}}], "has_more": false}),
            )
            .with(
                "/api/2.2/jobs/get?job_id=2",
                json!({"job_id": 2, "settings": {"name": "wide", "tasks": tasks(0..100)}, "next_page_token": "t2"}),
            )
            .with(
                "/api/2.2/jobs/get?job_id=2&page_token=t2",
                json!({"job_id": 2, "settings": {"tasks": tasks(100..130)}}),
            )
            .with("/api/2.0/permissions/jobs/1", json!({"access_control_list": []}))
            .with("/api/2.0/permissions/jobs/2", json!({"access_control_list": []}))
            // Job 3 was deleted between the list and its permissions.
            .with("/api/2.0/permissions/jobs/3", serde_json::Value::Null);
        let mut walk = Walk::new();
        Kind::Jobs.spec().walk(&cx(&api), &mut walk).await;
        let keys: Vec<String> = walk.objects.iter().map(|o| o.key()).collect();
        assert_eq!(
            {
                let mut k = keys.clone();
                k.sort();
                k
            },
            [
                "jobs/1",
                "jobs/2",
                "permissions/jobs/1",
                "permissions/jobs/2"
            ],
            "job 3 left out, not an error: {:?}",
            walk.errors
        );
        assert!(walk.errors.is_empty() && walk.complete.contains(&Kind::Jobs));
        let wide = walk.objects.iter().find(|o| o.key() == "jobs/2").unwrap();
        let body: serde_json::Value = serde_json::from_slice(&wide.bytes).unwrap();
        assert_eq!(body["settings"]["tasks"].as_array().unwrap().len(), 130);
    }

    #[tokio::test]
    async fn a_kind_whose_listing_fails_is_not_complete_and_names_the_failure() {
        let api = MemoryApi::default(); // every endpoint unknown
        let mut walk = Walk::new();
        Kind::Pipelines.spec().walk(&cx(&api), &mut walk).await;
        assert!(walk.objects.is_empty() && !walk.complete.contains(&Kind::Pipelines));
        assert_eq!(walk.errors.len(), 1);
        assert!(
            walk.errors[0].error.contains("/api/2.0/pipelines"),
            "{:?}",
            walk.errors
        );
        // Its permissions are not complete either: no deletion can be inferred.
        walk.close();
        assert!(!walk.complete.contains(&Kind::Permissions));
    }

    #[tokio::test]
    async fn a_large_group_is_read_alone_for_its_members() {
        let api = MemoryApi::default()
            .with(
                "/api/2.0/preview/scim/v2/Groups?count=100&startIndex=1",
                json!({"totalResults": 1, "Resources": [{"id": "7", "displayName": "big"}]}),
            )
            .with(
                "/api/2.0/preview/scim/v2/Groups/7",
                json!({"id": "7", "displayName": "big", "members": [
                    {"value": "1", "display": "a", "$ref": "Users/1"},
                    {"value": "2", "display": "b", "$ref": "ServicePrincipals/2"}]}),
            );
        let mut walk = Walk::new();
        Kind::Groups.spec().walk(&cx(&api), &mut walk).await;
        walk.close();
        let mut keys: Vec<String> = walk.objects.iter().map(|o| o.key()).collect();
        keys.sort();
        assert_eq!(keys, ["group_members/7/1", "group_members/7/2", "groups/7"]);
        assert!(
            walk.complete.contains(&Kind::GroupMembers),
            "members complete with their groups"
        );
    }
}
