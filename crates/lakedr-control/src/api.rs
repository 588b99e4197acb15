//! What the export asks of a workspace: [`WorkspaceApi`], a `GET` returning JSON, which the
//! HTTP client implements and unit tests implement with a map; and the paging schemes of the
//! APIs, one function each.

use async_trait::async_trait;
use serde_json::Value;

use crate::error::Result;

/// A workspace (or account) REST API, read-only.
#[async_trait]
pub trait WorkspaceApi: Send + Sync {
    /// `GET path?query` as JSON.
    async fn get(&self, path: &str, query: &[(&str, &str)]) -> Result<Value>;
    /// The host, for manifests and names.
    fn host(&self) -> &str;
    /// Requests sent so far (retries included).
    fn calls(&self) -> u64;
}

#[async_trait]
impl WorkspaceApi for crate::client::DatabricksClient {
    async fn get(&self, path: &str, query: &[(&str, &str)]) -> Result<Value> {
        crate::client::DatabricksClient::get(self, path, query).await
    }
    fn host(&self) -> &str {
        crate::client::DatabricksClient::host(self)
    }
    fn calls(&self) -> u64 {
        crate::client::DatabricksClient::calls(self)
    }
}

/// How a token-paged list asks for its next page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Token {
    /// `?page_token=` (jobs, clusters, Unity Catalog, SQL, pipelines, Lakeview...).
    PageToken,
    /// `?next_page_token=` (repos: the request parameter has the answer's name).
    NextPageToken,
}

/// Every page of a token-paged list: follows `next_page_token` until there is none (or
/// `has_more` is false), collecting `items`.
pub async fn list_paged(
    api: &dyn WorkspaceApi,
    path: &str,
    query: &[(&str, &str)],
    items: &str,
    token: Token,
) -> Result<Vec<Value>> {
    let param = match token {
        Token::PageToken => "page_token",
        Token::NextPageToken => "next_page_token",
    };
    let mut out = Vec::new();
    let mut next: Option<String> = None;
    loop {
        let mut q: Vec<(&str, &str)> = query.to_vec();
        if let Some(t) = &next {
            q.push((param, t));
        }
        let page = api.get(path, &q).await?;
        if let Some(a) = page[items].as_array() {
            out.extend(a.iter().cloned());
        }
        let token = page["next_page_token"].as_str().filter(|t| !t.is_empty());
        match token {
            Some(t) if page["has_more"].as_bool() != Some(false) => {
                if next.as_deref() == Some(t) {
                    // The same token twice: the API is not paging as documented.
                    return Err(crate::error::Error::Corrupt {
                        key: path.to_string(),
                        detail: format!("the next page token `{t}` came back twice"),
                    });
                }
                next = Some(t.to_string());
            }
            _ => return Ok(out),
        }
    }
}

/// A SCIM list, by `startIndex` and `count`, until `totalResults` are read.
pub async fn list_scim(api: &dyn WorkspaceApi, path: &str) -> Result<Vec<Value>> {
    let mut out = Vec::new();
    loop {
        let start = (out.len() + 1).to_string();
        let page = api
            .get(path, &[("startIndex", &start), ("count", "100")])
            .await?;
        let got = page["Resources"].as_array().cloned().unwrap_or_default();
        let total = page["totalResults"].as_u64().unwrap_or(0) as usize;
        let empty = got.is_empty();
        out.extend(got);
        if empty || out.len() >= total {
            return Ok(out);
        }
    }
}

/// An API in memory, for unit tests of the walk: answers by path and query, counts calls.
#[cfg(test)]
pub mod memory {
    use std::collections::BTreeMap;
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicU64, Ordering};

    use async_trait::async_trait;
    use serde_json::{Value, json};

    use super::WorkspaceApi;
    use crate::error::{Error, Result};

    #[derive(Debug, Default)]
    pub struct MemoryApi {
        /// `path` or `path?k=v&k=v` (query sorted) to the answer; a `Value::Null` answer is a
        /// 404 `RESOURCE_DOES_NOT_EXIST`.
        pub answers: BTreeMap<String, Value>,
        pub calls: AtomicU64,
        pub asked: Mutex<Vec<String>>,
    }

    impl MemoryApi {
        pub fn with(mut self, key: &str, v: Value) -> Self {
            self.answers.insert(key.to_string(), v);
            self
        }
    }

    fn key(path: &str, query: &[(&str, &str)]) -> String {
        let mut q: Vec<String> = query.iter().map(|(k, v)| format!("{k}={v}")).collect();
        q.sort();
        if q.is_empty() {
            path.to_string()
        } else {
            format!("{path}?{}", q.join("&"))
        }
    }

    #[async_trait]
    impl WorkspaceApi for MemoryApi {
        async fn get(&self, path: &str, query: &[(&str, &str)]) -> Result<Value> {
            self.calls.fetch_add(1, Ordering::Relaxed);
            let k = key(path, query);
            if let Ok(mut a) = self.asked.lock() {
                a.push(k.clone());
            }
            let found = self.answers.get(&k).or_else(|| self.answers.get(path));
            match found {
                Some(Value::Null) => Err(Error::Status {
                    endpoint: k,
                    status: 404,
                    code: "RESOURCE_DOES_NOT_EXIST".into(),
                    message: "does not exist".into(),
                }),
                Some(v) => Ok(v.clone()),
                None => Err(Error::Status {
                    endpoint: k,
                    status: 404,
                    code: "ENDPOINT_NOT_FOUND".into(),
                    message: json!("no such endpoint").to_string(),
                }),
            }
        }
        fn host(&self) -> &str {
            "https://memory"
        }
        fn calls(&self) -> u64 {
            self.calls.load(Ordering::Relaxed)
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::memory::MemoryApi;
    use super::*;

    #[tokio::test]
    async fn repos_page_by_next_page_token() {
        let api = MemoryApi::default()
            .with(
                "/api/2.0/repos",
                json!({"repos": [{"id": 1}], "next_page_token": "a"}),
            )
            .with(
                "/api/2.0/repos?next_page_token=a",
                json!({"repos": [{"id": 2}]}),
            );
        let got = list_paged(&api, "/api/2.0/repos", &[], "repos", Token::NextPageToken)
            .await
            .unwrap();
        assert_eq!(got, vec![json!({"id": 1}), json!({"id": 2})]);
        // Asking with the wrong parameter gets the first page again: caught, not looped on.
        let err = list_paged(&api, "/api/2.0/repos", &[], "repos", Token::PageToken)
            .await
            .unwrap_err();
        assert!(err.to_string().contains("came back twice"), "{err}");
    }
}
