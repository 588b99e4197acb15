//! Control-plane export of a Databricks workspace to the DR bucket: a REST client that keeps
//! within the workspace's limits ([`client`]), a walk of every API the export covers
//! ([`kinds`]), and snapshots with unchanged objects left alone and deletions kept as
//! tombstones ([`export`]), and Terraform JSON of the `databricks_*` resources
//! ([`terraform`]). Secret values are never read: the export lists secret scopes and
//! their ACLs only.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod audit;
pub mod client;
pub mod export;
pub mod kinds;
pub mod models;
pub mod terraform;

pub use client::{ApiError, Auth, ClientConfig, DatabricksClient};
pub use export::{Destination, Manifest, RunOptions, export_full, export_one, terraform_dir};
pub use models::ArtifactLocations;
