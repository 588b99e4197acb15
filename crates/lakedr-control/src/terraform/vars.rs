//! The variables of the DR Terraform: what differs between the regions, with the `[dr]`
//! settings as defaults. A variable without a default (a value the configuration does not
//! know, a secret's value) must be given at `terraform apply`: the plan names it.

use std::collections::BTreeSet;

use lakedr::config::DrSettings;
use serde_json::{Map, Value, json};

/// `${lookup(var.dr_node_types, "<t>", "<t>")}`: the DR node type, the same by default.
pub fn node_type(t: &str) -> String {
    format!("${{lookup(var.dr_node_types, {q}, {q})}}", q = quoted(t))
}

/// `${var.dr_instance_profiles["<arn>"]}`: the DR instance profile of a primary one.
pub fn instance_profile(arn: &str) -> String {
    format!("${{var.dr_instance_profiles[{}]}}", quoted(arn))
}

/// `${var.dr_storage_credential_roles["<name>"]}`: the IAM role of a storage credential in DR.
pub fn storage_role(credential: &str) -> String {
    format!(
        "${{var.dr_storage_credential_roles[{}]}}",
        quoted(credential)
    )
}

/// The variable holding a secret's value (sensitive, never exported, no default).
pub fn secret_variable(scope: &str, key: &str) -> String {
    crate::terraform::name("secret", &format!("{scope}/{key}"))
}

/// An HCL string literal.
fn quoted(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| format!("\"{s}\""))
}

/// The `variable` document declaring every variable `used` names, with its type, description
/// and, where the `[dr]` settings know it, its default.
pub fn variables_document(used: &BTreeSet<String>, dr: &DrSettings) -> Value {
    let mut vars = Map::new();
    for v in used {
        let mut decl = Map::new();
        let (ty, description, default): (&str, &str, Option<Value>) = match v.as_str() {
            "dr_region" => (
                "string",
                "The DR region (the DR metastore's).",
                dr.region.clone().map(Value::from),
            ),
            "dr_zone_id" => (
                "string",
                "The availability zone of clusters and pools in DR (auto: Databricks chooses).",
                Some(json!(dr.zone_id.clone().unwrap_or_else(|| "auto".into()))),
            ),
            "dr_unpause" => (
                "bool",
                "Start schedules, triggers and continuous jobs unpaused in DR.",
                Some(json!(dr.unpause)),
            ),
            "dr_node_types" => (
                "map(string)",
                "Primary node type to DR node type, where they differ.",
                Some(json!(dr.node_types)),
            ),
            "dr_instance_profiles" => (
                "map(string)",
                "Primary instance profile ARN to the DR one.",
                Some(json!(dr.instance_profiles)),
            ),
            "dr_storage_credential_roles" => (
                "map(string)",
                "Storage credential name to the IAM role that reaches its DR copies.",
                Some(json!(dr.storage_credential_roles)),
            ),
            "dr_metastore_storage_root" => (
                "string",
                "The DR metastore's root storage.",
                dr.metastore_storage_root.clone().map(Value::from),
            ),
            "dr_workspace_id" => (
                "string",
                "The DR workspace's id, which the DR metastore is assigned to.",
                dr.workspace_id.clone().map(Value::from),
            ),
            "dr_credentials_role_arn" => (
                "string",
                "The DR twin workspace's cross-account IAM role.",
                dr.credentials_role_arn.clone().map(Value::from),
            ),
            "dr_root_bucket" => (
                "string",
                "The DR twin workspace's root bucket (in the DR region).",
                dr.root_bucket.clone().map(Value::from),
            ),
            "dr_vpc_id" => (
                "string",
                "The DR twin workspace's VPC.",
                dr.vpc_id.clone().map(Value::from),
            ),
            "dr_subnet_ids" => (
                "list(string)",
                "The DR twin workspace's subnets.",
                (!dr.subnet_ids.is_empty()).then(|| json!(dr.subnet_ids)),
            ),
            "dr_security_group_ids" => (
                "list(string)",
                "The DR twin workspace's security groups.",
                (!dr.security_group_ids.is_empty()).then(|| json!(dr.security_group_ids)),
            ),
            "databricks_account_id" => (
                "string",
                "The Databricks account's id (the account-level provider's).",
                None,
            ),
            s if s.starts_with("secret_") => {
                decl.insert("sensitive".into(), json!(true));
                (
                    "string",
                    "A secret's value (never exported): give it at apply.",
                    None,
                )
            }
            _ => ("string", "", None),
        };
        decl.insert("type".into(), json!(ty));
        if !description.is_empty() {
            decl.insert("description".into(), json!(description));
        }
        if let Some(d) = default {
            decl.insert("default".into(), d);
        }
        vars.insert(v.clone(), Value::Object(decl));
    }
    json!({ "variable": vars })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_come_from_the_dr_settings() {
        let dr = DrSettings {
            region: Some("us-west-2".into()),
            ..DrSettings::default()
        };
        let used: BTreeSet<String> = ["dr_region", "dr_zone_id", "dr_workspace_id", "secret_x_1"]
            .map(String::from)
            .into();
        let d = variables_document(&used, &dr);
        assert_eq!(d["variable"]["dr_region"]["default"], "us-west-2");
        assert_eq!(d["variable"]["dr_zone_id"]["default"], "auto");
        assert!(d["variable"]["dr_workspace_id"].get("default").is_none());
        assert_eq!(d["variable"]["secret_x_1"]["sensitive"], true);
        assert_eq!(
            node_type("i3.xlarge"),
            "${lookup(var.dr_node_types, \"i3.xlarge\", \"i3.xlarge\")}"
        );
    }
}
