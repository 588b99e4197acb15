//! Control-plane export of a Databricks workspace to the DR bucket: a REST client that keeps
//! within the workspace's limits ([`client`]) behind the [`api::WorkspaceApi`] trait, one module
//! per kind of object ([`kind`], [`kinds`]), snapshots with unchanged objects left alone and
//! deletions kept as tombstones ([`export`]), Terraform that restores the workspace in the DR
//! region ([`terraform`]), audit logs followed object by object ([`audit`]) and the two
//! functions' logic ([`functions`]). Secret values are never read.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod api;
pub mod audit;
pub mod client;
pub mod error;
pub mod export;
pub mod functions;
pub mod kind;
pub mod kinds;
pub mod models;
pub mod obj;
pub mod terraform;

pub use api::WorkspaceApi;
pub use client::{Auth, ClientConfig, DatabricksClient};
pub use error::{Disposition, Error, Result};
pub use export::{AccountApi, Destination, Manifest, RunOptions, export_full, export_one};
pub use kind::Kind;
pub use models::ArtifactLocations;
pub use terraform::{TfConfig, TfReport, terraform_dir};
