//! End-to-end tests: real S3 and SQS (moto server), real Delta tables read back by a real Delta
//! reader (deltalake), events shuffled and duplicated with a fixed seed.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod bad_input;
mod control;
mod copies;
mod functions;
mod models;
mod replication;
mod restore;
mod streams;
mod template;
