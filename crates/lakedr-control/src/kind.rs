//! What a kind of exported object is: one [`Kind`] variant, one module under [`crate::kinds`]
//! that implements [`KindSpec`] for it, and one line in the `kinds!` list below. Every
//! operation of the export (the walk, a read after a change event, the Terraform, the audit
//! actions that change the kind, what hangs on an object) goes through [`Kind::spec`], so a new
//! kind is a module and a line, and a kind that does not say how it is read, written as
//! Terraform or followed in the audit logs does not compile.

use std::fmt;

use async_trait::async_trait;
use serde_json::Value;

use crate::api::WorkspaceApi;
use crate::audit::Record;
use crate::error::Result;
use crate::models::ArtifactLocations;
use crate::obj::{Obj, Walk};
use crate::terraform::Tf;

/// The declaration of every kind: `Variant => "stored name", module;`. The stored name is the
/// kind's segment in manifests, snapshot keys and change events: never change one.
macro_rules! kinds {
    ($($variant:ident => $name:literal, $module:ident;)+) => {
        /// A kind of exported object.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Kind {
            $($variant,)+
        }

        impl Kind {
            /// Every kind, in walk order.
            pub const ALL: &'static [Kind] = &[$(Kind::$variant,)+];

            /// The stored name.
            pub fn name(self) -> &'static str {
                match self {
                    $(Kind::$variant => $name,)+
                }
            }

            /// The kind of a stored name.
            pub fn parse(name: &str) -> Option<Kind> {
                match name {
                    $($name => Some(Kind::$variant),)+
                    _ => None,
                }
            }

            /// What the kind's module says about it.
            pub fn spec(self) -> &'static dyn KindSpec {
                match self {
                    $(Kind::$variant => &crate::kinds::$module::Spec,)+
                }
            }
        }
    };
}

kinds! {
    WorkspaceConf => "workspace_conf", workspace_conf;
    Users => "users", users;
    ServicePrincipals => "service_principals", service_principals;
    Groups => "groups", groups;
    GroupMembers => "group_members", group_members;
    InstanceProfiles => "instance_profiles", instance_profiles;
    ClusterPolicies => "cluster_policies", cluster_policies;
    InstancePools => "instance_pools", instance_pools;
    Clusters => "clusters", clusters;
    Libraries => "libraries", libraries;
    GlobalInitScripts => "global_init_scripts", global_init_scripts;
    SqlWarehouses => "sql_warehouses", sql_warehouses;
    Queries => "queries", queries;
    Alerts => "alerts", alerts;
    Dashboards => "dashboards", dashboards;
    Directories => "directories", directories;
    Notebooks => "notebooks", notebooks;
    WorkspaceFiles => "workspace_files", workspace_files;
    Repos => "repos", repos;
    Pipelines => "pipelines", pipelines;
    Jobs => "jobs", jobs;
    SecretScopes => "secret_scopes", secret_scopes;
    SecretAcls => "secret_acls", secret_acls;
    Secrets => "secrets", secrets;
    IpAccessLists => "ip_access_lists", ip_access_lists;
    Metastore => "metastore", metastore;
    StorageCredentials => "storage_credentials", storage_credentials;
    ExternalLocations => "external_locations", external_locations;
    Catalogs => "catalogs", catalogs;
    Schemas => "schemas", schemas;
    Tables => "tables", tables;
    Volumes => "volumes", volumes;
    RegisteredModels => "registered_models", registered_models;
    ModelVersions => "model_versions", model_versions;
    Experiments => "experiments", experiments;
    UcModels => "uc_models", uc_models;
    UcModelVersions => "uc_model_versions", uc_model_versions;
    FeatureTables => "feature_tables", feature_tables;
    ServingEndpoints => "serving_endpoints", serving_endpoints;
    Permissions => "permissions", permissions;
    Grants => "grants", grants;
    AccountWorkspaces => "account_workspaces", account_workspaces;
    AccountUsers => "account_users", account_users;
    AccountGroups => "account_groups", account_groups;
    AccountServicePrincipals => "account_service_principals", account_service_principals;
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl serde::Serialize for Kind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de> serde::Deserialize<'de> for Kind {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Kind::parse(&s).ok_or_else(|| serde::de::Error::custom(format!("unknown kind `{s}`")))
    }
}

/// What the walk of a workspace has at hand.
pub struct Cx<'a> {
    /// The workspace API.
    pub api: &'a dyn WorkspaceApi,
    /// The account API (`/api/2.0/accounts/<id>/...`), when account credentials are given.
    pub account: Option<&'a Account<'a>>,
    /// Where model artifacts are, at the source and in DR.
    pub arts: &'a ArtifactLocations,
    /// Requests in flight at most.
    pub concurrency: usize,
}

impl fmt::Debug for Cx<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cx")
            .field("host", &self.api.host())
            .field("account", &self.account)
            .field("concurrency", &self.concurrency)
            .finish()
    }
}

impl fmt::Debug for Account<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Account")
            .field("id", &self.id)
            .field("workspace_id", &self.workspace_id)
            .finish()
    }
}

/// The account API and the account's id.
pub struct Account<'a> {
    pub api: &'a dyn WorkspaceApi,
    pub id: String,
    /// The workspace whose account-level objects are exported (its id in the account).
    pub workspace_id: String,
}

impl Account<'_> {
    /// `/api/2.0/accounts/<id><rest>`.
    pub fn path(&self, rest: &str) -> String {
        format!("/api/2.0/accounts/{}{rest}", self.id)
    }
}

