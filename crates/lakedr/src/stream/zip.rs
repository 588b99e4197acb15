//! One entry of a zip archive (a RocksDB state snapshot's `metadata`), read from the central
//! directory: stored or deflated entries, no encryption, no ZIP64 (snapshots are small).

use std::io::Read;

fn u16_at(b: &[u8], i: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(i..i + 2)?.try_into().ok()?))
}

fn u32_at(b: &[u8], i: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(i..i + 4)?.try_into().ok()?))
}

/// The bytes of entry `name`.
pub fn entry(zip: &[u8], name: &str) -> Result<Vec<u8>, String> {
    const EOCD: u32 = 0x0605_4b50;
    const CENTRAL: u32 = 0x0201_4b50;
    const LOCAL: u32 = 0x0403_4b50;
    let bad = |what: &str| format!("not a readable zip: {what}");
    // The end-of-central-directory record is in the last 64 KiB + 22 bytes.
    let from = zip.len().saturating_sub(22 + 65_535);
    let eocd = (from..zip.len().saturating_sub(21))
        .rev()
        .find(|&i| u32_at(zip, i) == Some(EOCD))
        .ok_or_else(|| bad("no end of central directory"))?;
    let count = u16_at(zip, eocd + 10).ok_or_else(|| bad("short record"))? as usize;
    let mut at = u32_at(zip, eocd + 16).ok_or_else(|| bad("short record"))? as usize;
    for _ in 0..count {
        if u32_at(zip, at) != Some(CENTRAL) {
            return Err(bad("broken central directory"));
        }
        let method = u16_at(zip, at + 10).ok_or_else(|| bad("short entry"))?;
        let csize = u32_at(zip, at + 20).ok_or_else(|| bad("short entry"))? as usize;
        let name_len = u16_at(zip, at + 28).ok_or_else(|| bad("short entry"))? as usize;
        let extra_len = u16_at(zip, at + 30).ok_or_else(|| bad("short entry"))? as usize;
        let comment_len = u16_at(zip, at + 32).ok_or_else(|| bad("short entry"))? as usize;
        let local = u32_at(zip, at + 42).ok_or_else(|| bad("short entry"))? as usize;
        let this = zip
            .get(at + 46..at + 46 + name_len)
            .ok_or_else(|| bad("short name"))?;
        if this == name.as_bytes() {
            if u32_at(zip, local) != Some(LOCAL) {
                return Err(bad("broken local header"));
            }
            let lname = u16_at(zip, local + 26).ok_or_else(|| bad("short header"))? as usize;
            let lextra = u16_at(zip, local + 28).ok_or_else(|| bad("short header"))? as usize;
            let start = local + 30 + lname + lextra;
            let data = zip
                .get(start..start + csize)
                .ok_or_else(|| bad("entry beyond the end"))?;
            return match method {
                0 => Ok(data.to_vec()),
                8 => {
                    let mut out = Vec::new();
                    flate2::read::DeflateDecoder::new(data)
                        .read_to_end(&mut out)
                        .map_err(|e| bad(&format!("{name}: {e}")))?;
                    Ok(out)
                }
                m => Err(bad(&format!("{name}: compression method {m}"))),
            };
        }
        at += 46 + name_len + extra_len + comment_len;
    }
    Err(format!("the zip has no `{name}`"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_the_metadata_of_a_real_rocksdb_snapshot() {
        let zip = std::fs::read(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(
            "../../../shared/fixtures/streaming/spark43-rocksdb-changelog/checkpoint/state/0/0/4.zip",
        ))
        .unwrap();
        let m = super::entry(&zip, "metadata").unwrap();
        assert!(
            m.starts_with(b"v1\n{\"sstFiles\""),
            "{}",
            String::from_utf8_lossy(&m)
        );
        assert!(
            super::entry(&zip, "nope")
                .unwrap_err()
                .contains("no `nope`")
        );
        assert!(super::entry(b"PK not really", "metadata").is_err());
    }
}
