//! What the table stage learns while it publishes, kept beside the DR copies (under each rule's
//! destination, `_lakedr/`) for the stream stage:
//!
//! * `_lakedr/tables/<metaData.id>.json`: where the DR copy of the table with that identity is
//!   (a Delta source's offsets name its table by id);
//! * `_lakedr/txn/<app id>/<table>.json`: the newest application transaction version of that
//!   app id published in a DR table (a Delta sink's batch ids: a streaming checkpoint's
//!   `commits/N` waits for version N there);
//! * `_lakedr/waiting/<app id>/<checkpoint>.json`: the newest batch a checkpoint waited for
//!   that app id to reach: the table stage hands it back to the ordered queue each time it
//!   publishes that version or a later one.
//!
//! Every entry is written after what it describes is in DR, so it never claims more than DR
//! holds. Delta readers ignore the directory (its name starts with `_`). Losing it loses nothing:
//! the table stage writes it again as it publishes, and a checkpoint waits meanwhile.

use std::collections::BTreeMap;

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use crate::config::{Config, Rule};
use crate::delta::LogContents;
use crate::error::{Error, Result};
use crate::store::{ObjectUrl, PutMode, PutOptions, Stores};

/// The index directory under a rule's destination.
pub const DIR: &str = "_lakedr/";

/// Where a table's DR copy is.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct TableEntry {
    pub rule: String,
    /// Table root relative to the rule.
    pub table: String,
}

/// The newest version of an app id's transactions published in a DR table.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct TxnEntry {
    pub rule: String,
    pub table: String,
    pub app_id: String,
    pub version: i64,
    /// The table version whose commit (or checkpoint) holds it.
    pub table_version: u64,
}

/// A checkpoint waiting for `app_id` to reach `batch`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct WaitEntry {
    pub rule: String,
    /// Checkpoint root relative to its rule.
    pub root: String,
    pub app_id: String,
    pub batch: u64,
    /// The publication that woke it (`<rule>/<table>@<version>`), once woken.
    #[serde(skip)]
    pub by: String,
}

/// A path segment for any id (percent-encoded; `/` included).
fn segment(id: &str) -> String {
    const SET: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'_')
        .remove(b'.');
    let s = percent_encoding::utf8_percent_encode(id, SET).to_string();
    match s.strip_prefix('.') {
        Some(rest) => format!("%2E{rest}"),
        None => s,
    }
}

fn table_key(rule: &Rule, id: &str) -> ObjectUrl {
    rule.dr_url(&format!("{DIR}tables/{}.json", segment(id)))
}

fn txn_dir(rule: &Rule, app: &str) -> ObjectUrl {
    rule.dr_url(&format!("{DIR}txn/{}/", segment(app)))
}

fn wait_dir(rule: &Rule, app: &str) -> ObjectUrl {
    rule.dr_url(&format!("{DIR}waiting/{}/", segment(app)))
}

fn json_put(mode: PutMode) -> PutOptions {
    PutOptions {
        mode,
        content_type: Some("application/json".into()),
        metadata: BTreeMap::new(),
    }
}

async fn read<T: for<'de> Deserialize<'de>>(stores: &Stores, url: &ObjectUrl) -> Result<Option<T>> {
    match stores.get(url).await {
        Ok(g) => serde_json::from_slice(&g.body)
            .map(Some)
            .map_err(|e| Error::Storage {
                target: url.to_string(),
                message: format!("an index entry that does not read back: {e}"),
            }),
        Err(Error::NotFound { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Records what a commit (or bootstrap checkpoint) published in DR says: the table's identity
/// and its app ids' transaction versions. Returns the checkpoints that waited for those
/// versions: the caller runs them again. Entries are kept: removing one could remove a newer
/// wait written meanwhile, and a kept entry only wakes its checkpoint again at the sink's next
/// publication (a run with nothing new does nothing), so a wake lost to a failure is given
/// again then.
pub async fn record_published(
    stores: &Stores,
    rule: &Rule,
    table: &str,
    contents: &LogContents,
    version: u64,
) -> Result<Vec<WaitEntry>> {
    if let Some(id) = &contents.metadata_id {
        let entry = TableEntry {
            rule: rule.name.clone(),
            table: table.to_string(),
        };
        let body = Bytes::from(serde_json::to_vec(&entry).unwrap_or_default());
        match stores
            .put(&table_key(rule, id), body, &json_put(PutMode::IfAbsent))
            .await
        {
            Ok(_) | Err(Error::PreconditionFailed { .. }) => {}
            Err(e) => return Err(e),
        }
    }
    let mut newest: BTreeMap<&str, i64> = BTreeMap::new();
    for (app, v) in &contents.txns {
        let e = newest.entry(app.as_str()).or_insert(*v);
        *e = (*e).max(*v);
    }
    let mut woken = Vec::new();
    for (app, v) in newest {
        let entry = TxnEntry {
            rule: rule.name.clone(),
            table: table.to_string(),
            app_id: app.to_string(),
            version: v,
            table_version: version,
        };
        let url = txn_dir(rule, app).join(&format!("{}.json", segment(table)));
        stores
            .put(
                &url,
                Bytes::from(serde_json::to_vec(&entry).unwrap_or_default()),
                &json_put(PutMode::Overwrite),
            )
            .await?;
        let dir = wait_dir(rule, app);
        for m in stores.list(&dir).await? {
            let at = dir.with_key(m.key);
            let Some(mut w) = read::<WaitEntry>(stores, &at).await? else {
                continue;
            };
            if i64::try_from(w.batch).is_ok_and(|b| b <= v) {
                w.by = format!("{}/{table}@{version}", rule.name);
                woken.push(w);
            }
        }
    }
    Ok(woken)
}

/// The newest transaction of `app` in the DR copy of the table `table` of `rule`.
pub async fn txn_in(
    stores: &Stores,
    rule: &Rule,
    table: &str,
    app: &str,
) -> Result<Option<TxnEntry>> {
    read(
        stores,
        &txn_dir(rule, app).join(&format!("{}.json", segment(table))),
    )
    .await
}

/// Every DR table (of any rule) with transactions of `app`.
pub async fn txns_of(stores: &Stores, config: &Config, app: &str) -> Result<Vec<TxnEntry>> {
    let mut out = Vec::new();
    for rule in &config.rules {
        let dir = txn_dir(rule, app);
        for m in stores.list(&dir).await? {
            if let Some(e) = read::<TxnEntry>(stores, &dir.with_key(m.key)).await? {
                out.push(e);
            }
        }
    }
    Ok(out)
}

/// Where the DR copy of the table with identity `id` is, if a rule's table stage saw it.
pub async fn table_with_id(
    stores: &Stores,
    config: &Config,
    id: &str,
) -> Result<Option<TableEntry>> {
    for rule in &config.rules {
        if let Some(e) = read(stores, &table_key(rule, id)).await? {
            return Ok(Some(e));
        }
    }
    Ok(None)
}

/// Records that a checkpoint waits for `app` to reach `batch` in a table of `rule` (one entry
/// per checkpoint, overwritten by its newer waits).
pub async fn wait_for(stores: &Stores, rule: &Rule, entry: &WaitEntry) -> Result<()> {
    let url = wait_dir(rule, &entry.app_id).join(&format!(
        "{}.json",
        segment(&format!("{}\u{0}{}", entry.rule, entry.root))
    ));
    stores
        .put(
            &url,
            Bytes::from(serde_json::to_vec(entry).unwrap_or_default()),
            &json_put(PutMode::Overwrite),
        )
        .await?;
    Ok(())
}