/// How a kind's objects carry workspace permissions (`/api/2.0/permissions/<api>/<id>`), and
/// how their `databricks_permissions` resource names the object.
#[derive(Clone, Copy, Debug)]
pub struct Acl {
    /// The permissions API's object type (`jobs`, `sql/warehouses`, `registered-models`...).
    pub api: &'static str,
    /// The `databricks_permissions` attribute that names the object (`job_id`...).
    pub attr: &'static str,
    /// The resource type and name prefix of the object, and the attribute referenced.
    pub resource: &'static str,
    pub prefix: &'static str,
    pub ref_attr: &'static str,
}

/// How a kind's objects carry Unity Catalog grants.
#[derive(Clone, Copy, Debug)]
pub struct Securable {
    /// The securable type in the grants API (`catalog`, `function` for models...).
    pub api: &'static str,
    /// The `databricks_grants` attribute that names the securable.
    pub attr: &'static str,
    pub resource: &'static str,
    pub prefix: &'static str,
    pub ref_attr: &'static str,
}

/// An object an audit record names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Hit {
    /// The object of this kind with this id.
    Id(String),
    /// Something the export's index resolves: a workspace object id, a serving endpoint id...
    Alias(String),
    /// Two objects (a rename or a move: the old one gone, the new one there).
    Renamed(String, String),
    /// An object only known through another kind: that kind, that id.
    Other(Kind, String),
    /// Workspace paths of one object whose type only the index knows (a move of a node).
    Paths(Vec<String>),
    /// Several.
    Many(Vec<Hit>),
}

/// What a kind says about itself. Every method is required: a kind states how it is read, read
/// alone, written as Terraform, followed in audit logs, and what is not carried into Terraform.
#[async_trait]
pub trait KindSpec: Send + Sync {
    /// Lists and reads every object of the kind into `walk`, with what is read with each
    /// (permissions, grants, parts). Kinds read as parts of another kind do nothing.
    async fn walk(&self, cx: &Cx<'_>, walk: &mut Walk);

    /// The kinds whose walk produces this kind's objects (it is complete when they all are);
    /// empty for a kind walked on its own.
    fn parents(&self) -> &'static [Kind];

    /// Reads one object and what hangs on it after a change event; `Ok(None)` when it no longer
    /// exists. A kind that cannot be read one object at a time returns `Error::Deferred`.
    async fn read_one(&self, cx: &Cx<'_>, id: &str) -> Result<Option<Vec<Obj>>>;

    /// The manifest keys read with one object (its permissions or grants), and the key
    /// prefixes of its parts (a model's versions): a re-read replaces them all.
    fn dependents(&self, id: &str) -> (Vec<String>, Vec<String>);

    /// The Terraform of one object, into `tf`.
    fn terraform(&self, o: &Obj, tf: &mut Tf<'_>);

    /// The object of this kind an audit record changed, if any.
    fn audit(&self, r: &Record<'_>) -> Option<Hit>;

    /// Another name the object is known by in audit records (a workspace object's numeric id,
    /// a serving endpoint's id), kept in the manifest to resolve [`Hit::Alias`].
    fn alias(&self, o: &Obj) -> Option<String>;

    /// Workspace permissions of the kind's objects.
    fn acl(&self) -> Option<Acl>;

    /// Unity Catalog grants of the kind's objects.
    fn securable(&self) -> Option<Securable>;

    /// Top-level fields of the API object that its Terraform does not carry, with the reason
    /// (the new workspace computes them, run state, read-only...). The fidelity test holds the
    /// Terraform to this list.
    fn omitted(&self) -> &'static [(&'static str, &'static str)];
}

/// The kind whose objects carry permissions of API object type `api`.
pub fn kind_of_acl(api: &str) -> Option<Kind> {
    Kind::ALL
        .iter()
        .copied()
        .find(|k| k.spec().acl().is_some_and(|a| a.api == api))
}

/// The kind whose objects carry grants of securable type `api`.
pub fn kind_of_securable(api: &str) -> Option<Kind> {
    Kind::ALL
        .iter()
        .copied()
        .find(|k| k.spec().securable().is_some_and(|s| s.api == api))
}

/// A `Value` field as an id (strings and numbers).
pub fn as_id(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_are_distinct() {
        let mut seen = std::collections::BTreeSet::new();
        for k in Kind::ALL {
            assert_eq!(Kind::parse(k.name()), Some(*k));
            assert!(seen.insert(k.name()), "{k} twice");
        }
        assert_eq!(Kind::parse("nope"), None);
    }

    #[test]
    fn every_acl_and_securable_type_belongs_to_one_kind() {
        let mut apis = std::collections::BTreeMap::new();
        for k in Kind::ALL {
            if let Some(a) = k.spec().acl() {
                assert!(
                    apis.insert(a.api, *k).is_none(),
                    "permissions type {} twice",
                    a.api
                );
            }
        }
        let mut sec = std::collections::BTreeMap::new();
        for k in Kind::ALL {
            if let Some(s) = k.spec().securable() {
                assert!(
                    sec.insert(s.api, *k).is_none(),
                    "securable type {} twice",
                    s.api
                );
            }
        }
        assert_eq!(kind_of_acl("jobs"), Some(Kind::Jobs));
        assert_eq!(kind_of_securable("function"), Some(Kind::UcModels));
    }
}
